"""Known content: hashes already classified, so that what was seen need never be looked at again. Matching at
intake (exact digests first, then PDQ by distance), learning from an analyst's assessment, importing lists,
and keeping the in-memory PDQ index in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from node.cases.context import CaseContext
from node.cases.model import Classification, Item, KnownHash, Principal
from node.cases.ports import CaseTransaction
from node.cases.requests import check_request_id, check_text
from node.cases.results import ImportResult
from node.errors import InvalidArgument
from node.hashes import ContentHash, HashAlgorithm

__all__ = ["KnownContent"]

# The source of a known hash that an analyst's assessment of an item made known: "item:<item id>".
_ASSESSED_SOURCE = "item:"


class KnownContent:
    def __init__(self, ctx: CaseContext) -> None:
        self._ctx = ctx

    def match_known_txn(self, tx: CaseTransaction, hashes: Sequence[ContentHash]) -> KnownHash | None:
        for content_hash in hashes:  # exact digests first: they are certain
            if content_hash.algorithm is not HashAlgorithm.PDQ:
                known = tx.find_known_hash(content_hash)
                if known is not None:
                    return known
        for content_hash in hashes:
            if content_hash.algorithm is HashAlgorithm.PDQ:
                hit = self._ctx.pdq.nearest(content_hash.digest)
                if hit is not None:
                    return tx.get_known_hash(hit[0])
        return None

    def learn_hashes_txn(
        self, tx: CaseTransaction, item: Item, classification: Classification, assessment_id: int, now: datetime
    ) -> list[tuple[ContentHash, int]]:
        """What an analyst classified need never be looked at again: the item's hashes become known under the
        analyst's latest assessment of them. A hash an earlier assessment made known (of this item, or of
        another with the same content) takes the new one, except that BASELINE is never overruled. Entries
        from an imported list are left as the list has them. Returns the newly known hashes with their ids."""
        source = f"{_ASSESSED_SOURCE}{item.item_id}"
        added = []
        for content_hash in item.hashes:
            known = tx.find_known_hash(content_hash)
            if known is None:
                known_id = tx.insert_known_hash(content_hash, classification, source, assessment_id, now)
                if known_id is not None:
                    added.append((content_hash, known_id))
            elif known.source.startswith(_ASSESSED_SOURCE) and (
                known.classification is not Classification.BASELINE or classification is Classification.BASELINE
            ):
                tx.reclassify_known_hash(known.known_hash_id, classification, source, assessment_id)
        return added

    def import_known_hashes(
        self,
        principal: Principal,
        entries: Sequence[tuple[ContentHash, Classification]],
        source: str,
        request_id: str = "",
    ) -> ImportResult:
        """Bulk import, all or nothing: how many hashes were imported, and how many were known already."""
        request_id = check_request_id(request_id)
        check_text(source, field="source")
        if not source.strip():
            raise InvalidArgument("name where the list came from", field="source")
        # It writes no events: nothing for the listeners.
        with self._ctx.command(principal, "ImportKnownHashes", request_id, source, entries, notify=False) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return ImportResult.of_result_id(cmd.previous)
            added: list[tuple[ContentHash, int]] = []
            for content_hash, classification in entries:
                known_id = tx.insert_known_hash(content_hash, classification, source, None, now)
                if known_id is not None:
                    added.append((content_hash, known_id))
            result = ImportResult(len(added), len(entries) - len(added))
            cmd.done(
                subject=source,
                detail=f"imported={result.imported} already_known={result.already_known}",
                result_id=result.result_id,
            )
            cmd.after_commit(lambda: self.index_pdq(added))
        return result

    def index_pdq(self, added: Sequence[tuple[ContentHash, int]]) -> None:
        for content_hash, known_id in added:
            if content_hash.algorithm is HashAlgorithm.PDQ:
                self._ctx.pdq.add(content_hash.digest, known_id)
