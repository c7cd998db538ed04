"""In-memory transport: delivers a batch by calling the recipient node's Receiver directly.

For tests and the simulator's deterministic mode: the same sealing, opening, verification and transactions
as over gRPC, without sockets. The sender's identity is what mutual TLS would have proved. A partition
between two nodes makes delivery fail as a transient error, as a dropped connection would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from node.errors import ResourceExhausted
from node.exchange.delivery import DeliveryResult, EnvelopeReceiver, TransportError
from node.exchange.reconcile import ReconcileRefused

__all__ = ["InMemoryNetwork", "InMemoryTransport"]


class InMemoryNetwork:
    def __init__(self) -> None:
        self.receivers: dict[str, EnvelopeReceiver] = {}
        # Each node's answer to a reconciliation request (node.exchange.reconcile.Reconciliation.answer).
        self.reconcilers: dict[str, Callable[..., bytes]] = {}
        self._cut: set[frozenset[str]] = set()

    def partition(self, a: str, b: str) -> None:
        self._cut.add(frozenset({a, b}))

    def heal(self, a: str | None = None, b: str | None = None) -> None:
        if a is None or b is None:
            self._cut.clear()
        else:
            self._cut.discard(frozenset({a, b}))

    def reachable(self, a: str, b: str) -> bool:
        return frozenset({a, b}) not in self._cut and b in self.receivers


class InMemoryTransport:
    def __init__(self, sender: str, network: InMemoryNetwork, run_blocking: Callable[..., Awaitable[Any]]) -> None:
        self._sender = sender
        self._network = network
        self._run = run_blocking

    async def deliver(self, peer: str, envelopes: Sequence[bytes]) -> list[DeliveryResult]:
        if not self._network.reachable(self._sender, peer):
            raise TransportError(f"{peer} is unreachable", transient=True)
        receiver = self._network.receivers[peer]
        try:
            results: list[DeliveryResult] = await self._run(
                lambda: receiver.deliver(list(envelopes), peer=self._sender)
            )
        except ResourceExhausted as error:
            raise TransportError(str(error), transient=True) from error
        return results

    async def reconcile(self, peer: str, envelope: bytes) -> bytes:
        if not self._network.reachable(self._sender, peer) or peer not in self._network.reconcilers:
            raise TransportError(f"{peer} is unreachable", transient=True)
        answer = self._network.reconcilers[peer]
        try:
            sealed: bytes = await self._run(lambda: answer(envelope, peer=self._sender))
        except ReconcileRefused as error:
            raise TransportError(f"{error.kind.upper()}: {error}", transient=False) from error
        return sealed
