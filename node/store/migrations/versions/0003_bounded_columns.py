"""bounded columns and a TRUNCATE guard

Columns sized to what the node accepts:
- hosting_records.source: "referral:<node id>" and "moved:<node id>" for node ids of up to 64 characters;
- audit_log.subject: a known-hash list's source name, up to 200 characters.
PostgreSQL: the audit log's append-only guard also refuses TRUNCATE (a row trigger never sees one).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WIDENED = (  # table, column, length before, length after
    ("hosting_records", "source", 32, 80),
    ("audit_log", "subject", 100, 200),
)


def upgrade() -> None:
    for table, column, before, after in _WIDENED:
        _resize(table, column, before, after)
    if _postgres():
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    # Refuse, rather than cut rows short: a shortened audit subject would break the hash chain.
    for table, column, before, _after in _WIDENED:
        too_long = sa.func.length(sa.column(column)) > before
        count = (
            op.get_bind().execute(sa.select(sa.func.count()).select_from(sa.table(table)).where(too_long)).scalar_one()
        )
        if count:
            raise RuntimeError(
                f"cannot downgrade below 0003: {count} row(s) of {table} have a {column} longer than "
                f"{before} characters, which revision 0002 cannot hold"
            )
    if _postgres():
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    for table, column, before, after in _WIDENED:
        _resize(table, column, after, before)


def _resize(table: str, column: str, before: int, after: int) -> None:
    # PostgreSQL alters the column in place. SQLite rebuilds the table (batch mode), which drops its triggers:
    # the audit log's append-only triggers are created again at once, in the same transaction.
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(
            column,
            existing_type=sa.String(length=before),
            type_=sa.String(length=after),
            existing_nullable=False,
        )
    if table == "audit_log" and not _postgres():
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
