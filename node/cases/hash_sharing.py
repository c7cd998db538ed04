"""Hash verdicts shared between hotlines: a node publishes its analysts' illegal verdicts on hashes to the peers
it opted in to (node.publish_verdicts_to), and takes them back with a tombstone; a node keeps what a peer sent
in that peer's bank (known-hash source "peer:<node id>", provenance PEER), beside its own lists and verdicts.
A peer's verdicts are a hint, or match automatically if the operator trusts that peer (node.peer_verdicts).

Only hashes, classification, provenance and time travel: never content, never a URL, never an item. The
messages go through the outbox (signed, sealed, delivered once, in order) like every other.
"""

from __future__ import annotations

from datetime import datetime

from uuid6 import uuid7

from node.cases.context import CaseContext
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import HashVerdict, HashVerdicts, dump_body
from node.cases.exchange_rules import check_verdicts
from node.cases.hash_trust import ILLEGAL, LEARNED_SOURCE, describe, peer_source
from node.cases.known_content import KnownContent
from node.cases.model import Classification, HashProvenance, KnownHash, KnownHashDetails, OutboxMessage, Principal
from node.cases.ports import CaseTransaction
from node.cases.requests import check_node_id, check_request_id
from node.errors import FailedPrecondition
from node.hashes import ContentHash

__all__ = ["HashSharing"]


class HashSharing:
    def __init__(self, ctx: CaseContext, known: KnownContent) -> None:
        self._ctx = ctx
        self._known = known

    def publish(self, principal: Principal, content_hash: ContentHash, request_id: str = "") -> list[str]:
        """Send this node's analysts' verdict on the hash to every peer opted in; the peers it went to."""
        return self._send(principal, content_hash, withdrawn=False, request_id=request_id)

    def withdraw(self, principal: Principal, content_hash: ContentHash, request_id: str = "") -> list[str]:
        """Take a published verdict back: a tombstone to every peer opted in; the peers it went to."""
        return self._send(principal, content_hash, withdrawn=True, request_id=request_id)

    def bank(self, peer: str) -> list[KnownHash]:
        """What `peer` shared with this node and has not withdrawn."""
        check_node_id(peer, field="peer")
        with self._ctx.store.transaction(read_only=True) as tx:
            return tx.list_known_hashes(peer_source(peer))

    def apply_verdicts_txn(self, tx: CaseTransaction, sender: str, message: HashVerdicts) -> None:
        """A peer's verdicts into its bank, inside the exchange receiver's transaction. A verdict replaces the
        peer's earlier one on the hash; a tombstone drops it."""
        policy = self._ctx.settings.known_hashes
        check_verdicts(sender=sender, count=len(message.verdicts), accepted_from=policy.accepts_verdicts_from)
        now = self._ctx.clock.now()
        source = peer_source(sender)
        banked = dropped = 0
        for verdict in message.verdicts:
            entries = tx.find_known_hashes(verdict.hash)
            current = next((e for e in entries if e.source == source), None)
            if verdict.withdrawn:
                if current is not None:
                    tx.delete_known_hash(current.known_hash_id)
                    dropped += 1
                continue
            if current is None:
                known_id = tx.insert_known_hash(
                    verdict.hash, verdict.classification, source, None, now, provenance=HashProvenance.PEER
                )
                # Indexed now, in the receiver's transaction: should it roll back, matching checks the entry.
                self._known.index_pdq([(verdict.hash, known_id)])
            elif current.classification is not verdict.classification:
                tx.reclassify_known_hash(current.known_hash_id, verdict.classification, None)
            banked += 1
            others = [e for e in entries if e.source != source]
            if others and any(e.classification is not verdict.classification for e in others):
                entries = tx.find_known_hashes(verdict.hash)
                conflict = policy.conflict(entries) or tuple(sorted(entries, key=policy.rank))
                self._known.conflict_event(tx, now, conflict)
        detail = f"from {sender}: {banked} verdict(s) banked, {dropped} withdrawn"
        banked_count = KnownHashDetails(source=source, count=banked)
        self._ctx.event(tx, EventKind.KNOWN_HASH_PEER_VERDICTS, now, detail=detail, details=banked_count)
        tx.append_audit(at=now, actor=sender, action="ApplyHashVerdicts", subject=source, detail=detail)

    def _send(self, principal: Principal, content_hash: ContentHash, *, withdrawn: bool, request_id: str) -> list[str]:
        request_id = check_request_id(request_id)
        peers = self._ctx.settings.known_hashes.publish_to
        if not peers:
            raise FailedPrecondition(
                "this node publishes hash verdicts to no peer; list them in node.publish_verdicts_to",
                field="publish_verdicts_to",
            )
        method = "WithdrawHashVerdict" if withdrawn else "PublishHashVerdict"
        with self._ctx.command(principal, method, request_id, content_hash, notify=False) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return list(peers)
            verdict = self._verdict(tx, content_hash, now, withdrawn=withdrawn)
            body = dump_body(HashVerdicts((verdict,)).to_json())
            for peer in peers:
                tx.enqueue_outbox(OutboxMessage(str(uuid7()), peer, HashVerdicts.kind, "", body, now))
            detail = f"{content_hash.algorithm} to {', '.join(peers)}"[:500]
            kind = EventKind.KNOWN_HASH_WITHDRAWN if withdrawn else EventKind.KNOWN_HASH_PUBLISHED
            sent = KnownHashDetails(
                algorithm=str(content_hash.algorithm),
                source=LEARNED_SOURCE,
                classification=verdict.classification,
                count=len(peers),
            )
            self._ctx.event(tx, kind, now, detail=detail, details=sent)
            cmd.done(subject=f"{content_hash.algorithm} hash", detail=detail)
        return list(peers)

    def _verdict(
        self, tx: CaseTransaction, content_hash: ContentHash, now: datetime, *, withdrawn: bool
    ) -> HashVerdict:
        """What is published: only this node's analysts' illegal verdict (never an imported list's, nor a peer's)."""
        learned = next(
            (
                e
                for e in tx.find_known_hashes(content_hash)
                if e.source == LEARNED_SOURCE and e.provenance is HashProvenance.ANALYST
            ),
            None,
        )
        if withdrawn:  # a tombstone needs no verdict still standing here
            classification = learned.classification if learned else Classification.BASELINE
            return HashVerdict(content_hash, classification, HashProvenance.ANALYST.value, now, withdrawn=True)
        if learned is None or learned.classification not in ILLEGAL:
            raise FailedPrecondition(
                "only this node's analysts' BASELINE or NATIONAL verdicts are shared; this hash has none "
                f"({describe(learned) if learned else 'not known from an analyst'})",
                field="hash",
            )
        decided = learned.assessment.assessed_at if learned.assessment and learned.assessment.assessed_at else now
        return HashVerdict(content_hash, learned.classification, HashProvenance.ANALYST.value, decided)
