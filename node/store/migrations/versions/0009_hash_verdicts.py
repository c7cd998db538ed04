"""hash verdicts: disputes of known-hash matches

- assessments.known_hash_id: the known-hash entry an automatic assessment came from (NULL for an analyst's),
  so that an analyst can dispute that match.
- known_hashes.disputes: how many times analysts disputed a match of the entry since it was last confirmed; at
  node.known_hash_dispute_limit the entry stops matching automatically (a hint only) until re-confirmed.
- peer_opinions: a referred item's re-assessment by the peer hotline, and whether it confirms this node's
  classification (the latest per item and peer).

Revision ID: 0009_hash_verdicts
Revises: 0008_hash_provenance
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import node.store.schema

revision: str = "0009_hash_verdicts"
down_revision: str | None = "0008_hash_provenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("assessments", sa.Column("known_hash_id", sa.BigInteger(), nullable=True))
    op.add_column("known_hashes", sa.Column("disputes", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "peer_opinions",
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("peer_node", sa.String(length=64), nullable=False),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("agrees", sa.Boolean(), nullable=False),
        sa.Column("received_at", node.store.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "peer_node"),
    )


def downgrade() -> None:
    op.drop_table("peer_opinions")
    with op.batch_alter_table("known_hashes", schema=None) as batch_op:
        batch_op.drop_column("disputes")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_column("known_hash_id")
