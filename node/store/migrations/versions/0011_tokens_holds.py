"""tokens that age, and callers kept apart

- tokens: expires_at, last_used_at, a rotation's previous secret (previous_secret_hash, previous_valid_until),
  and token_group (tokens of one group, e.g. an agency, share what they own).
- reports.submitted_group: the submitting token's group, so its other tokens may read the report.
- holds: placed_by_group (the placing LEA token's group), and the LEA's clearance (cleared_at, cleared_by).

Revision ID: 0011_tokens_holds
Revises: 0010_reconciliation
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import node.store.schema

revision: str = "0011_tokens_holds"
down_revision: str | None = "0010_reconciliation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, node.store.schema.UtcDateTime(timezone=True), nullable=True)


def _text(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=100), nullable=False, server_default="")


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(_time("expires_at"))
        batch_op.add_column(_time("last_used_at"))
        batch_op.add_column(sa.Column("previous_secret_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(_time("previous_valid_until"))
        batch_op.add_column(_text("token_group"))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(_text("submitted_group"))
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(_text("placed_by_group"))
        batch_op.add_column(_time("cleared_at"))
        batch_op.add_column(_text("cleared_by"))


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_column("cleared_by")
        batch_op.drop_column("cleared_at")
        batch_op.drop_column("placed_by_group")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("submitted_group")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("token_group")
        batch_op.drop_column("previous_valid_until")
        batch_op.drop_column("previous_secret_hash")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
