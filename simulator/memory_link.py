"""The deterministic mode's network link: deliveries through the in-memory transport (the same sealing,
opening, verification and receipts as over gRPC, without sockets), delayed and cut on virtual time.

Each delivery pays the link's modelled one-way latency out and again back (the receipts), plus whatever the
fault timeline puts on the link: partitions refuse it, latency and jitter add to it, loss adds
retransmission delays, drawn as the live fault proxy draws them per chunk, but from a stream named by the
link and the simulated moment of the delivery (`simulator.streams`), not from one generator shared in the
order deliveries happen: a delivery's fate then depends on nothing else going on in the network, and a
change elsewhere leaves it alone (common random numbers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from node.exchange.delivery import DeliveryResult, TransportError
from node.exchange.memory import InMemoryNetwork, InMemoryTransport
from simulator.proxy import LinkRules
from simulator.streams import Stream

__all__ = ["SimLink"]


class SimLink:
    def __init__(
        self,
        sender: str,
        network: InMemoryNetwork,
        rules: LinkRules,
        latency_seconds: Callable[[str, str], float],
        run_blocking: Callable[..., Awaitable[Any]],
        *,
        seed: int = 0,
    ) -> None:
        """`latency_seconds(a, b)`: the modelled one-way latency from a to b, before faults; `seed` names
        the run's streams."""
        self._seed = seed
        self._sender = sender
        self._rules = rules
        self._latency = latency_seconds
        self._inner = InMemoryTransport(sender, network, run_blocking)

    def _check(self, peer: str) -> None:
        if self._rules.blocked(self._sender, peer) or self._rules.blocked(peer, self._sender):
            raise TransportError(f"{peer} is unreachable (partition)", transient=True)

    async def deliver(self, peer: str, envelopes: Sequence[bytes]) -> list[DeliveryResult]:
        self._check(peer)
        moment = round(asyncio.get_running_loop().time() * 1_000_000)  # simulated microseconds
        draws = Stream(self._seed, "link", f"{self._sender}>{peer}@{moment}")
        out, back = self._rules.transit(self._sender, peer, draws), self._rules.transit(peer, self._sender, draws)
        if out.reset or back.reset:
            raise TransportError(f"the connection to {peer} was reset", transient=True)
        await asyncio.sleep(self._latency(self._sender, peer) + out.delay)
        self._check(peer)  # a partition that came up while the batch was on its way cuts it off
        results = await self._inner.deliver(peer, envelopes)
        await asyncio.sleep(self._latency(peer, self._sender) + back.delay)
        return results
