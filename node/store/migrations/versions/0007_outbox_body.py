"""outbox bodies that hold any referral the node accepts

A referral's JSON quotes its URL: a backslash (kept as given in a query) is written as two characters, so a
legal URL of 8,192 bytes can take 16,384 characters in the body on its own. The body grows from 16,384 to
32,768 characters, which holds the longest URL, escaped, with the most hashes and the longest hosting facts.

Revision ID: 0007_outbox_body
Revises: 0006_exchange_retention
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_outbox_body"
down_revision: str | None = "0006_exchange_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = 16384
_AFTER = 32768


def upgrade() -> None:
    _resize(_BEFORE, _AFTER)


def downgrade() -> None:
    # Refuse, rather than cut a queued message short.
    too_long = sa.func.length(sa.column("body")) > _BEFORE
    count = (
        op.get_bind().execute(sa.select(sa.func.count()).select_from(sa.table("outbox")).where(too_long)).scalar_one()
    )
    if count:
        raise RuntimeError(
            f"cannot downgrade below 0004_outbox_body: {count} outbox message(s) are longer than {_BEFORE} "
            "characters, which revision 0003 cannot hold"
        )
    _resize(_AFTER, _BEFORE)


def _resize(before: int, after: int) -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "body", existing_type=sa.String(length=before), type_=sa.String(length=after), existing_nullable=False
        )
