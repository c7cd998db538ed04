"""Delivery results, shown to an observer (the node's metrics) after the fact: the Transport the senders use and
the EnvelopeReceiver the server hands envelopes to, wrapped. The observer sees each batch's results once the
call returned (the receiver's transaction has committed), never from inside a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from node.exchange.delivery import DeliveryResult, EnvelopeReceiver, Transport

__all__ = ["DeliveryObserver", "ObservedReceiver", "ObservedTransport"]


class DeliveryObserver(Protocol):
    def delivered(self, peer: str, results: Sequence[DeliveryResult]) -> None:
        """The answers `peer` gave to messages this node sent."""
        ...

    def received(self, peer: str | None, results: Sequence[DeliveryResult]) -> None:
        """The answers this node gave to messages `peer` (the TLS peer, if known) delivered."""
        ...


class ObservedTransport:
    def __init__(self, transport: Transport, observer: DeliveryObserver) -> None:
        self._transport, self._observer = transport, observer

    async def deliver(self, peer: str, envelopes: Sequence[bytes]) -> list[DeliveryResult]:
        results = await self._transport.deliver(peer, envelopes)
        self._observer.delivered(peer, results)
        return results


class ObservedReceiver:
    def __init__(self, receiver: EnvelopeReceiver, observer: DeliveryObserver) -> None:
        self._receiver, self._observer = receiver, observer

    def deliver(self, envelopes: Sequence[bytes], *, peer: str | None) -> list[DeliveryResult]:
        results = self._receiver.deliver(envelopes, peer=peer)
        self._observer.received(peer, results)
        return results
