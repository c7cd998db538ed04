"""Gauges read when Prometheus scrapes: each peer's outbox and link state, items by state, the trusted roster.
One read-only transaction per scrape, with queries bounded by the number of peers and states."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from node.cases.model import ItemState
from node.clock import Clock
from node.errors import StoreUnavailable
from node.metrics.ports import MetricsStore

__all__ = ["RosterView", "StoreGauges"]

_log = structlog.get_logger(__name__)


class RosterView(Protocol):
    """The trusted roster, as the gauges read it (node.exchange.membership.RosterMembership)."""

    @property
    def version(self) -> int: ...

    @property
    def expires_at(self) -> datetime: ...


class StoreGauges(Collector):
    def __init__(
        self,
        store: MetricsStore,
        clock: Clock,
        roster: Callable[[], RosterView] | None = None,
    ) -> None:
        self._store, self._clock, self._roster = store, clock, roster

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # the families are built at each scrape: no read when the collector is registered

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now = self._clock.now()
        up = GaugeMetricFamily("hx_store_up", "1 if the store answered this scrape's reads, 0 if not.")
        try:
            families = self._read(now)
        except (StoreUnavailable, SQLAlchemyError, OSError) as error:  # the store wraps what it knows as unavailable
            _log.warning("metrics.store_unreachable", error=type(error).__name__)
            up.add_metric([], 0)
            families = []
        else:
            up.add_metric([], 1)
        yield up
        yield from families
        yield from self._roster_gauges(now)

    def _read(self, now: datetime) -> list[GaugeMetricFamily]:
        with self._store.transaction(read_only=True) as tx:
            pending = tx.pending_by_peer()
            peers = tx.peer_states()
            items = tx.item_counts_by_state()
        depth = _peer_gauge("hx_exchange_outbox_pending", "Messages queued for the peer and not yet answered.")
        age = _peer_gauge(
            "hx_exchange_outbox_oldest_pending_age_seconds",
            "How long the oldest queued message has waited.",
        )
        for row in pending:
            depth.add_metric([row.peer], row.messages)
            age.add_metric([row.peer], max(0.0, (now - row.oldest_created_at).total_seconds()))
        waiting = {row.peer for row in pending}
        for peer in peers:  # a peer delivered to before, with nothing queued now: 0, not absent
            if peer.peer not in waiting:
                depth.add_metric([peer.peer], 0)
        failures = _peer_gauge("hx_exchange_peer_consecutive_failures", "Deliveries to the peer that failed in a row.")
        backoff = _peer_gauge(
            "hx_exchange_peer_backoff_remaining_seconds", "How long until the next delivery attempt; 0 when due."
        )
        success = _peer_gauge(
            "hx_exchange_peer_last_success_timestamp_seconds", "When a delivery to the peer last succeeded (Unix time)."
        )
        skew = _peer_gauge("hx_exchange_peer_clock_skew_seconds", "The peer's clock minus this node's (last measure).")
        for peer in peers:
            failures.add_metric([peer.peer], peer.failures)
            wait = (peer.next_attempt_at - now).total_seconds() if peer.next_attempt_at else 0.0
            backoff.add_metric([peer.peer], max(0.0, wait))
            if peer.last_success_at is not None:
                success.add_metric([peer.peer], peer.last_success_at.timestamp())
            if peer.clock_skew is not None:
                skew.add_metric([peer.peer], peer.clock_skew.total_seconds())
        by_state = GaugeMetricFamily("hx_items", "Items in this node's store, by state.", labels=["state"])
        for state in ItemState:
            by_state.add_metric([state.value], items.get(state.value, 0))
        return [depth, age, failures, backoff, success, skew, by_state]

    def _roster_gauges(self, now: datetime) -> list[GaugeMetricFamily]:
        if self._roster is None:
            return []  # a node without the exchange has no roster
        roster = self._roster()
        version = GaugeMetricFamily("hx_roster_version", "The version of the roster this node trusts.")
        version.add_metric([], roster.version)
        expiry = GaugeMetricFamily(
            "hx_roster_expiry_seconds", "Seconds until the trusted roster expires; negative once it has."
        )
        expiry.add_metric([], (roster.expires_at - now).total_seconds())
        return [version, expiry]


def _peer_gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=["peer"])
