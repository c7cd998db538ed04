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

from sqlalchemy import Engine, create_engine, event, func, select

from node.exchange.ports import OutboxStatus
from node.store import schema as t

__all__ = ["SAMPLER_CACHE_KIB", "TimelineSample", "sample_node"]

# The page cache of each read-only connection. The sampler counts once a sample (inhope-2024: once a simulated
# day) and looks at the outboxes while draining: SQLite's default 2 MiB per connection filled up with the pages
# of those counts as each node's tables grew, some 110 MiB for inhope-2024's 55 nodes beside the nodes' own
# caches, and still growing after a month, for no speed worth having (the pages are in the OS's cache).
SAMPLER_CACHE_KIB = 128


def _engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true")

    @event.listens_for(engine, "connect")
    def _small_cache(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size = -{SAMPLER_CACHE_KIB}")
        cursor.close()

    return engine


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


_O, _I, _IT = t.outbox.c, t.inbox.c, t.items.c
# The timeline's counts in one statement, built once: a sample of 55 nodes a simulated day, all year, was six
# statements each, built anew every time.
_SAMPLE = select(
    *(
        select(func.count()).where(*where).select_from(table).scalar_subquery().label(name)
        for name, table, where in (
            ("reports", t.reports, ()),
            ("referrals_sent", t.outbox, (_O.kind == "referral", _O.status == OutboxStatus.ACKED)),
            ("referrals_received", t.inbox, (_I.kind == "referral", _I.status == "accepted")),
            ("outbox_backlog", t.outbox, (_O.status == OutboxStatus.PENDING,)),
            ("removed", t.items, (_IT.origin_node == "", _IT.state == "CLOSED_REMOVED")),
            ("open_items", t.items, (_IT.is_open.is_(True),)),
        )
    )
)


def sample_node(node_id: str, engine: Engine) -> TimelineSample:
    with engine.connect() as connection:
        counts = connection.execute(_SAMPLE).one()._asdict()
    return TimelineSample(node=node_id, **{name: int(value) for name, value in counts.items()})


def seconds_since(start: datetime, value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=start.tzinfo)
    return (value - start).total_seconds()
