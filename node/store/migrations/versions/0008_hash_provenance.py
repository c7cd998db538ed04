"""hash provenance: who asserted each hash, and known hashes kept per source

- item_hashes.provenance: who asserted the hash (CLAIMED, HASHER, ANALYST, PEER). Rows from before this
  revision came from intake callers or peers with nobody vouching for them: CLAIMED.
- known_hashes.provenance and .version; one entry per (algorithm, digest, source) instead of one per hash, so an
  imported list and what the analysts learned sit side by side.
- Entries learned before this revision (source "item:<id>") were learned from hashes nobody vouched for: they
  become hints only (provenance CLAIMED), in the set their classification belongs to ("learned" for BASELINE
  and NATIONAL, "learned-not-illegal" otherwise). A new verdict on a trusted hash replaces such an entry.

Revision ID: 0008_hash_provenance
Revises: 0007_outbox_body
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_hash_provenance"
down_revision: str | None = "0007_outbox_body"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KNOWN = sa.table(
    "known_hashes",
    sa.column("source", sa.String()),
    sa.column("classification", sa.String()),
    sa.column("provenance", sa.String()),
    sa.column("algorithm", sa.String()),
    sa.column("digest", sa.String()),
)
_LEARNED_BEFORE = _KNOWN.c.source.like("item:%")


def upgrade() -> None:
    op.add_column(
        "item_hashes", sa.Column("provenance", sa.String(length=16), nullable=False, server_default="CLAIMED")
    )
    with op.batch_alter_table("known_hashes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provenance", sa.String(length=16), nullable=False, server_default="LIST"))
        batch_op.add_column(sa.Column("version", sa.String(length=64), nullable=False, server_default=""))
        batch_op.drop_constraint("uq_known_hashes_algorithm_digest", type_="unique")
        batch_op.create_unique_constraint("uq_known_hashes_algorithm_digest_source", ["algorithm", "digest", "source"])
    illegal = _KNOWN.c.classification.in_(["BASELINE", "NATIONAL"])
    op.execute(
        _KNOWN.update()
        .where(_LEARNED_BEFORE)
        .values(
            provenance="CLAIMED",
            source=sa.case((illegal, "learned"), else_="learned-not-illegal"),
        )
    )


def downgrade() -> None:
    # Refuse, rather than drop a source's entries: revision 0003 holds one entry per hash.
    per_hash = (
        sa.select(_KNOWN.c.algorithm, _KNOWN.c.digest)
        .group_by(_KNOWN.c.algorithm, _KNOWN.c.digest)
        .having(sa.func.count() > 1)
        .subquery()
    )
    shared = op.get_bind().execute(sa.select(sa.func.count()).select_from(per_hash)).scalar_one()
    if shared:
        raise RuntimeError(
            f"cannot downgrade below 0008_hash_provenance: {shared} hash(es) have entries from several sources, "
            "which revision 0003 cannot hold"
        )
    with op.batch_alter_table("known_hashes", schema=None) as batch_op:
        batch_op.drop_constraint("uq_known_hashes_algorithm_digest_source", type_="unique")
        batch_op.create_unique_constraint("uq_known_hashes_algorithm_digest", ["algorithm", "digest"])
        batch_op.drop_column("version")
        batch_op.drop_column("provenance")
    with op.batch_alter_table("item_hashes", schema=None) as batch_op:
        batch_op.drop_column("provenance")
