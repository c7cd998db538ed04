"""peer clock skew, order per item, held messages

- peer_state.clock_skew_ms, clock_measured_at: each peer's clock minus this node's, as measured from its last
  answer (receipts and refusals carry the receiver's clock), and when;
- outbox (peer_node, item_id) index: the sender sends the messages about one item in queue order, and looks
  for an earlier one still waiting for its backoff;
- held_messages: messages accepted before the item they are about (a withdrawal that overtook its referral),
  applied when the item arrives or dropped after the receiver's hold period.

Revision ID: 0005_peer_clock
Revises: 0004_item_id_origins
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import node.store.schema

revision: str = "0005_peer_clock"
down_revision: str | None = "0004_item_id_origins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "held_messages",
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node", sa.String(length=64), nullable=False),
        sa.Column("origin_item_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.String(length=16384), nullable=False),
        sa.Column("held_at", node.store.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column("hold_until", node.store.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender", "message_id", name=op.f("pk_held_messages")),
    )
    with op.batch_alter_table("held_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_messages_hold_until"), ["hold_until"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_held_messages_origin_node_origin_item_id"), ["origin_node", "origin_item_id"], unique=False
        )
    with op.batch_alter_table("peer_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_skew_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("clock_measured_at", node.store.schema.UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_peer_node_item_id"), ["peer_node", "item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_peer_node_item_id"))
    with op.batch_alter_table("peer_state", schema=None) as batch_op:
        batch_op.drop_column("clock_measured_at")
        batch_op.drop_column("clock_skew_ms")
    op.drop_table("held_messages")
