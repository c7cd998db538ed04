"""The receiving side of the exchange: one transaction per message.

For each sealed envelope in a batch: open it (decrypt, verify the signatures against the roster, check it is
for us), check the TLS peer is the sender it claims to be, that the sender is an active member, and the
message's times; then, in one transaction, deduplicate on (sender, message id), apply it, and record it
with the signed receipt. A refused message is recorded with its reason and changes nothing else.
"""

from __future__ import annotations

import base64
import enum
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from node.cases.exchange_messages import IncomingReferral, StatusUpdate, Withdrawal
from node.cases.model import Event
from node.cases.service import CaseService
from node.clock import Clock
from node.errors import DomainError, ResourceExhausted
from node.exchange.codec import decode_body
from node.store.case_store import SqlCaseStore

__all__ = [
    "DeliveryResult",
    "DeliveryStatus",
    "EnvelopeOpener",
    "OpenedEnvelope",
    "Receiver",
    "ReceiverLimits",
    "RejectedMessage",
]

_log = structlog.get_logger(__name__)


class DeliveryStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    message_id: str
    status: DeliveryStatus
    reason_code: str = ""
    reason: str = ""
    receipt: bytes = b""


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A message that decrypted and whose signatures verified."""

    sender: str
    message_id: str
    kind: int
    body: bytes
    signed_message: bytes
    created_at: datetime
    expires_at: datetime
    roster_version: int


class RejectedMessage(Exception):
    def __init__(self, code: str, reason: str, *, sender: str = "", message_id: str = "") -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason, self.sender, self.message_id = code, reason, sender, message_id


class EnvelopeOpener(Protocol):
    def open(self, data: bytes) -> OpenedEnvelope:
        """Decrypt and verify; raises RejectedMessage with the reason."""
        ...

    def sign_receipt(self, *, to: str, message_id: str, signed_message: bytes, accepted_at: datetime) -> bytes:
        """A receipt for an accepted message, signed by this node."""
        ...


class Members(Protocol):
    def is_active(self, node_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ReceiverLimits:
    max_batch_count: int = 500
    max_batch_bytes: int = 8 * 1024 * 1024
    max_envelope_bytes: int = 256 * 1024
    max_clock_skew: timedelta = timedelta(minutes=5)


class Receiver:
    def __init__(
        self,
        *,
        node_id: str,
        cases: CaseService,
        store: SqlCaseStore,
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

    def deliver(self, envelopes: Sequence[bytes], *, peer: str | None) -> list[DeliveryResult]:
        """Results in the order of `envelopes`. `peer` is the member the TLS certificate belongs to (None when
        the transport authenticates no peer, as the in-memory transport of tests)."""
        if len(envelopes) > self.limits.max_batch_count:
            raise ResourceExhausted(f"at most {self.limits.max_batch_count} envelopes per batch", field="envelopes")
        if sum(len(e) for e in envelopes) > self.limits.max_batch_bytes:
            raise ResourceExhausted(f"at most {self.limits.max_batch_bytes} bytes per batch", field="envelopes")
        results = [self._one(data, peer) for data in envelopes]
        if any(r.status is DeliveryStatus.ACCEPTED for r in results):
            self._cases.committed()
        return results

    def _one(self, data: bytes, peer: str | None) -> DeliveryResult:
        try:
            if len(data) > self.limits.max_envelope_bytes:
                raise RejectedMessage("OVERSIZE", f"an envelope is at most {self.limits.max_envelope_bytes} bytes")
            opened = self._opener.open(data)
            self._check(opened, peer)
        except RejectedMessage as rejected:
            _log.warning(
                "exchange.rejected", sender=rejected.sender, message_id=rejected.message_id, code=rejected.code
            )
            self._record_rejection(rejected)
            return DeliveryResult(rejected.message_id, DeliveryStatus.REJECTED, rejected.code, rejected.reason)
        return self._apply(opened)

    def _check(self, opened: OpenedEnvelope, peer: str | None) -> None:
        where = {"sender": opened.sender, "message_id": opened.message_id}
        if peer is not None and peer != opened.sender:
            raise RejectedMessage("PEER_MISMATCH", f"the TLS peer is {peer}, not {opened.sender}", **where)
        if not self._members().is_active(opened.sender):
            raise RejectedMessage("SENDER_NOT_ACTIVE", f"{opened.sender} is not an active member", **where)
        now = self._clock.now()
        if opened.expires_at <= now:
            raise RejectedMessage("EXPIRED", f"the message expired at {opened.expires_at.isoformat()}", **where)
        if opened.created_at > now + self.limits.max_clock_skew:
            raise RejectedMessage("FROM_THE_FUTURE", "the message is dated beyond the allowed clock skew", **where)

    def _apply(self, opened: OpenedEnvelope) -> DeliveryResult:
        now = self._clock.now()
        sender, message_id = opened.sender, opened.message_id
        with self._store.transaction() as tx:
            previous = tx.get_inbox(sender, message_id)
            if previous is not None:
                status, code, reason, stored_receipt = previous
                if status == DeliveryStatus.ACCEPTED:
                    return DeliveryResult(
                        message_id, DeliveryStatus.DUPLICATE, receipt=base64.b64decode(stored_receipt)
                    )
                return DeliveryResult(message_id, DeliveryStatus.REJECTED, code, reason)
            try:
                with tx.savepoint():
                    incoming = decode_body(opened.kind, opened.body, sender=sender)
                    if isinstance(incoming, IncomingReferral):
                        self._cases.receive_referral_txn(tx, sender, incoming)
                    elif isinstance(incoming, StatusUpdate):
                        self._cases.apply_status_update_txn(tx, sender, incoming)
                    elif isinstance(incoming, Withdrawal):
                        self._cases.apply_withdrawal_txn(tx, sender, incoming)
            except DomainError as error:
                code = type(error).__name__.upper()
                tx.put_inbox(sender, message_id, str(opened.kind), now, DeliveryStatus.REJECTED, code, str(error))
                _log.warning("exchange.rejected", sender=sender, message_id=message_id, code=code)
                return DeliveryResult(message_id, DeliveryStatus.REJECTED, code, str(error))
            receipt = self._opener.sign_receipt(
                to=sender, message_id=message_id, signed_message=opened.signed_message, accepted_at=now
            )
            tx.put_inbox(
                sender,
                message_id,
                str(opened.kind),
                now,
                DeliveryStatus.ACCEPTED,
                receipt=base64.b64encode(receipt).decode(),
            )
        return DeliveryResult(message_id, DeliveryStatus.ACCEPTED, receipt=receipt)

    def _record_rejection(self, rejected: RejectedMessage) -> None:
        """An event for the operator. Not an inbox entry: a forged or replayed copy must never block the
        genuine message with the same id."""
        now = self._clock.now()
        with self._store.transaction() as tx:
            tx.append_event(
                Event(
                    event_id=str(uuid.uuid4()),
                    kind="exchange.rejected",
                    occurred_at=now,
                    detail=f"{rejected.code} from {rejected.sender or '?'} message {rejected.message_id or '?'}",
                )
            )
