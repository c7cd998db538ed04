"""Reconciliation's types and ports: its limits, a peer's claim of an item, the refusal, the outcome, and what
the reconciliation is given (the transport, the crypto, the roster's members, the recovery of a lost referral)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from node.cases.exchange_messages import Referral
from node.exchange.delivery import OpenedEnvelope
from node.exchange.ports import ExchangeNodeTransaction

__all__ = [
    "Claim",
    "Members",
    "ReconcileCrypto",
    "ReconcileLimits",
    "ReconcileOutcome",
    "ReconcileRefused",
    "ReconcileTransport",
    "RecoverReferral",
]


@dataclass(frozen=True, slots=True)
class ReconcileLimits:
    max_range: timedelta = timedelta(days=400)
    max_items: int = 20_000  # in one view; a wider view is refused: ask for a narrower range
    max_envelope_bytes: int = 4 * 1024 * 1024
    max_clock_skew: timedelta = timedelta(minutes=5)
    ttl: timedelta = timedelta(minutes=5)


class Claim(NamedTuple):
    """What a peer claims of a shared item."""

    status_sequence: int
    withdrawn: bool


class ReconcileRefused(Exception):
    """A reconciliation request refused; `kind` is what the transport answers: "denied" (not an active member,
    or not the sender the TLS peer is), "invalid" (malformed, bad range, bad signature) or "exhausted" (too
    large)."""

    def __init__(self, kind: str, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.kind, self.code, self.message = kind, code, message


class ReconcileTransport(Protocol):
    async def reconcile(self, peer: str, envelope: bytes) -> bytes:
        """Send a sealed request to `peer` and return its sealed answer; raises TransportError."""
        ...


class ReconcileCrypto(Protocol):
    def seal(
        self, *, kind: int, body: bytes, recipient: str, message_id: str, created_at: datetime, expires_at: datetime
    ) -> bytes: ...

    def open(self, data: bytes) -> OpenedEnvelope: ...

    def verify_referral_copy(
        self, signed_referral: bytes, receipt: bytes, *, peer: str
    ) -> tuple[OpenedEnvelope, datetime]: ...


# Re-creates this node's item from its own verified referral to a peer (node.cases.federation); whether it did.
RecoverReferral = Callable[[ExchangeNodeTransaction, str, Referral, datetime], bool]


class Members(Protocol):
    def is_active(self, node_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ReconcileOutcome:
    peer: str
    agreed: bool
    differences: int  # shared items the two views differ on
    resent_here: int  # messages this node queued again for the peer
    resent_there: int  # messages the peer queued again for this node
    unrepairable: list[str] = field(default_factory=list)  # what no message can repair, one line each
    recovered: int = 0  # items this node had lost, re-created from the peer's copies of its referrals

    def as_json(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "agreed": self.agreed,
            "differences": self.differences,
            "resent_here": self.resent_here,
            "resent_there": self.resent_there,
            "unrepairable": self.unrepairable,
            "recovered": self.recovered,
        }
