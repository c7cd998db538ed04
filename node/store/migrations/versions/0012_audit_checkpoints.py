"""audit checkpoints: keyed entry hashes and signed checkpoints of the audit log

- audit_log.scheme: how the entry's hash was made (node.crypto.audit): 1, SHA-256 (every entry from before this
  revision), or 2, HMAC-SHA256 under the audit key kept in the key folder.
- audit_checkpoints: the entry count and head hash of the log, signed with the node's Ed25519 key; verify-audit
  checks that the log still extends each of them.

Revision ID: 0012_audit_checkpoints
Revises: 0011_tokens_holds
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import node.store.schema

revision: str = "0012_audit_checkpoints"
down_revision: str | None = "0011_tokens_holds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("scheme", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("entry_count", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", node.store.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column("checkpoint", sa.String(2000), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.execute("ALTER TABLE audit_log DROP COLUMN scheme")  # (no batch copy on SQLite: it would lose the triggers)
