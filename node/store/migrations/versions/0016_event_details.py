"""event details: the typed details of an event (node.cases.event_details), as JSON

Revision ID: 0016_event_details
Revises: 0013_notice_dispatch
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_event_details"
down_revision: str | None = "0013_notice_dispatch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("details")
