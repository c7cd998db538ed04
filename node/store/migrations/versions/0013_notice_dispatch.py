"""notice dispatch: the LEA notices and NTDs the node sends itself, queued with the action that records them

Revision ID: 0013_notice_dispatch
Revises: 0012_audit_checkpoints
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import node.store.schema

revision: str = "0013_notice_dispatch"
down_revision: str | None = "0012_audit_checkpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("notice_id", sa.String(length=36), primary_key=True),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.String(length=32768), nullable=False),
        sa.Column("xarf", sa.String(length=32768), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", node.store.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", node.store.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", node.store.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
    )
    op.create_index("ix_notices_item_id", "notices", ["item_id"])
    op.create_index("ix_notices_status_next_attempt_at", "notices", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("notices")
