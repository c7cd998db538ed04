"""The sending side of the exchange: a queue and a send loop per peer.

Each loop takes a batch of that peer's pending outbox messages (bounded by count and bytes), signs the batch
once (a signature over its Merkle root, an inclusion proof in each message), seals each message to the peer,
and delivers the batch; while one batch is on the wire the loop prepares the next (a small window of batches
in flight). ACCEPTED and DUPLICATE messages are done once their signed receipt
verifies; the receipt is kept as the chain of custody. A message REJECTED for a final reason (about the
message: node.exchange.delivery.REFUSALS) is never retried: it is stored with the reason and raised as an
event for the operator. One rejected for a transient reason (about the moment: clock skew, a roster change on
its way, an item whose referral is still on its way) stays queued and goes again after its own backoff,
signed anew with fresh times, until `SendSettings.retry_transient_for` after it was queued. A transient
failure of the whole call backs off the peer exponentially with full jitter; that backoff is persisted, and
reset when the peer contacts us. Messages for a suspended or revoked peer are held, not lost.

Messages about one item go in the order they were queued: a batch never carries a message about an item
that an earlier batch still in flight carries, nor one queued behind a message about the same item that waits
for its backoff. Every answer carries the peer's clock: the sender records its skew to the peer, logs it, and
warns once it comes near the limit.
"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from node.aio import wait_event
from node.cases.event_details import MessageDetails
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import KIND_REFERRAL
from node.cases.model import Event, OutboxMessage
from node.clock import Clock
from node.crypto.envelope import VerifiedSignatures
from node.exchange.cadence import ReferralCadence
from node.exchange.codec import encode_body
from node.exchange.delivery import (
    DeliveryResult,
    DeliveryStatus,
    EnvelopeSealer,
    MembershipRefused,
    RejectedMessage,
    Transport,
    TransportError,
    is_transient,
)
from node.exchange.ports import (
    ExchangeStore,
    OutboxDeferral,
    OutboxMark,
    OutboxStatus,
    PeerBackoff,
    PeerRefusal,
    Receipt,
)

__all__ = ["Backoff", "PeerSender", "SendSettings"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=15)

    def delay(self, failures: int, rng: random.Random) -> timedelta:
        """Full jitter: uniform in [0, min(cap, base * 2^(failures-1))]."""
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** min(failures - 1, 30))
        return timedelta(seconds=rng.uniform(0, ceiling))


@dataclass(frozen=True, slots=True)
class SendSettings:
    # A batch takes what is pending, up to these bounds (the receiver's default limits are 500 and 8 MiB):
    # one message when traffic is light, full batches under load.
    batch_count: int = 500
    batch_bytes: int = 4 * 1024 * 1024
    # Batches on the wire at once: the next is sealed while the peer applies the last.
    window: int = 2
    message_ttl: timedelta = timedelta(days=7)
    backoff: Backoff = Backoff()
    # A message refused for a transient reason goes again until this long after it was queued, then counts
    # as rejected (and is shown to the operator as such).
    retry_transient_for: timedelta = timedelta(days=7)
    # Warn when the clock skew to a peer reaches this: receivers refuse messages beyond their limit (5 minutes
    # by default, node.exchange.receiver.ReceiverLimits.max_clock_skew).
    clock_skew_warning: timedelta = timedelta(minutes=2)
    # When referrals leave (node.exchange.cadence): at once, or held for the next batch time.
    referral_cadence: ReferralCadence = field(default_factory=ReferralCadence)


@dataclass(frozen=True, slots=True)
class _Batch:
    messages: list[OutboxMessage]
    last_outbox_id: int

    @property
    def items(self) -> frozenset[str]:
        return frozenset(m.item_id for m in self.messages)


class PeerSender:
    """Delivers one peer's outbox. `send_once` does one round; `run` loops until cancelled."""

    def __init__(
        self,
        *,
        peer: str,
        store: ExchangeStore,
        sealer: EnvelopeSealer,
        transport: Transport,
        clock: Clock,
        is_active: Callable[[str], bool],
        run_blocking: Callable[..., Awaitable[Any]],
        settings: SendSettings | None = None,
        rng: random.Random | None = None,
        roster_version: Callable[[], int] = lambda: 0,
    ) -> None:
        """`roster_version`: the version this node trusts; a peer's membership refusal holds the peer's messages
        until it changes."""
        self.peer = peer
        self._roster_version = roster_version
        # The peer's verified refusal of this node (suspended or revoked there), under the roster version this
        # node trusted then: nothing goes to the peer until that version changes. Kept in the store: read back
        # by the first look after a restart.
        self.refused: PeerRefusal | None = None
        self._refusal_read = False
        self._store = store
        self._sealer = sealer
        self._transport = transport
        self._clock = clock
        self._is_active = is_active
        self._run = run_blocking
        self._settings = settings or SendSettings()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.wake = asyncio.Event()
        self._idle = False  # the last look found nothing due at all (and no backoff in the way)
        self._next_release: datetime | None = None  # the last look held referrals for a batch until then
        self.clock_skew: timedelta | None = None  # the peer's clock minus ours, as last measured
        self._logged_skew: timedelta | None = None
        # The last look took every message that was due (none left past its batch): until a wake-up says that
        # something was queued, a look past that batch would find nothing.
        self._took_all = False
        # Whether the peer's backoff is known to be clear without reading it: this sender cleared it on its last
        # answer, and only a sender sets a backoff (a reset clears one). Changed only with the lock held, over
        # the transactions that write the backoff (deliveries in a window may be recorded on two threads).
        self._backoff_clear = False
        self._backoff_lock = threading.Lock()
        # The look after a batch's answers: the transaction that writes them also says whether any message of
        # the peer's is left pending. None left, and nothing queued for the peer since (the runtime counts the
        # commits that queue for it in `queued_count`, and a commit's wake-up says so too): a look would find
        # nothing, and is not made. `_empty_as_of` is the count before that transaction, or None.
        self.queued_count = 0
        self._empty_as_of: int | None = None

    async def run(self, poll_seconds: float = 0.5) -> None:
        """Keep up to `window` batches in flight. Each new batch starts past the last one sent; when one
        comes back with messages still pending (a transient failure, a bad receipt), nothing new goes out
        until the window drains, and the next batch starts again from the oldest pending message. A batch that
        took every due message is followed by a look past it only once a wake-up says something was queued."""
        in_flight: dict[asyncio.Task[int], frozenset[str]] = {}  # each batch on the wire, and its items
        after, rewind = 0, False
        self._empty_as_of = None  # only this loop's own answers and wake-ups tell that nothing is pending
        try:
            while True:
                batch = None
                if len(in_flight) < self._settings.window and not rewind:
                    if in_flight and self._took_all and not self.wake.is_set():
                        pass  # the batch in flight took all that was due, and nothing was queued since
                    else:
                        empty = self._empty_as_of == self.queued_count and not self.wake.is_set()
                        self._empty_as_of = None
                        self.wake.clear()
                        busy = frozenset[str]().union(*in_flight.values())
                        batch = await self._next_batch(after if in_flight else 0, busy, known_empty=empty)
                if batch is not None:
                    after = batch.last_outbox_id
                    in_flight[asyncio.create_task(self._send(batch.messages))] = batch.items
                    continue
                if not in_flight:
                    if not rewind and self._idle:
                        if self.wake.is_set():
                            # A message was queued while we looked: the runtime saw this loop still running
                            # and left it to us, so look again rather than end and strand it.
                            continue
                        # Nothing waits for this peer: the loop ends rather than poll (an idle network of
                        # many peers would otherwise query its outbox for each, all the time). The runtime
                        # starts it again when a message is queued.
                        return
                    rewind = False
                    await wait_event(self.wake, self._idle_wait(poll_seconds))
                    continue
                # Wait for an answer, or (with room in the window) for something new to send.
                woken = asyncio.create_task(self.wake.wait())
                waiting = {woken} if len(in_flight) < self._settings.window and not rewind else set()
                try:
                    done, _ = await asyncio.wait(in_flight.keys() | waiting, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
                for task in done & in_flight.keys():
                    del in_flight[task]
                    if task.result() < 0:
                        rewind = True
        finally:
            for task in in_flight:
                task.cancel()

    async def send_once(self) -> int:
        """Deliver one batch if one is due. Returns how many messages got a final answer."""
        self._empty_as_of = None
        batch = await self._next_batch(0, frozenset())
        if batch is None:
            return 0
        return max(0, await self._send(batch.messages))

    async def _next_batch(self, after: int, busy: frozenset[str], *, known_empty: bool = False) -> _Batch | None:
        self._took_all = False
        if not self._is_active(self.peer):
            return None  # held until the peer is active again
        if not self._refusal_read:
            self.refused = await self._run(self._stored_refusal)
            self._refusal_read = True
        if self.refused is not None:
            if self.refused.roster_version == self._roster_version():
                return None  # the peer refused this node: held until the roster changes
            self.refused = None
            await self._run(self._forget_refusal)
        batch: _Batch | None = await self._run(self._due_batch, after, busy, known_empty)
        return batch

    async def _send(self, batch: list[OutboxMessage]) -> int:
        """Seal and deliver a batch, and record the answers. The number of messages that got a final answer,
        or -1 if some are still pending."""
        now = self._clock.now()
        envelopes: list[bytes] = await self._run(self._seal, batch, now)  # fresh times on every send
        sent_at = self._clock.now()
        try:
            results = await self._transport.deliver(self.peer, envelopes)
        except MembershipRefused as refused:
            await self._run(self._refused, refused.refusal)
            return -1
        except TransportError as error:
            await self._run(self._failed, str(error), error.transient)
            return -1
        if len(results) != len(batch):
            await self._run(self._failed, f"{len(results)} results for {len(batch)} messages", True)
            return -1
        skew = self._skew(results, sent_at, self._clock.now())
        done = int(await self._run(self._record, batch, results, skew))
        return done if done == len(batch) else -1

    def _idle_wait(self, poll_seconds: float) -> float:
        """How long the loop waits for a wake-up with nothing to send: the poll interval, or less when held
        referrals are due to leave sooner (in the loop's seconds, which run `scale` times slower than an
        accelerated clock's)."""
        if self._next_release is None:
            return poll_seconds
        until = (self._next_release - self._clock.now()).total_seconds() / float(getattr(self._clock, "scale", 1.0))
        return max(0.001, min(poll_seconds, until))

    def _held(self, message: OutboxMessage, now: datetime) -> bool:
        """A referral waiting for its batch time (node.exchange.cadence); notes the earliest such time."""
        if message.kind != KIND_REFERRAL:
            return False
        release = self._settings.referral_cadence.release_at(message.created_at)
        if release <= now:
            return False
        self._next_release = release if self._next_release is None else min(self._next_release, release)
        return True

    def _due_batch(self, after: int, busy: frozenset[str] = frozenset(), known_empty: bool = False) -> _Batch | None:
        """The next batch past `after`: due messages, oldest first, ending before the first one about an item
        in `busy` (carried by a batch still in flight). Referrals held for a batch time stay, and so does
        any message queued behind one about the same item. `known_empty`: the peer has no pending message
        (see `_empty_as_of`), so with no backoff in the way there is nothing to read."""
        self._idle = False
        self._next_release = None
        now = self._clock.now()
        if known_empty and self._backoff_clear:
            pending: list[tuple[int, OutboxMessage]] = []
        else:
            # With the backoff known clear, the look is one statement.
            with self._store.transaction(read_only=True, single_read=self._backoff_clear) as tx:
                if not self._backoff_clear:
                    next_attempt = tx.peer_backoff(self.peer).next_attempt_at
                    if next_attempt is not None and next_attempt > now:
                        return None
                pending = tx.pending_outbox_after(
                    self.peer, after, self._settings.batch_count, due_at=now, horizon=now + self._settings.backoff.cap
                )
        self._idle = not pending and after == 0
        batch: list[OutboxMessage] = []
        size, last = 0, after
        held: set[str] = set()  # items with a referral held for its batch
        batching = not self._settings.referral_cadence.immediate
        for outbox_id, message in pending:
            if batching and (message.item_id in held or self._held(message, now)):
                held.add(message.item_id)
                continue
            size += len(message.body)
            if (batch and size > self._settings.batch_bytes) or message.item_id in busy:
                break
            batch.append(message)
            last = outbox_id
        # Every due message past `after` is in the batch: the query's limit left none out, nor did a bound.
        self._took_all = len(batch) == len(pending) < self._settings.batch_count
        return _Batch(batch, last) if batch else None

    def _skew(self, results: list[DeliveryResult], sent_at: datetime, answered_at: datetime) -> timedelta | None:
        """The peer's clock minus ours: its clock when it answered against the middle of our call. Logged when
        it changes by a second or more; a warning once it reaches the warning level."""
        peer_time = next((r.receiver_time for r in results if r.receiver_time is not None), None)
        if peer_time is None:
            return None
        skew = peer_time - (sent_at + (answered_at - sent_at) / 2)
        self.clock_skew = skew
        seconds = round(skew.total_seconds(), 3)
        if abs(skew) >= self._settings.clock_skew_warning:
            _log.warning(
                "exchange.clock_skew_high",
                peer=self.peer,
                skew_seconds=seconds,
                warn_at_seconds=self._settings.clock_skew_warning.total_seconds(),
            )
        elif self._logged_skew is None or abs(skew - self._logged_skew) >= timedelta(seconds=1):
            _log.info("exchange.clock_skew", peer=self.peer, skew_seconds=seconds)
        else:
            return skew
        self._logged_skew = skew
        return skew

    def _seal(self, batch: list[OutboxMessage], now: datetime) -> list[bytes]:
        return self._sealer.seal_batch(
            [(*encode_body(m.kind, m.body), m.message_id) for m in batch],
            recipient=self.peer,
            created_at=now,
            expires_at=now + self._settings.message_ttl,
        )

    def _failed(self, error: str, transient: bool) -> None:
        now = self._clock.now()
        with self._backoff_lock, self._store.transaction() as tx:
            self._backoff_clear = False
            self._empty_as_of = None
            failures = tx.peer_backoff(self.peer).failures + 1
            next_attempt = now + self._settings.backoff.delay(failures, self._rng)
            tx.set_peer_backoff(self.peer, PeerBackoff(failures, next_attempt), error=error)
        _log.warning("exchange.send_failed", peer=self.peer, failures=failures, transient=transient, error=error)

    def _stored_refusal(self) -> PeerRefusal | None:
        with self._store.transaction(read_only=True) as tx:
            return next((r for r in tx.peer_refusals() if r.peer == self.peer), None)

    def _forget_refusal(self) -> None:
        with self._store.transaction() as tx:
            tx.forget_peer_refusals(self.peer)

    def _refused(self, refusal: bytes) -> None:
        """The peer refused this node itself. Verified, and under the roster version this node trusts too: shown
        to the operator (the peer's last error, an event) and held until this node's roster changes. Otherwise
        a transient failure: the node that lags catches up on the roster (from the call, or the refusal)."""
        try:
            body = self._sealer.verify_refusal(refusal, peer=self.peer)
        except RejectedMessage as bad:
            self._failed(f"{bad.code}: {bad.reason}", True)
            return
        reason = f"{body.reason_code}: {body.reason}"
        version = self._roster_version()
        if body.roster_version != version:  # one of the two lags: it catches up from the other, then again
            self._failed(f"{reason} (it trusts roster version {body.roster_version}, this node {version})", True)
            return
        now = self._clock.now()
        self.refused = PeerRefusal(self.peer, body.reason_code, body.reason, version, now, refusal)
        with self._backoff_lock, self._store.transaction() as tx:
            self._backoff_clear = False
            tx.put_peer_refusal(self.refused)
            failures = tx.peer_backoff(self.peer).failures + 1
            tx.set_peer_backoff(
                self.peer, PeerBackoff(failures, None), error=f"{reason} (held until the roster changes)"
            )
            tx.append_event(
                Event.new(
                    EventKind.EXCHANGE_REFUSED_BY_PEER,
                    now,
                    detail=f"{self.peer} refused this node: {reason}",
                    details=MessageDetails(self.peer, reason_code=body.reason_code),
                )
            )
        _log.error("exchange.refused_by_peer", peer=self.peer, code=body.reason_code, roster_version=version)

    def _record(self, batch: list[OutboxMessage], results: list[DeliveryResult], skew: timedelta | None = None) -> int:
        """Check the receipts (a batch's receipts share one signature: checked once) and record the answers,
        and the clock skew to the peer, in one transaction. The number of messages that got a final answer."""
        now = self._clock.now()
        verified: VerifiedSignatures = set()
        receipts: list[Receipt] = []
        marks: list[OutboxMark] = []
        deferred: list[OutboxDeferral] = []
        rejected: list[tuple[OutboxMessage, DeliveryResult]] = []
        for message, result in zip(batch, results, strict=True):
            if result.message_id and result.message_id != message.message_id:
                continue  # out of order or foreign: try again later
            if result.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.DUPLICATE):
                try:
                    accepted_at = self._sealer.verify_receipt(
                        result.receipt, peer=self.peer, message_id=message.message_id, verified=verified
                    )
                except RejectedMessage as bad:
                    _log.warning("exchange.bad_receipt", peer=self.peer, message_id=message.message_id, code=bad.code)
                    continue  # not done without a valid receipt: it is sent again
                receipt = base64.b64encode(result.receipt).decode()
                receipts.append(Receipt(message.message_id, self.peer, message.item_id, accepted_at, receipt, now))
                marks.append(OutboxMark(message.message_id, OutboxStatus.ACKED))
            elif is_transient(result.reason_code) and now - message.created_at < self._settings.retry_transient_for:
                # About the moment, not the message: it stays queued and goes again after its backoff.
                _log.info(
                    "exchange.delivery_deferred", peer=self.peer, message_id=message.message_id, code=result.reason_code
                )
                deferred.append(OutboxDeferral(message.message_id, f"{result.reason_code}: {result.reason}"))
            else:
                given_up = " (refused for now, and given up after retrying)" if is_transient(result.reason_code) else ""
                error = f"{result.reason_code}: {result.reason}{given_up}"
                marks.append(OutboxMark(message.message_id, OutboxStatus.REJECTED, error))
                rejected.append((message, result))
        with self._backoff_lock:
            queued = self.queued_count  # before the transaction: a commit that queues after it moves the count
            pending_left = self._write_answers(now, receipts, marks, deferred, rejected, skew)
            self._backoff_clear = True  # committed: the next look need not read it
            self._empty_as_of = None if pending_left else queued
        for kept in receipts:
            _log.info(
                "exchange.delivered",
                peer=self.peer,
                message_id=kept.message_id,
                item_id=kept.item_id,
                receipt_accepted_at=kept.accepted_at.isoformat(),
            )
        return len(marks)

    def _write_answers(
        self,
        now: datetime,
        receipts: list[Receipt],
        marks: list[OutboxMark],
        deferred: list[OutboxDeferral],
        rejected: list[tuple[OutboxMessage, DeliveryResult]],
        skew: timedelta | None,
    ) -> bool:
        """Write the answers; whether the peer has messages still pending after them."""
        with self._store.transaction() as tx:
            tx.put_receipts(receipts)
            tx.mark_outbox_many(marks, now)
            tx.defer_outbox_many(deferred, now, lambda attempts: self._settings.backoff.delay(attempts, self._rng))
            for message, result in rejected:
                tx.append_event(
                    Event.new(
                        EventKind.DELIVERY_REJECTED,
                        now,
                        item_id=message.item_id,
                        detail=f"{message.kind} {message.message_id} to {self.peer}: {result.reason_code}",
                        details=MessageDetails(self.peer, message.message_id, message.kind, result.reason_code),
                    )
                )
                _log.error(
                    "exchange.delivery_rejected",
                    peer=self.peer,
                    message_id=message.message_id,
                    item_id=message.item_id,
                    code=result.reason_code,
                )
            tx.peer_answered(self.peer, now, skew)  # the backoff cleared, the success and the clock skew
            return tx.has_pending(self.peer)
