"""Counters of the exchange's deliveries, both ways, fed by the results each delivery call returned
(node.exchange.observed): never from inside the transaction that recorded them."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter

from node.exchange.delivery import REFUSALS, DeliveryResult, DeliveryStatus, RefusalKind, is_transient

__all__ = ["DeliveryCounters"]

_UNKNOWN_PEER = "unknown"  # a delivery over a transport that authenticates no peer (the in-memory one)
_OTHER_REASON = "OTHER"


def _reason(code: str) -> str:
    """A reason code as a label: one of the known codes (a peer's answer is a claim, and a label value per
    string it makes up would grow the series without bound), OTHER for any other, "" for none."""
    return code if not code or code in REFUSALS else _OTHER_REASON


class DeliveryCounters:
    """A node.exchange.observed.DeliveryObserver that counts."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._delivered = Counter(
            "hx_exchange_messages_delivered_total",
            "Messages this node sent that the peer accepted (result=accepted) or had already (result=duplicate).",
            ["peer", "result"],
            registry=registry,
        )
        self._refused = Counter(
            "hx_exchange_messages_refused_total",
            "Messages this node sent that the peer refused, by reason code (OTHER: one this node does not know); "
            "kind=transient ones go again later, kind=final ones never.",
            ["peer", "reason", "kind"],
            registry=registry,
        )
        self._received = Counter(
            "hx_exchange_messages_received_total",
            "Messages peers delivered to this node, by the answer it gave (accepted, duplicate, rejected) and, "
            "for a rejected one, the reason code.",
            ["peer", "result", "reason"],
            registry=registry,
        )
        self._receipts = Counter(
            "hx_exchange_receipts_total",
            "Signed receipts, by peer: direction=received, returned by the peer for a message this node sent (it "
            "is verified before the message counts as delivered; one that fails is logged as "
            "exchange.bad_receipt and the message sent again); direction=issued, signed by this node for a "
            "message the peer sent (a duplicate gets its stored receipt again).",
            ["peer", "direction"],
            registry=registry,
        )

    def delivered(self, peer: str, results: Sequence[DeliveryResult]) -> None:
        for result in results:
            if result.status is DeliveryStatus.REJECTED:
                kind = RefusalKind.TRANSIENT if is_transient(result.reason_code) else RefusalKind.FINAL
                self._refused.labels(peer, _reason(result.reason_code) or _OTHER_REASON, kind.value).inc()
            else:
                self._delivered.labels(peer, result.status.value).inc()
                if result.receipt:
                    self._receipts.labels(peer, "received").inc()

    def received(self, peer: str | None, results: Sequence[DeliveryResult]) -> None:
        for result in results:
            self._received.labels(peer or _UNKNOWN_PEER, result.status.value, _reason(result.reason_code)).inc()
            if result.status is not DeliveryStatus.REJECTED and result.receipt:
                self._receipts.labels(peer or _UNKNOWN_PEER, "issued").inc()
