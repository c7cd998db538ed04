"""The wire vocabulary both sides of the exchange share: what a delivery answers for each message
(DeliveryStatus, DeliveryResult), why a message is refused and whether for good (RejectedMessage, REFUSALS,
TransportError), and the Protocols the sender, the receiver and the transports meet at (Transport, EnvelopeReceiver,
EnvelopeSealer, EnvelopeOpener)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from node.api._gen.hotline.exchange.v1 import messages_pb2
from node.cases.exchange_rules import REASONS
from node.crypto.envelope import VerifiedSignatures

__all__ = [
    "REFUSALS",
    "WAITING_FOR_EARLIER",
    "DeliveryResult",
    "DeliveryStatus",
    "EnvelopeOpener",
    "EnvelopeReceiver",
    "EnvelopeSealer",
    "MembershipRefused",
    "OpenedEnvelope",
    "ReceiptRequest",
    "RefusalKind",
    "RejectedMessage",
    "Transport",
    "TransportError",
    "is_transient",
]


class RefusalKind(enum.StrEnum):
    FINAL = "final"  # about the message: it would be refused again however often it came; never re-sent
    TRANSIENT = "transient"  # about the moment: not recorded as the message's answer; re-sent later, afresh


# A message refused for a transient reason because an earlier message about the same item from the same sender,
# in the same batch, was refused for one: applying it now would apply the two out of order.
WAITING_FOR_EARLIER = "WAITING_FOR_EARLIER"

# Every reason a receiver refuses a message with, in one place: final or transient. The receiver keeps a final
# refusal as the message's answer (a copy sent again gets the same answer); a transient one it does not keep, so
# the message is judged afresh when it comes again. The sender marks a finally refused message rejected and
# shows it to the operator; a transiently refused one stays queued and goes again with backoff, signed anew
# with fresh times. A code missing here (from a newer peer) is taken as final.
# Busy and restoring receivers refuse the whole call (UNAVAILABLE, RESOURCE_EXHAUSTED: TransportError with
# transient=True), never a single message: the batch is retried with the peer's backoff.
REFUSALS: dict[str, RefusalKind] = {
    # Opening and verifying the envelope (node.crypto.errors.Reason, and the receiver's own checks).
    "MALFORMED": RefusalKind.FINAL,
    "OVERSIZE": RefusalKind.FINAL,
    "UNSUPPORTED_SUITE": RefusalKind.FINAL,
    "WRONG_RECIPIENT": RefusalKind.FINAL,
    "DECRYPTION_FAILED": RefusalKind.FINAL,
    "BAD_SIGNATURE": RefusalKind.FINAL,
    "MISSING_SIGNATURE": RefusalKind.FINAL,
    "HEADER_MISMATCH": RefusalKind.FINAL,
    "PEER_MISMATCH": RefusalKind.FINAL,  # not authorised: the TLS peer is not the sender it names
    # The receiver's roster does not (yet) list the sender's key, or the sender as active: a roster change on
    # its way to one of the two nodes.
    "UNKNOWN_KEY": RefusalKind.TRANSIENT,
    "SENDER_NOT_ACTIVE": RefusalKind.TRANSIENT,
    # The receiver refuses the sender itself: suspended or revoked in the receiver's roster. Never the answer to
    # one message: a signed refusal of the whole call (MembershipRefused). Final for the roster version: the
    # sender shows it to its operator and sends that receiver nothing until its own roster changes; its messages
    # stay queued (held, never lost).
    "SENDER_SUSPENDED": RefusalKind.FINAL,
    "SENDER_REVOKED": RefusalKind.FINAL,
    # The receiver's trusted roster has expired: it refuses until the authority's newer one arrives.
    "ROSTER_EXPIRED": RefusalKind.TRANSIENT,
    # The message's times against the receiver's clock: clock skew, or a message that waited too long. The
    # message is signed again with fresh times when it is re-sent.
    "EXPIRED": RefusalKind.TRANSIENT,
    "NOT_YET_VALID": RefusalKind.TRANSIENT,
    "FROM_THE_FUTURE": RefusalKind.TRANSIENT,
    # Applying the message (node.errors.DomainError subclasses, by class name).
    "INVALIDARGUMENT": RefusalKind.FINAL,
    "FAILEDPRECONDITION": RefusalKind.FINAL,  # not authorised, or the item's state forbids it
    "PERMISSIONDENIED": RefusalKind.FINAL,
    "UNAUTHENTICATED": RefusalKind.FINAL,
    "ALREADYEXISTS": RefusalKind.FINAL,
    # The item is not known yet: its referral may still be on its way. (A withdrawal is held rather than refused:
    # node.exchange.holding.)
    "NOTFOUND": RefusalKind.TRANSIENT,
    "ABORTED": RefusalKind.TRANSIENT,  # a concurrent change conflicted
    "STOREUNAVAILABLE": RefusalKind.TRANSIENT,  # the receiver's database did not answer
    "RESOURCEEXHAUSTED": RefusalKind.TRANSIENT,  # the receiver is busy
    WAITING_FOR_EARLIER: RefusalKind.TRANSIENT,
    # The authority rules of the case domain (node.cases.exchange_rules), final or transient as they declare.
    **{str(reason): RefusalKind.FINAL if final else RefusalKind.TRANSIENT for reason, (final, _) in REASONS.items()},
}


def is_transient(code: str) -> bool:
    """Whether a refusal with this reason code is about the moment (the message goes again later)."""
    return REFUSALS.get(code, RefusalKind.FINAL) is RefusalKind.TRANSIENT


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
    # The receiver's clock when it answered (receipts and refusals alike): lets the sender measure its skew.
    receiver_time: datetime | None = None


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


class MembershipRefused(TransportError):
    """The peer refused this node itself (suspended or revoked in its roster): `refusal` is its signed
    MembershipRefusal, to be verified (EnvelopeSealer.verify_refusal) before it is believed."""

    def __init__(self, peer: str, refusal: bytes) -> None:
        super().__init__(f"{peer} refused this node (a signed membership refusal)", transient=False)
        self.peer, self.refusal = peer, refusal


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

    def verify_refusal(self, refusal: bytes, *, peer: str) -> messages_pb2.MembershipRefusal:
        """The peer's signed refusal of this node; raises RejectedMessage if it is not one."""
        ...


class EnvelopeOpener(Protocol):
    def open(self, data: bytes, verified: VerifiedSignatures | None = None) -> OpenedEnvelope:
        """Decrypt and verify; raises RejectedMessage with the reason. `verified` lets the messages of one
        signed batch share the check of its signature."""
        ...

    def sign_receipts(self, requests: Sequence[ReceiptRequest], *, accepted_at: datetime) -> list[bytes]:
        """A receipt for each accepted message, signed by this node (together, over their Merkle root)."""
        ...
