"""The receiving side of the exchange: one transaction per delivered batch, all or nothing per message.

First, for each sealed envelope (no database work, no lock held): open it (decrypt, verify the signatures
against the roster, check it is for us; a batch signed once is verified once), check the TLS peer is the
sender it claims to be, that the sender is an active member, and the message's times. Then, in one
transaction for the batch: deduplicate on (sender, message id), apply each message in its own savepoint,
sign the receipts of the accepted ones together, and record every message with its result and receipt. A
message that fails validation is REJECTED with its reason and changes nothing; the others still apply.

A refusal for a transient reason (node.exchange.delivery.REFUSALS: about the moment, not the message) is not
recorded as the message's answer, so the same message sent again is judged afresh; and a later message about
the same item from the same sender in the batch is not applied ahead of it (WAITING_FOR_EARLIER). A withdrawal
that arrives before its item is accepted and held until the referral comes (node.exchange.holding), for a
bounded time. Every result carries this node's clock, so that the sender can measure its clock skew to it.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from node.cases.event_details import MessageDetails
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import HashVerdicts, Referral, StatusUpdate, Withdrawal
from node.cases.exchange_rules import ExchangeRefusal
from node.cases.model import Event
from node.cases.service import CaseService
from node.clock import Clock
from node.crypto.envelope import VerifiedSignatures
from node.errors import DomainError, ResourceExhausted
from node.exchange.codec import Incoming, decode_body
from node.exchange.delivery import (
    WAITING_FOR_EARLIER,
    DeliveryResult,
    DeliveryStatus,
    EnvelopeOpener,
    OpenedEnvelope,
    ReceiptRequest,
    RejectedMessage,
    is_transient,
)
from node.exchange.holding import Holding
from node.exchange.ports import InboxEntry, ReceivingStore, ReceivingTransaction, ReferralCopy

__all__ = ["Receiver", "ReceiverLimits"]

_log = structlog.get_logger(__name__)


class _Refused(Exception):
    """A message of the batch was refused while applying without savepoints: apply again with them."""


class Members(Protocol):
    @property
    def version(self) -> int: ...

    def is_active(self, node_id: str) -> bool: ...

    def member(self, node_id: str) -> object | None: ...

    def expired(self, now: datetime) -> bool: ...


@dataclass(frozen=True, slots=True)
class ReceiverLimits:
    max_batch_count: int = 500
    max_batch_bytes: int = 8 * 1024 * 1024
    max_envelope_bytes: int = 256 * 1024
    max_clock_skew: timedelta = timedelta(minutes=5)
    # A message that arrives before the item it is about is held this long (as long as senders retry a
    # transient refusal), at most this many per sender (node.exchange.holding).
    hold_for: timedelta = timedelta(days=7)
    max_held_per_sender: int = 1000


class Receiver:
    def __init__(
        self,
        *,
        node_id: str,
        cases: CaseService,
        store: ReceivingStore,
        opener: EnvelopeOpener,
        members: Callable[[], Members],
        clock: Clock,
        limits: ReceiverLimits | None = None,
    ) -> None:
        self._node_id = node_id
        self._cases = cases
        self._store = store
        self._opener = opener
        self._members = members
        self._clock = clock
        self.limits = limits or ReceiverLimits()
        self._holding = Holding(self._apply_one)
        self._skew_warned: dict[str, datetime] = {}  # when a sender's clock was last warned of

    def deliver(self, envelopes: Sequence[bytes], *, peer: str | None) -> list[DeliveryResult]:
        """Results in the order of `envelopes`. `peer` is the member the TLS certificate belongs to (None when
        the transport authenticates no peer, as the in-memory transport of tests)."""
        if len(envelopes) > self.limits.max_batch_count:
            raise ResourceExhausted(f"at most {self.limits.max_batch_count} envelopes per batch", field="envelopes")
        if sum(len(e) for e in envelopes) > self.limits.max_batch_bytes:
            raise ResourceExhausted(f"at most {self.limits.max_batch_bytes} bytes per batch", field="envelopes")
        now = self._clock.now()
        results: list[DeliveryResult | None] = [None] * len(envelopes)
        opened: list[tuple[int, OpenedEnvelope]] = []
        refused: list[RejectedMessage] = []
        verified: VerifiedSignatures = set()
        for index, data in enumerate(envelopes):
            try:
                if len(data) > self.limits.max_envelope_bytes:
                    raise RejectedMessage("OVERSIZE", f"an envelope is at most {self.limits.max_envelope_bytes} bytes")
                message = self._opener.open(data, verified)
                self._check(message, peer, now)
            except RejectedMessage as rejected:
                _log.warning(
                    "exchange.rejected",
                    peer=peer,
                    claimed_sender=rejected.sender,
                    message_id=rejected.message_id,
                    code=rejected.code,
                )
                refused.append(rejected)
                results[index] = DeliveryResult(
                    rejected.message_id, DeliveryStatus.REJECTED, rejected.code, rejected.reason
                )
                continue
            opened.append((index, message))
        if opened or refused:
            try:
                # Most batches apply cleanly: no savepoint per message. If one message is refused, all of
                # this is rolled back and the batch is applied again with a savepoint around each message.
                self._transaction(opened, refused, results, now, peer, savepoints=False)
            except _Refused:
                self._transaction(opened, refused, results, now, peer, savepoints=True)
        answered = [dataclasses.replace(r, receiver_time=now) for r in results if r is not None]
        assert len(answered) == len(envelopes), "every envelope gets its result, in order"
        senders = {m.message_id: (m.sender, str(m.kind)) for _, m in opened}
        for result in answered:  # by ids only: a message's body never reaches the log
            if result.status is not DeliveryStatus.REJECTED:
                sender, kind = senders.get(result.message_id, (peer, ""))
                _log.info(
                    "exchange.accepted",
                    peer=sender,
                    message_id=result.message_id,
                    kind=kind,
                    duplicate=result.status is DeliveryStatus.DUPLICATE,
                )
        if any(r.status is DeliveryStatus.ACCEPTED for r in answered):
            self._cases.committed()
        return answered

    def _check(self, opened: OpenedEnvelope, peer: str | None, now: datetime) -> None:
        where = {"sender": opened.sender, "message_id": opened.message_id}
        if peer is not None and peer != opened.sender:
            raise RejectedMessage("PEER_MISMATCH", f"the TLS peer is {peer}, not {opened.sender}", **where)
        members = self._members()
        if members.expired(now):
            raise RejectedMessage(
                "ROSTER_EXPIRED",
                f"this node's roster (version {members.version}) has expired: it accepts nothing until a newer "
                "one is applied; keep the message queued",
                **where,
            )
        if not members.is_active(opened.sender):
            raise RejectedMessage("SENDER_NOT_ACTIVE", f"{opened.sender} is not an active member", **where)
        if opened.expires_at <= now:
            raise RejectedMessage("EXPIRED", f"the message expired at {opened.expires_at.isoformat()}", **where)
        ahead, allowed = opened.created_at - now, self.limits.max_clock_skew
        if ahead > allowed:
            raise RejectedMessage(
                "FROM_THE_FUTURE",
                f"the message is dated {ahead.total_seconds():.0f} s ahead of this node's clock "
                f"(at most {allowed.total_seconds():.0f} s)",
                **where,
            )
        if ahead >= allowed / 2:
            self._warn_of_skew(opened.sender, ahead, now)

    def _warn_of_skew(self, sender: str, ahead: timedelta, now: datetime) -> None:
        """A sender's clock runs ahead, near the limit: warn, at most once a minute per sender, before its
        messages are refused."""
        last = self._skew_warned.get(sender)
        if last is not None and now - last < timedelta(minutes=1):
            return
        self._skew_warned[sender] = now
        _log.warning(
            "exchange.clock_skew_high",
            peer=sender,
            ahead_seconds=round(ahead.total_seconds(), 3),
            limit_seconds=self.limits.max_clock_skew.total_seconds(),
        )

    def _transaction(
        self,
        opened: list[tuple[int, OpenedEnvelope]],
        refused: list[RejectedMessage],
        results: list[DeliveryResult | None],
        now: datetime,
        peer: str | None,
        *,
        savepoints: bool,
    ) -> None:
        with self._store.transaction() as tx:
            self._holding.expire(tx, now)
            applied = self._apply_batch(tx, opened, now, savepoints=savepoints)
            for refusal in refused:
                self._record_rejection(tx, refusal.code, refusal.message_id, now, peer=peer, claimed=refusal.sender)
        for index, result in applied.items():
            results[index] = result

    def _apply_batch(
        self, tx: ReceivingTransaction, opened: list[tuple[int, OpenedEnvelope]], now: datetime, *, savepoints: bool
    ) -> dict[int, DeliveryResult]:
        """Deduplicate, apply each new message (in its own savepoint, or raise _Refused at the first refusal
        when `savepoints` is off), receipt the accepted ones, and record them all. Results by position."""
        results: dict[int, DeliveryResult] = {}
        previous = tx.get_inbox_many([(m.sender, m.message_id) for _, m in opened])
        entries: list[InboxEntry] = []
        accepted: list[tuple[int, OpenedEnvelope]] = []
        first: dict[tuple[str, str], int] = {}  # the first copy of each message in this batch
        repeats: list[tuple[int, int]] = []
        decoded: dict[int, Incoming | DomainError] = {}
        waiting: set[tuple[str, str, str]] = set()  # (sender, item) with a message refused for now in this batch
        referred: dict[int, tuple[Referral, str]] = {}  # referrals applied, by position: (referral, our item id)
        members = self._members()

        def is_member(node_id: str) -> bool:
            return members.member(node_id) is not None

        for index, message in opened:
            if (message.sender, message.message_id) not in previous:
                try:
                    decoded[index] = decode_body(  # writes nothing
                        message.kind, message.body, sender=message.sender, now=now, is_member=is_member
                    )
                except DomainError as error:
                    decoded[index] = error
        tx.prefetch_origins(
            (body.origin_node, body.origin_item_id)
            for body in decoded.values()
            if isinstance(body, Referral | Withdrawal)
        )
        for index, message in opened:
            key = (message.sender, message.message_id)
            before = previous.get(key)
            if before is not None:
                if before.status == DeliveryStatus.ACCEPTED:
                    receipt = base64.b64decode(before.receipt)
                    results[index] = DeliveryResult(message.message_id, DeliveryStatus.DUPLICATE, receipt=receipt)
                else:
                    results[index] = DeliveryResult(
                        message.message_id, DeliveryStatus.REJECTED, before.reason_code, before.reason
                    )
                continue
            if key in first:
                repeats.append((index, first[key]))
                continue
            first[key] = index
            incoming = decoded[index]
            item = None if isinstance(incoming, DomainError) else (message.sender, *_item_of(incoming, self._node_id))
            if item in waiting:
                _log.info("exchange.waiting", sender=message.sender, message_id=message.message_id)
                results[index] = DeliveryResult(
                    message.message_id,
                    DeliveryStatus.REJECTED,
                    WAITING_FOR_EARLIER,
                    "an earlier message about the same item was not applied yet",
                )
                continue
            try:
                if isinstance(incoming, DomainError):
                    raise incoming
                if savepoints:
                    with tx.savepoint():
                        item_id = self._apply_one(tx, message.sender, incoming)
                else:
                    try:
                        item_id = self._apply_one(tx, message.sender, incoming)
                    except DomainError as error:
                        raise _Refused from error  # it may have written part of itself: start again
                if isinstance(incoming, Referral) and item_id:
                    referred[index] = (incoming, item_id)
            except DomainError as error:
                # A named reason from the authority rules, else the error's class (INVALIDARGUMENT, ...).
                code = error.code if isinstance(error, ExchangeRefusal) else type(error).__name__.upper()
                if not isinstance(incoming, DomainError) and self._hold(tx, message, incoming, code, now):
                    accepted.append((index, message))  # accepted, and held until its item arrives
                    continue
                answer = DeliveryResult(message.message_id, DeliveryStatus.REJECTED, code, str(error))
                results[index] = answer
                if is_transient(code):  # about the moment: not this message's answer, judged afresh next time
                    _log.info(
                        "exchange.refused_for_now", sender=message.sender, message_id=message.message_id, code=code
                    )
                    if item is not None:
                        waiting.add(item)
                    continue
                entries.append(_inbox_entry(message, now, answer))
                # The sender is authenticated here: the TLS peer is the sender the signed envelope names.
                self._record_rejection(tx, code, message.message_id, now, peer=message.sender)
                _log.warning("exchange.rejected", peer=message.sender, message_id=message.message_id, code=code)
                continue
            accepted.append((index, message))
        receipts = self._opener.sign_receipts(
            [ReceiptRequest(m.sender, m.message_id, m.signed_message) for _, m in accepted], accepted_at=now
        )
        for (index, message), receipt in zip(accepted, receipts, strict=True):
            answer = DeliveryResult(message.message_id, DeliveryStatus.ACCEPTED, receipt=receipt)
            results[index] = answer
            entries.append(_inbox_entry(message, now, answer))
            if index in referred:  # kept as its origin signed it: an origin restored from a backup gets it back
                referral, item_id = referred[index]
                tx.keep_referral_copy(
                    ReferralCopy(
                        referral.origin_node,
                        referral.origin_item_id,
                        item_id,
                        message.sender,
                        message.message_id,
                        message.signed_message,
                        receipt,
                        now,
                    )
                )
        for index, original in repeats:
            done = results[original]
            if done.status is DeliveryStatus.ACCEPTED:
                results[index] = DeliveryResult(done.message_id, DeliveryStatus.DUPLICATE, receipt=done.receipt)
            else:
                results[index] = done
        tx.put_inbox_many(entries)
        return results

    def _hold(
        self, tx: ReceivingTransaction, message: OpenedEnvelope, incoming: Incoming, code: str, now: datetime
    ) -> bool:
        limits = self.limits
        return self._holding.hold(
            tx,
            message.sender,
            message.message_id,
            incoming,
            code,
            now,
            hold_for=limits.hold_for,
            max_per_sender=limits.max_held_per_sender,
        )

    def _apply_one(self, tx: ReceivingTransaction, sender: str, incoming: Incoming) -> str:
        """Apply a message; for a referral, the id of this node's item."""
        if isinstance(incoming, Referral):
            item_id = self._cases.receive_referral_txn(tx, sender, incoming)
            self._holding.release(tx, incoming, self._clock.now())  # what overtook it applies now
            return item_id
        if isinstance(incoming, StatusUpdate):
            self._cases.apply_status_update_txn(tx, sender, incoming)
        elif isinstance(incoming, Withdrawal):
            self._cases.apply_withdrawal_txn(tx, sender, incoming)
        elif isinstance(incoming, HashVerdicts):
            self._cases.apply_hash_verdicts_txn(tx, sender, incoming)
        return ""

    def _record_rejection(
        self,
        tx: ReceivingTransaction,
        code: str,
        message_id: str,
        now: datetime,
        *,
        peer: str | None,
        claimed: str = "",
    ) -> None:
        """An event for the operator, attributed to the TLS peer that delivered the message, never to a clear
        field of the envelope: the sender it claims is shown apart when it differs. Not an inbox entry for a
        message that did not open: a forged or replayed copy must never block the genuine message."""
        tx.append_event(
            Event.new(
                EventKind.EXCHANGE_REJECTED,
                now,
                detail=f"{code} from {_attributed(peer, claimed)} message {message_id or '?'}",
                details=MessageDetails(peer or claimed, message_id, reason_code=code),
            )
        )


def _inbox_entry(message: OpenedEnvelope, now: datetime, result: DeliveryResult) -> InboxEntry:
    """The inbox row of a message and its final answer (an accepted message's receipt in base64)."""
    receipt = base64.b64encode(result.receipt).decode() if result.receipt else ""
    status, code, reason = result.status, result.reason_code, result.reason
    return InboxEntry(message.sender, message.message_id, str(message.kind), now, status, code, reason, receipt)


def _attributed(peer: str | None, claimed: str) -> str:
    if peer is None:  # a transport that authenticates no peer (the in-memory one of tests)
        return f"{claimed or '?'} (claimed, unauthenticated)"
    return peer if claimed in ("", peer) else f"{peer} (claimed {claimed})"


def _item_of(incoming: Incoming, me: str) -> tuple[str, str]:
    """The item a message is about, as (origin node, origin item id): a status update is about an item of ours."""
    if isinstance(incoming, StatusUpdate):
        return me, incoming.origin_item_id
    if isinstance(incoming, HashVerdicts):
        return "", ""  # about no item: a sender's verdicts apply in the order they were sent
    return incoming.origin_node, incoming.origin_item_id
