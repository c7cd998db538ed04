"""peer clock skew and order per item

- peer_state.clock_skew_ms, clock_measured_at: each peer's clock minus this node's, as measured from its last
  answer (receipts and refusals carry the receiver's clock), and when;
- outbox (peer_node, item_id) index: the sender sends the messages about one item in queue order, and looks
  for an earlier one still waiting for its backoff.

Revision ID: 0004_peer_clock
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import node.store.schema

revision: str = "0004_peer_clock"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
