"""Reconciliation's repair: what this node changes once it knows how its view of the shared items differs from a
peer's. It queues again (same message ids) what the peer lacks, renumbers the status updates a restore numbered
again, re-creates from the peer's verified copies the referrals this node lost, hands back the copies of the
peer's referrals it lacks, and records the comparison and what no message can repair (see node.exchange.reconcile).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from node.api._gen.hotline.exchange.v1 import messages_pb2
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import (
    KIND_REFERRAL,
    KIND_STATUS_UPDATE,
    Referral,
    StatusUpdate,
    dump_body,
    from_outbox,
)
from node.cases.model import Event, MessageDetails, OutboxMessage
from node.clock import Clock
from node.errors import DomainError
from node.exchange.codec import decode_body
from node.exchange.delivery import OpenedEnvelope, RejectedMessage
from node.exchange.ports import (
    ExchangeNodeStore,
    OutboxMark,
    OutboxStatus,
    Receipt,
    ReconcileState,
    ReconcilingTransaction,
    ReferralCopy,
    SentMessage,
    SharedItem,
)
from node.exchange.reconcile_digests import bucket_of, item_key
from node.exchange.reconcile_types import Claim, ReconcileCrypto, ReconcileLimits, ReconcileRefused, RecoverReferral

__all__ = ["Repair", "SharedView"]

_log = structlog.get_logger("node.exchange.reconcile")  # one log for the whole reconciliation

# This node's items shared with a peer in [since, until), read in the transaction given.
SharedView = Callable[[ReconcilingTransaction, str, datetime, datetime], list[SharedItem]]


class Repair:
    """One node's repair of what it shares with a peer, in the store: `repair_and_record` after comparing the
    peer's claims, `recover` for the copies of this node's own referrals the peer handed back."""

    def __init__(
        self,
        *,
        node_id: str,
        store: ExchangeNodeStore,
        crypto: ReconcileCrypto,
        clock: Clock,
        limits: ReconcileLimits,
        recover: RecoverReferral | None,
        shared: SharedView,
    ) -> None:
        self._recover_item = recover
        self._me = node_id
        self._store = store
        self._crypto = crypto
        self._clock = clock
        self._limits = limits
        self._shared = shared

    def repair_and_record(
        self,
        peer: str,
        since: datetime,
        until: datetime,
        detail: set[datetime],
        theirs: dict[tuple[str, str], Claim],
        resent_there: int,
        after_restore: bool = False,
    ) -> tuple[int, int, list[str], list[ReferralCopy]]:
        """Compare this node's items of the `detail` buckets with the peer's, queue again what the peer lacks,
        and record the comparison: (differences, messages queued again, what cannot be repaired, the copies of the
        peer's referrals it lacks, to hand back)."""
        now = self._clock.now()
        with self._store.transaction() as tx:
            mine = {
                item_key(i): i for i in self._shared(tx, peer, since, until) if bucket_of(i.first_reported_at) in detail
            }
            resend_all: list[str] = []  # items the peer (their assignee) lacks: send it everything about them
            updates_after: dict[str, int] = {}  # items whose status updates past a sequence the origin lacks
            unrepairable: list[str] = []
            lacking: dict[str, SharedItem] = {}  # the peer's items it lacks, by its item id
            differences = len(theirs.keys() - mine.keys())
            for reference in sorted(theirs.keys() - mine.keys()):
                if reference[0] == self._me:
                    unrepairable.append(f"item {reference[1]} (this node's) is known to {peer} but not here")
            restored_at = tx.last_restored_at() if after_restore else None
            queued: dict[str, list[SentMessage]] = {}  # since the restore, by item: what _number_on renumbers
            if restored_at is not None:
                held = [i.item_id for i in mine.values() if i.origin_node == peer]
                for message in tx.sent_about(peer, held):
                    if message.created_at > restored_at:
                        queued.setdefault(message.item_id, []).append(message)
            for reference, item in sorted(mine.items()):
                claim = theirs.get(reference)
                their = None if claim is None else claim.status_sequence
                counter = item.status_sequence
                if their is not None and item.item_id in queued:
                    counter = self._number_on(tx, peer, item.item_id, queued[item.item_id], their, counter)
                if claim is not None and claim.withdrawn and item.withdrawn:
                    continue  # withdrawn on both sides: what follows a withdrawal changes nothing
                if claim == Claim(counter, item.withdrawn) and counter == item.status_sequence:
                    continue
                differences += 1
                if item.origin_node == self._me:
                    if claim is None or (item.withdrawn and not claim.withdrawn):
                        resend_all.append(item.item_id)  # the referral, and the withdrawal it lacks
                elif their is None:
                    lacking[item.origin_item_id] = item
                elif claim is not None and claim.withdrawn:
                    continue  # the origin withdrew it: it sends the withdrawal again
                elif their < counter:
                    updates_after[item.item_id] = their
                elif tx.raise_status_sequence(item.item_id, their):
                    # We lost updates we had sent (a restore): number on from what the origin applied.
                    _log.warning("reconcile.sequence_raised", peer=peer, item_id=item.item_id, sequence=their)
            kept = tx.referral_copies(peer, sorted(k for k, i in lacking.items() if not i.withdrawn))
            for origin_item_id, item in sorted(lacking.items()):
                if origin_item_id not in {c.origin_item_id for c in kept}:
                    unrepairable.append(f"item {item.item_id} (origin {peer}'s {origin_item_id}) is unknown there")
            copies = _within(kept, self._limits.max_envelope_bytes // 2)  # the rest go in the next view
            again = [
                m.message_id
                for m in tx.sent_about(peer, [*resend_all, *updates_after])
                if m.item_id in resend_all or _update_after(m.kind, m.body, updates_after.get(m.item_id))
            ]
            resent = tx.requeue_outbox(again, now)
            if resent < len(again):
                unrepairable.append(f"{len(again) - resent} messages to resend had their body cleared by retention")
            self._report(tx, peer, unrepairable, now)
            tx.put_reconciliation(
                ReconcileState(
                    peer,
                    now,
                    now if not differences else None,
                    differences,
                    resent + resent_there,
                    "; ".join(unrepairable),
                )
            )
        return differences, resent, unrepairable, copies

    def recover(self, peer: str, copies: Sequence[messages_pb2.ReferralCopy]) -> int:
        """Re-create the items `peer` handed back copies of (this node's own referrals, lost in a restore); how
        many. Every copy is checked before anything is written: one that does not verify refuses them all."""
        if not copies:
            return 0
        if self._recover_item is None:
            raise ReconcileRefused("invalid", "BAD_REFERRAL_COPY", "this node takes no referral copies")
        verified: list[tuple[OpenedEnvelope, datetime, Referral, bytes]] = []
        for copy in copies:
            try:
                opened, accepted_at = self._crypto.verify_referral_copy(copy.signed_referral, copy.receipt, peer=peer)
            except RejectedMessage as error:
                _log.warning("reconcile.copy_refused", peer=peer, code=error.code)
                raise ReconcileRefused("invalid", "BAD_REFERRAL_COPY", error.reason) from None
            try:
                referral = decode_body(opened.kind, opened.body, sender=self._me)
            except DomainError as error:
                raise ReconcileRefused(
                    "invalid", "BAD_REFERRAL_COPY", f"the referral does not decode: {error}"
                ) from None
            if not isinstance(referral, Referral) or referral.origin_node != self._me or referral.referred_by:
                raise ReconcileRefused("invalid", "BAD_REFERRAL_COPY", "not a referral this node originated")
            verified.append((opened, accepted_at, referral, copy.receipt))
        now = self._clock.now()
        recovered = 0
        with self._store.transaction() as tx:
            restored_at = tx.last_restored_at()
            for opened, accepted_at, referral, receipt in verified:
                if restored_at is None or opened.created_at > restored_at:
                    continue  # no restore lost it: not taken back (retention may have purged it)
                if not self._recover_item(tx, peer, referral, opened.created_at):
                    continue  # here already
                item_id = referral.origin_item_id
                body = dump_body(referral.to_json())
                tx.enqueue_outbox(
                    OutboxMessage(opened.message_id, peer, KIND_REFERRAL, item_id, body, opened.created_at)
                )
                tx.mark_outbox_many([OutboxMark(opened.message_id, OutboxStatus.ACKED)], accepted_at)
                receipt_b64 = base64.b64encode(receipt).decode()
                tx.put_receipts([Receipt(opened.message_id, peer, item_id, accepted_at, receipt_b64, now)])
                recovered += 1
            if recovered:  # the peer's updates about them, refused while they were lost, are judged afresh
                tx.forget_refused(peer, "UNKNOWN_ITEM")
        if recovered:
            _log.warning("reconcile.recovered", peer=peer, items=recovered)
        return recovered

    @staticmethod
    def _number_on(
        tx: ReconcilingTransaction,
        peer: str,
        item_id: str,
        since_restore: list[SentMessage],
        applied: int,
        counter: int,
    ) -> int:
        """After a restore: the status updates about an item queued since the restore (`since_restore`; not sent
        yet: a restored node sends a peer nothing before it has reconciled with it) were numbered from the
        restored, older count. If the origin has applied any of those numbers already, they get the numbers after
        `applied`, in queue order, and the item counts on from them. Updates queued before the restore keep
        theirs: the origin may have them, and knows them by id. Returns the item's count."""
        queued = [
            (message, from_outbox(message.kind, message.body))
            for message in since_restore
            if message.kind == KIND_STATUS_UPDATE and message.status is OutboxStatus.PENDING and message.body
        ]
        updates = [(m, u) for m, u in queued if isinstance(u, StatusUpdate)]
        if not updates or min(u.sequence for _, u in updates) > applied:
            return counter
        sequence = applied
        for message, update in updates:
            sequence += 1
            tx.rewrite_outbox_body(
                message.message_id, dump_body(dataclasses.replace(update, sequence=sequence).to_json())
            )
        tx.raise_status_sequence(item_id, sequence)
        _log.warning("reconcile.renumbered", peer=peer, item_id=item_id, applied=applied, updates=len(updates))
        return max(counter, sequence)

    @staticmethod
    def _report(tx: ReconcilingTransaction, peer: str, unrepairable: list[str], now: datetime) -> None:
        """An event for the operator when what cannot be repaired with a peer changes (not at every round)."""
        before = next((s.detail for s in tx.reconciliations() if s.peer == peer), "")
        detail = "; ".join(unrepairable)[:500]
        if detail and detail != before:
            tx.append_event(
                Event.new(
                    EventKind.RECONCILE_UNREPAIRABLE, now, detail=f"with {peer}: {detail}", details=MessageDetails(peer)
                )
            )
            _log.warning("reconcile.unrepairable", peer=peer, detail=detail)


def _within(copies: list[ReferralCopy], budget: int) -> list[ReferralCopy]:
    """The first of `copies` that fit in `budget` bytes (at least one: a single copy is at most an envelope)."""
    taken: list[ReferralCopy] = []
    size = 0
    for copy in copies:
        size += len(copy.signed_referral) + len(copy.receipt)
        if taken and size > budget:
            break
        taken.append(copy)
    return taken


def _update_after(kind: str, body: str, sequence: int | None) -> bool:
    if sequence is None or kind != KIND_STATUS_UPDATE or not body:
        return False
    message = from_outbox(kind, body)
    return isinstance(message, StatusUpdate) and message.sequence > sequence
