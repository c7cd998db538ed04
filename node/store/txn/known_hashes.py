"""Known hashes: content already classified, one entry per (hash, source), matched against new items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from node.cases.model import Classification, HashProvenance, KnownHash
from node.hashes import ContentHash, HashAlgorithm
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.rows import _assessment
from node.store.txn.transaction import TransactionBase

__all__ = ["KnownHashesTxn"]


class KnownHashesTxn(TransactionBase):
    """The known_hashes table of a transaction (node.cases.ports.CaseTransaction)."""

    def find_known_hashes(self, content_hash: ContentHash) -> list[KnownHash]:
        """Not through `c`: known hashes are never write-behind rows, nor is an assessment one refers to (an
        entry names its assessment by the id insert_assessment gave back). Intake matches a new item's hashes
        here: its rows stay behind, so that the item's update after a match is part of its insert."""
        key = {"k_algorithm": content_hash.algorithm.value, "k_digest": content_hash.hex}
        rows = _KNOWN_BY_HASH.all(self._conn, key)
        return [self._known(row) for row in rows]

    def list_known_hashes(self, source: str) -> list[KnownHash]:
        rows = self.c.execute(
            select(t.known_hashes).where(t.known_hashes.c.source == source).order_by(t.known_hashes.c.known_hash_id)
        ).all()
        return [self._known(row) for row in rows]

    def get_known_hash(self, known_hash_id: int) -> KnownHash | None:
        row = self.c.execute(select(t.known_hashes).where(t.known_hashes.c.known_hash_id == known_hash_id)).first()
        return self._known(row) if row else None

    def insert_known_hash(
        self,
        content_hash: ContentHash,
        classification: Classification,
        source: str,
        assessment_id: int | None,
        at: datetime,
        *,
        provenance: HashProvenance,
        version: str = "",
    ) -> int:
        row = dict(
            algorithm=content_hash.algorithm.value,
            digest=content_hash.hex,
            classification=classification.value,
            source=source,
            assessment_id=assessment_id,
            created_at=at,
            provenance=provenance.value,
            version=version,
        )
        if not self._postgres:  # SQLite says the new row's id without RETURNING
            _, known_hash_id = _INSERT_KNOWN.run(self.c, [row])
            if known_hash_id is not None:
                return known_hash_id
        return int(_INSERT_KNOWN_RETURNING.scalar(self.c, row))

    def reclassify_known_hash(
        self, known_hash_id: int, classification: Classification, assessment_id: int | None, *, version: str = ""
    ) -> None:
        self.c.execute(
            update(t.known_hashes)
            .where(t.known_hashes.c.known_hash_id == known_hash_id)
            .values(classification=classification.value, assessment_id=assessment_id, version=version)
        )

    def dispute_known_hash(self, known_hash_id: int) -> int:
        self.c.execute(
            update(t.known_hashes)
            .where(t.known_hashes.c.known_hash_id == known_hash_id)
            .values(disputes=t.known_hashes.c.disputes + 1)
        )
        disputes = self.c.execute(
            select(t.known_hashes.c.disputes).where(t.known_hashes.c.known_hash_id == known_hash_id)
        ).scalar_one()
        return int(disputes)

    def confirm_known_hash(self, known_hash_id: int) -> None:
        self.c.execute(update(t.known_hashes).where(t.known_hashes.c.known_hash_id == known_hash_id).values(disputes=0))

    def delete_known_hash(self, known_hash_id: int) -> None:
        self.c.execute(delete(t.known_hashes).where(t.known_hashes.c.known_hash_id == known_hash_id))

    def _known(self, row: Any) -> KnownHash:
        assessment, item_id = None, ""
        if row.assessment_id is not None:
            a = _ASSESSMENT.first(self._conn, {"k_assessment_id": row.assessment_id})
            if a is not None:
                assessment, item_id = _assessment(a), a.item_id or ""
        return KnownHash(
            known_hash_id=row.known_hash_id,
            hash=ContentHash(HashAlgorithm(row.algorithm), bytes.fromhex(row.digest)),
            classification=Classification(row.classification),
            source=row.source,
            assessment=assessment,
            provenance=HashProvenance(row.provenance),
            version=row.version,
            learned_from_item=item_id,
            disputes=row.disputes,
        )


_KNOWN_BY_HASH = Direct(
    select(t.known_hashes)
    .where(t.known_hashes.c.algorithm == bindparam("k_algorithm"), t.known_hashes.c.digest == bindparam("k_digest"))
    .order_by(t.known_hashes.c.known_hash_id)
)
_INSERT_KNOWN = Direct(insert(t.known_hashes))
_INSERT_KNOWN_RETURNING = Direct(insert(t.known_hashes).returning(t.known_hashes.c.known_hash_id))
_ASSESSMENT = Direct(select(t.assessments).where(t.assessments.c.assessment_id == bindparam("k_assessment_id")))
