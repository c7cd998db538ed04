"""Known hashes: content already classified, matched against new items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from node.cases.model import Classification, KnownHash
from node.hashes import ContentHash, HashAlgorithm
from node.store import schema as t
from node.store.txn.rows import _assessment
from node.store.txn.transaction import TransactionBase

__all__ = ["KnownHashesTxn"]


class KnownHashesTxn(TransactionBase):
    """The known_hashes table of a transaction (node.cases.ports.CaseTransaction)."""

    def find_known_hash(self, content_hash: ContentHash) -> KnownHash | None:
        row = self.c.execute(
            select(t.known_hashes).where(
                t.known_hashes.c.algorithm == content_hash.algorithm.value,
                t.known_hashes.c.digest == content_hash.hex,
            )
        ).first()
        return self._known(row) if row else None

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
    ) -> int | None:
        if self.find_known_hash(content_hash) is not None:
            return None
        result = self.c.execute(
            insert(t.known_hashes),
            dict(
                algorithm=content_hash.algorithm.value,
                digest=content_hash.hex,
                classification=classification.value,
                source=source,
                assessment_id=assessment_id,
                created_at=at,
            ),
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def reclassify_known_hash(
        self, known_hash_id: int, classification: Classification, source: str, assessment_id: int | None
    ) -> None:
        self.c.execute(
            update(t.known_hashes)
            .where(t.known_hashes.c.known_hash_id == known_hash_id)
            .values(classification=classification.value, source=source, assessment_id=assessment_id)
        )

    def _known(self, row: Row[Any]) -> KnownHash:
        assessment = None
        if row.assessment_id is not None:
            a = self.c.execute(select(t.assessments).where(t.assessments.c.assessment_id == row.assessment_id)).first()
            assessment = _assessment(a) if a else None
        return KnownHash(
            known_hash_id=row.known_hash_id,
            hash=ContentHash(HashAlgorithm(row.algorithm), bytes.fromhex(row.digest)),
            classification=Classification(row.classification),
            source=row.source,
            assessment=assessment,
        )
