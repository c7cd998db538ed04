"""peer refusals, warnings given and referral copies: what a restart or a restore must not forget

- peer_refusals: a peer's verified refusal of this node (suspended or revoked there), honoured across restarts
  until the roster changes.
- warnings_given: the once-only warnings (the roster's, a key's or the TLS certificate's expiry) already given.
- referral_copies: each referral received, as its origin signed it, with this node's receipt: reconciliation
  hands it back to an origin that lost the item in a restore.

Revision ID: 0017_peer_refusals
Revises: 0016_event_details
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from node.store.schema import UtcDateTime

revision: str = "0017_peer_refusals"
down_revision: str | None = "0016_event_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "peer_refusals",
        sa.Column("peer_node", sa.String(64), primary_key=True),
        sa.Column("reason_code", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("roster_version", sa.BigInteger(), nullable=False),
        sa.Column("refused_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("refusal", sa.String(16384), nullable=False),
    )
    op.create_table(
        "warnings_given",
        sa.Column("warning", sa.String(200), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("given_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "referral_copies",
        sa.Column("origin_node", sa.String(64), primary_key=True),
        sa.Column("origin_item_id", sa.String(36), primary_key=True),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("signed_referral", sa.String(400_000), nullable=False),
        sa.Column("receipt", sa.String(16384), nullable=False),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_referral_copies_item_id", "referral_copies", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_referral_copies_item_id", table_name="referral_copies")
    op.drop_table("referral_copies")
    op.drop_table("warnings_given")
    op.drop_table("peer_refusals")
