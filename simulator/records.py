"""Read what the nodes recorded, straight from their stores, during a run (the timeline's counts); the end of
the run reads them through `simulator.stores`.

The simulator never trusts its own bookkeeping for outcomes: items, outbox, inbox and receipts come from
each node's database, read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select

from node.exchange.ports import OutboxStatus
from node.store import schema as t

__all__ = ["TimelineSample", "sample_node"]


def _engine(path: Path) -> Engine:
    return create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true")


@dataclass(frozen=True, slots=True)
class TimelineSample:
    node: str
    reports: int
    referrals_sent: int
    referrals_received: int
    outbox_backlog: int
    removed: int
    open_items: int


class Sampler:
    """Counts from every node's store, on one read-only engine per node (it outlives node crashes)."""

    def __init__(self, databases: dict[str, Path]) -> None:
        self._engines = {node_id: _engine(path) for node_id, path in databases.items()}

    def sample(self) -> list[TimelineSample]:
        return [sample_node(node_id, engine) for node_id, engine in self._engines.items()]

    def pending_peers(self) -> dict[str, set[str]]:
        """For each node, the peers its outbox still holds messages for."""
        o = t.outbox.c
        found: dict[str, set[str]] = {}
        for node_id, engine in self._engines.items():
            with engine.connect() as connection:
                query = select(o.peer_node).where(o.status == OutboxStatus.PENDING).distinct()
                found[node_id] = {row.peer_node for row in connection.execute(query)}
        return found

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


def sample_node(node_id: str, engine: Engine) -> TimelineSample:
    def count(query: Any) -> int:
        return int(connection.execute(query).scalar_one())

    with engine.connect() as connection:
        o, i, it = t.outbox.c, t.inbox.c, t.items.c
        return TimelineSample(
            node=node_id,
            reports=count(select(func.count()).select_from(t.reports)),
            referrals_sent=count(select(func.count()).where(o.kind == "referral", o.status == OutboxStatus.ACKED)),
            referrals_received=count(select(func.count()).where(i.kind == "referral", i.status == "accepted")),
            outbox_backlog=count(select(func.count()).where(o.status == OutboxStatus.PENDING)),
            removed=count(select(func.count()).where(it.origin_node == "", it.state == "CLOSED_REMOVED")),
            open_items=count(select(func.count()).where(it.is_open.is_(True))),
        )


def seconds_since(start: datetime, value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=start.tzinfo)
    return (value - start).total_seconds()
