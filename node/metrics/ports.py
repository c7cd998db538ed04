"""What the metrics read from a store at scrape time, written as contracts. node.store implements it (its
txn/metrics_reads.py and txn/outbox.py); node.metrics imports nothing from node.store."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from node.exchange.ports import PeerState, PendingDepth

__all__ = ["MetricsStore", "MetricsTransaction", "PendingDepth"]


class MetricsTransaction(Protocol):
    """Reads only, each bounded by the number of peers or item states, never by the rows returned."""

    def pending_by_peer(self) -> list[PendingDepth]:
        """Every peer with at least one PENDING outbox message, by peer id."""
        ...

    def item_counts_by_state(self) -> dict[str, int]:
        """How many items are in each state; a state no item is in is absent."""
        ...

    def peer_states(self) -> list[PeerState]:
        """Every peer this node has a delivery or clock record of, by peer id."""
        ...


class MetricsStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[MetricsTransaction]:
        """A unit of work; the metrics open read-only ones, which MUST NOT wait for writers."""
        ...
