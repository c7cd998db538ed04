"""The wire vocabulary both sides of the exchange share: what a delivery answers for each message
(DeliveryStatus, DeliveryResult), why a message is refused (RejectedMessage, HELD_CODES, TransportError), and
the Protocols the sender, the receiver and the transports meet at (Transport, EnvelopeReceiver,
EnvelopeSealer, EnvelopeOpener)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from node.crypto.envelope import VerifiedSignatures

__all__ = [
    "HELD_CODES",
    "DeliveryResult",
    "DeliveryStatus",
    "EnvelopeOpener",
    "EnvelopeReceiver",
    "EnvelopeSealer",
    "OpenedEnvelope",
    "ReceiptRequest",
    "RejectedMessage",
    "Transport",
    "TransportError",
]

# Refusals that say nothing about the message itself: it stays queued and goes again later.
HELD_CODES = frozenset({"SENDER_NOT_ACTIVE", "ROSTER_EXPIRED"})


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


@dataclass(frozen=True, slots=True)
class ReceiptRequest:
    """What a receipt names: the accepted message, and the exact signed bytes accepted."""

    to: str
    message_id: str
    signed_message: bytes


class TransportError(Exception):
    """Delivery failed before the peer answered for each message. Transient failures are retried."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Transport(Protocol):
    async def deliver(self, peer: str, envelopes: Sequence[bytes]) -> list[DeliveryResult]: ...


class EnvelopeReceiver(Protocol):
    """What a transport hands the envelopes it receives to (node.exchange.receiver.Receiver)."""

    def deliver(self, envelopes: Sequence[bytes], *, peer: str | None) -> list[DeliveryResult]:
        """Results in the order of `envelopes`. `peer` is the member the TLS certificate belongs to (None when
        the transport authenticates no peer)."""
        ...


class EnvelopeSealer(Protocol):
    def seal_batch(
        self,
        messages: Sequence[tuple[int, bytes, str]],
        *,
        recipient: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> list[bytes]:
        """(kind, body, message id) of each message -> its sealed envelope; the batch is signed together."""
        ...

    def verify_receipt(
        self, receipt: bytes, *, peer: str, message_id: str, verified: VerifiedSignatures | None = None
    ) -> datetime:
        """The time the peer says it accepted the message; raises RejectedMessage if the receipt is bad."""
        ...


class EnvelopeOpener(Protocol):
    def open(self, data: bytes, verified: VerifiedSignatures | None = None) -> OpenedEnvelope:
        """Decrypt and verify; raises RejectedMessage with the reason. `verified` lets the messages of one
        signed batch share the check of its signature."""
        ...

    def sign_receipts(self, requests: Sequence[ReceiptRequest], *, accepted_at: datetime) -> list[bytes]:
        """A receipt for each accepted message, signed by this node (together, over their Merkle root)."""
        ...
