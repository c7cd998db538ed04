"""Known content: hashes already classified, so that what was seen need never be looked at again. Matching an
item's hashes at intake (exact digests first, then PDQ by distance), learning from an analyst's assessment,
importing lists, and keeping the in-memory PDQ index in step. What may match or teach, and which source wins
where they disagree, is node.cases.hash_trust's rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from node.cases.context import CaseContext
from node.cases.event_kinds import EventKind
from node.cases.hash_trust import PEER_SOURCE_PREFIX, RESERVED_SOURCES, TRUSTED_ITEM_HASHES, describe
from node.cases.model import Classification, HashProvenance, Item, KnownHash, KnownHashDetails, Principal
from node.cases.ports import CaseTransaction
from node.cases.requests import check_request_id, check_text
from node.cases.results import ImportResult
from node.errors import InvalidArgument
from node.hashes import ContentHash, HashAlgorithm

__all__ = ["MAX_VERSION_CHARS", "KnownContent"]

MAX_VERSION_CHARS = 64
# PDQ hits tried, nearest first, until one is a known entry still stored.
_PDQ_CANDIDATES = 8


class KnownContent:
    def __init__(self, ctx: CaseContext) -> None:
        self._ctx = ctx

    def match_known_txn(self, tx: CaseTransaction, item: Item, now: datetime) -> KnownHash | None:
        """The known entry that classifies the item with no analyst, if one does. Every other known entry of
        its hashes (of a claimed hash, or one that is not illegal) goes on the item's timeline as a hint, and
        trusted sources that disagree as a conflict."""
        policy = self._ctx.settings.known_hashes
        automatic: KnownHash | None = None
        for content_hash in sorted(item.hashes, key=lambda h: h.algorithm is HashAlgorithm.PDQ):  # exact first
            entries = self._entries(tx, content_hash)
            if not entries:
                continue
            provenance = item.provenance_of(content_hash)
            decision = policy.decide(provenance, entries)
            if decision.conflict:
                self.conflict_event(tx, now, decision.conflict, item)
            if decision.automatic is not None:
                automatic = automatic or decision.automatic
            elif decision.hint is not None:
                detail = f"{provenance} {content_hash.algorithm} hash: {describe(decision.hint)}; an analyst decides"
                hint = KnownHashDetails.of(decision.hint)
                self._ctx.event(tx, EventKind.ITEM_KNOWN_HASH_HINT, now, item=item, detail=detail, details=hint)
        return automatic

    def learn_hashes_txn(
        self, tx: CaseTransaction, item: Item, classification: Classification, assessment_id: int, now: datetime
    ) -> list[tuple[ContentHash, int]]:
        """What an analyst classified illegal need never be looked at again: the item's trusted hashes (HASHER
        or ANALYST, never CLAIMED) join the "learned" set under the analyst's latest assessment; a NOT_ILLEGAL
        verdict joins the "learned-not-illegal" set only if the policy opts in. A BASELINE entry is not
        lowered by another item's verdict; this item's own earlier lesson is replaced. Imported lists are left
        as they are. Returns the newly known hashes with their ids."""
        policy = self._ctx.settings.known_hashes
        source = policy.learned_source(classification)
        added = []
        for content_hash in item.hashes:
            if item.provenance_of(content_hash) not in TRUSTED_ITEM_HASHES:
                continue
            learned = {e.source: e for e in tx.find_known_hashes(content_hash) if e.source in RESERVED_SOURCES}
            for entry in learned.values():  # the analyst changed their mind on this item: its old lesson goes
                if entry.learned_from_item == item.item_id and entry.source != source:
                    tx.delete_known_hash(entry.known_hash_id)
            if source is None:
                continue
            current = learned.get(source)
            if current is not None and current.provenance is not HashProvenance.ANALYST:
                tx.delete_known_hash(current.known_hash_id)  # learned before provenance was kept: replaced
                current = None
            if current is None:
                known_id = tx.insert_known_hash(
                    content_hash, classification, source, assessment_id, now, provenance=HashProvenance.ANALYST
                )
                added.append((content_hash, known_id))
            elif not (
                current.classification is Classification.BASELINE
                and classification is not Classification.BASELINE
                and current.learned_from_item != item.item_id
            ):
                tx.reclassify_known_hash(current.known_hash_id, classification, assessment_id)
            conflict = policy.conflict(tx.find_known_hashes(content_hash))
            if conflict:
                self.conflict_event(tx, now, conflict, item)
        return added

    def attest_hashes_txn(
        self, tx: CaseTransaction, item: Item, attested: Sequence[ContentHash], now: datetime
    ) -> None:
        """An analyst vouches for hashes of what they assessed: new ones join the item, and the item's own
        (claimed, or come with a referral) become ANALYST hashes."""
        if not attested:
            return
        analyst = HashProvenance.ANALYST
        new = [h for h in attested if h not in item.hashes]
        tx.add_item_hashes(item.item_id, new, analyst)
        tx.set_item_hash_provenance(
            item.item_id, [h for h in attested if item.provenance_of(h) is not analyst], analyst
        )
        item.hashes.extend(new)
        item.hash_provenance.update(dict.fromkeys(attested, analyst))
        self._ctx.event(
            tx,
            EventKind.ITEM_HASHES_ATTESTED,
            now,
            item=item,
            detail=f"{len(attested)} hash(es), {len(new)} new",
            details=KnownHashDetails(count=len(attested)),
        )

    def import_known_hashes(
        self,
        principal: Principal,
        entries: Sequence[tuple[ContentHash, Classification]],
        source: str,
        request_id: str = "",
        version: str = "",
    ) -> ImportResult:
        """Bulk import of a named list (and its version), all or nothing. The list keeps its own entries beside
        every other source's: `imported` counts the entries it added or changed, `already_known` those it
        already had as they are. A hash other trusted sources classify differently is a conflict event."""
        request_id = check_request_id(request_id)
        check_text(source, field="source")
        check_text(version, field="version", limit=MAX_VERSION_CHARS)
        if not source.strip():
            raise InvalidArgument("name where the list came from", field="source")
        if source in RESERVED_SOURCES or source.startswith(PEER_SOURCE_PREFIX):
            raise InvalidArgument(
                f"{source!r} names what this node's analysts or a peer taught it; name the list", field="source"
            )
        policy = self._ctx.settings.known_hashes
        # The listeners hear of an import only if it wrote events (conflicts).
        parts = (source, version, entries)
        with self._ctx.command(principal, "ImportKnownHashes", request_id, *parts, notify=False) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return ImportResult.of_result_id(cmd.previous)
            added: list[tuple[ContentHash, int]] = []
            already_known, conflicts = 0, 0
            for content_hash, classification in entries:
                known = tx.find_known_hashes(content_hash)
                current = next((e for e in known if e.source == source), None)
                if current is None:
                    known_id = tx.insert_known_hash(
                        content_hash, classification, source, None, now, provenance=HashProvenance.LIST, version=version
                    )
                    added.append((content_hash, known_id))
                elif current.classification is classification:
                    already_known += 1
                    if current.version != version:
                        tx.reclassify_known_hash(current.known_hash_id, classification, None, version=version)
                    continue
                else:
                    tx.reclassify_known_hash(current.known_hash_id, classification, None, version=version)
                if any(e.source != source for e in known):
                    conflict = policy.conflict(tx.find_known_hashes(content_hash))
                    if conflict:
                        self.conflict_event(tx, now, conflict)
                        conflicts += 1
            result = ImportResult(len(entries) - already_known, already_known)
            cmd.done(
                subject=source,
                detail=f"version={version[:20]} imported={result.imported} already_known={result.already_known}",
                result_id=result.result_id,
            )
            cmd.after_commit(lambda: self.index_pdq(added))
            if conflicts:
                cmd.after_commit(self._ctx.committed)
        return result

    def index_pdq(self, added: Sequence[tuple[ContentHash, int]]) -> None:
        for content_hash, known_id in added:
            if content_hash.algorithm is HashAlgorithm.PDQ:
                self._ctx.pdq.add(content_hash.digest, known_id)

    def _entries(self, tx: CaseTransaction, content_hash: ContentHash) -> list[KnownHash]:
        """Every source's entry for the hash; for PDQ, for the nearest known PDQ hash within the threshold."""
        if content_hash.algorithm is not HashAlgorithm.PDQ:
            return tx.find_known_hashes(content_hash)
        for known_hash_id, _distance in self._ctx.pdq.matches(content_hash.digest, limit=_PDQ_CANDIDATES):
            nearest = tx.get_known_hash(known_hash_id)  # None: an entry deleted since it was indexed
            # The stored entry is checked against the query too: the index may name an id indexed by a transaction
            # that rolled back (a peer's verdicts are indexed as they are applied), since given to another hash.
            if nearest is not None and _within(nearest.hash, content_hash, self._ctx.pdq.threshold):
                return tx.find_known_hashes(nearest.hash)
        return []

    def conflict_event(
        self, tx: CaseTransaction, now: datetime, conflict: Sequence[KnownHash], item: Item | None = None
    ) -> None:
        """Trusted sources disagree on a hash: say so, and which one counts (the first, by the precedence)."""
        detail = "; ".join(describe(e) for e in conflict)
        detail = f"sources disagree, {conflict[0].source[:60]} counts: {detail}"[:500]
        counts = KnownHashDetails.of(conflict[0], count=len(conflict))
        self._ctx.event(tx, EventKind.KNOWN_HASH_CONFLICT, now, item=item, detail=detail, details=counts)


def _within(known: ContentHash, query: ContentHash, threshold: int) -> bool:
    """Whether a known PDQ hash is within `threshold` bits of the query's."""
    if known.algorithm is not HashAlgorithm.PDQ:
        return False
    distance = bin(int.from_bytes(known.digest, "big") ^ int.from_bytes(query.digest, "big")).count("1")
    return distance <= threshold
