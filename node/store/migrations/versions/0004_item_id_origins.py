"""items by origin item id alone

A withdrawal names the item by its originator's item id, and only the originator may withdraw: when no item
is held under the sender as origin, the receiver looks the item id up under any origin, to tell a withdrawal
from a member that is not the item's origin (refused NOT_ORIGIN) from one whose referral is still on its way.
The index serves that lookup.

Revision ID: 0004_item_id_origins
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_item_id_origins"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_items_origin_item_id", "items", ["origin_item_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_items_origin_item_id", table_name="items")
