"""reconciliation: each peer's last comparison of shared items, and the restores the node went through

- peer_reconciliation: when the node last compared its view of the items it shares with a peer, when the two
  last agreed, how many items differed and how many messages were queued again.
- restores: every restore from a backup (`hotline-node restore`); the node reconciles with every peer after it.

Revision ID: 0010_reconciliation
Revises: 0009_hash_verdicts
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from node.store.schema import UtcDateTime

revision: str = "0010_reconciliation"
down_revision: str | None = "0009_hash_verdicts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "peer_reconciliation",
        sa.Column("peer_node", sa.String(64), primary_key=True),
        sa.Column("checked_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("agreed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("resent", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_table(
        "restores",
        sa.Column("restored_at", UtcDateTime(timezone=True), primary_key=True),
        sa.Column("source", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("restores")
    op.drop_table("peer_reconciliation")
