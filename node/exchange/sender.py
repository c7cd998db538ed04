"""The sending side of the exchange: a queue and a send loop per peer.

Each loop takes a batch of that peer's pending outbox messages (bounded by count and bytes), seals each to
the peer, and delivers the batch. ACCEPTED and DUPLICATE messages are done once their signed receipt
verifies; the receipt is kept as the chain of custody. A REJECTED message is never retried: it is stored
with the reason and raised as an event for the operator. A transient failure backs off exponentially with
full jitter; the backoff is persisted, and reset when the peer contacts us. Messages for a suspended or
revoked peer are held, not lost.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from node.cases.model import Event, OutboxMessage
from node.clock import Clock
from node.exchange.codec import encode_body
from node.exchange.receiver import DeliveryResult, DeliveryStatus, RejectedMessage
from node.store.case_store import SqlCaseStore

__all__ = ["Backoff", "EnvelopeSealer", "PeerSender", "SendSettings", "Transport", "TransportError"]

_log = structlog.get_logger(__name__)


class TransportError(Exception):
    """Delivery failed before the peer answered for each message. Transient failures are retried."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Transport(Protocol):
    async def deliver(self, peer: str, envelopes: Sequence[bytes]) -> list[DeliveryResult]: ...


class EnvelopeSealer(Protocol):
    def seal(
        self, *, kind: int, body: bytes, recipient: str, message_id: str, created_at: datetime, expires_at: datetime
    ) -> bytes: ...

    def verify_receipt(self, receipt: bytes, *, peer: str, message_id: str) -> datetime:
        """The time the peer says it accepted the message; raises RejectedMessage if the receipt is bad."""
        ...


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
    batch_count: int = 200
    batch_bytes: int = 2 * 1024 * 1024
    message_ttl: timedelta = timedelta(days=7)
    backoff: Backoff = Backoff()


class PeerSender:
    """Delivers one peer's outbox. `send_once` does one round; `run` loops until cancelled."""

    def __init__(
        self,
        *,
        peer: str,
        store: SqlCaseStore,
        sealer: EnvelopeSealer,
        transport: Transport,
        clock: Clock,
        is_active: Callable[[str], bool],
        run_blocking: Callable[..., Awaitable[Any]],
        settings: SendSettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.peer = peer
        self._store = store
        self._sealer = sealer
        self._transport = transport
        self._clock = clock
        self._is_active = is_active
        self._run = run_blocking
        self._settings = settings or SendSettings()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.wake = asyncio.Event()

    async def run(self, poll_seconds: float = 0.5) -> None:
        while True:
            sent = await self.send_once()
            if sent == 0:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), poll_seconds)

    async def send_once(self) -> int:
        """Deliver one batch if one is due. Returns how many messages got a final answer."""
        if not self._is_active(self.peer):
            return 0  # held until the peer is active again
        batch = await self._run(self._due_batch)
        if not batch:
            return 0
        now = self._clock.now()
        envelopes = [self._seal(message, now) for message in batch]
        try:
            results = await self._transport.deliver(self.peer, envelopes)
        except TransportError as error:
            await self._run(self._failed, str(error), error.transient)
            return 0
        if len(results) != len(batch):
            await self._run(self._failed, f"{len(results)} results for {len(batch)} messages", True)
            return 0
        return int(await self._run(self._record, batch, results))

    def _due_batch(self) -> list[OutboxMessage]:
        with self._store.transaction(read_only=True) as tx:
            _failures, next_attempt = tx.peer_backoff(self.peer)
            if next_attempt is not None and next_attempt > self._clock.now():
                return []
            pending = tx.pending_outbox(self.peer, self._settings.batch_count)
        batch: list[OutboxMessage] = []
        size = 0
        for message in pending:
            size += len(message.body)
            if batch and size > self._settings.batch_bytes:
                break
            batch.append(message)
        return batch

    def _seal(self, message: OutboxMessage, now: datetime) -> bytes:
        kind, body = encode_body(message.kind, message.body)
        return self._sealer.seal(
            kind=kind,
            body=body,
            recipient=self.peer,
            message_id=message.message_id,
            created_at=now,
            expires_at=now + self._settings.message_ttl,
        )

    def _failed(self, error: str, transient: bool) -> None:
        now = self._clock.now()
        with self._store.transaction() as tx:
            failures, _ = tx.peer_backoff(self.peer)
            failures += 1
            next_attempt = now + self._settings.backoff.delay(failures, self._rng)
            tx.set_peer_backoff(self.peer, failures, next_attempt, error)
        _log.warning("exchange.send_failed", peer=self.peer, failures=failures, transient=transient, error=error)

    def _record(self, batch: list[OutboxMessage], results: list[DeliveryResult]) -> int:
        now = self._clock.now()
        done = 0
        with self._store.transaction() as tx:
            for message, result in zip(batch, results, strict=True):
                if result.message_id and result.message_id != message.message_id:
                    continue  # out of order or foreign: try again later
                if result.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.DUPLICATE):
                    try:
                        accepted_at = self._sealer.verify_receipt(
                            result.receipt, peer=self.peer, message_id=message.message_id
                        )
                    except RejectedMessage as bad:
                        _log.warning(
                            "exchange.bad_receipt", peer=self.peer, message_id=message.message_id, code=bad.code
                        )
                        continue  # not done without a valid receipt: it is sent again
                    tx.put_receipt(
                        message.message_id,
                        self.peer,
                        message.item_id,
                        accepted_at,
                        base64.b64encode(result.receipt).decode(),
                        now,
                    )
                    tx.mark_outbox(message.message_id, "acked", now)
                else:
                    tx.mark_outbox(message.message_id, "rejected", now, f"{result.reason_code}: {result.reason}")
                    tx.append_event(
                        Event(
                            event_id=str(uuid.uuid4()),
                            kind="delivery.rejected",
                            occurred_at=now,
                            item_id=message.item_id,
                            detail=f"{message.kind} {message.message_id} to {self.peer}: {result.reason_code}",
                        )
                    )
                    _log.error(
                        "exchange.delivery_rejected",
                        peer=self.peer,
                        message_id=message.message_id,
                        item_id=message.item_id,
                        code=result.reason_code,
                    )
                done += 1
            tx.set_peer_backoff(self.peer, 0, None, "", success_at=now)
        return done
