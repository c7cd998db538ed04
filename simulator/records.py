"""Read what the nodes recorded, straight from their stores, after a run (and, for the timeline, during it).

The simulator never trusts its own bookkeeping for outcomes: items, outbox, inbox and receipts come from
each node's database, read-only, through the node's own schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, create_engine, func, select

from node.cases.exchange_messages import Referral, from_outbox
from node.exchange.ports import OutboxStatus
from node.store import schema as t

__all__ = ["NodeRecords", "TimelineSample", "read_records", "sample_node"]


@dataclass
class NodeRecords:
    node_id: str
    items: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)

    def outbox_referral(self, row: dict[str, Any]) -> Referral:
        """The referral an outbox row of kind "referral" carries, read by the node's own outbox JSON reader."""
        message = from_outbox(row["kind"], row["body"])
        if not isinstance(message, Referral):
            raise ValueError(f"outbox message {row['message_id']} is a {row['kind']}, not a referral")
        return message


def _engine(path: Path) -> Engine:
    return create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true")


def _rows(engine: Engine, table: Any, columns: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(*columns) if columns else select(table))]


# What the invariants and items.csv read of each table, and no more: a year's stores hold millions of rows,
# and the outbox bodies (JSON) of status updates are the largest part; only referrals' bodies are read.
_I, _O, _N, _R, _A = t.items.c, t.outbox.c, t.inbox.c, t.receipts.c, t.actions.c
_ITEM_COLUMNS = (
    _I.item_id,
    _I.url,
    _I.origin_node,
    _I.origin_item_id,
    _I.referred_by,
    _I.referred_to,
    _I.assigned_node,
    _I.state,
    _I.status_sequence,
    _I.route,
    _I.classification,
    _I.closed_at,
    _I.first_reported_at,
    _I.known_content,
    _I.lea_notified_at,
    _I.ntd_sent_at,
)
_OUTBOX_COLUMNS = (
    _O.message_id,
    _O.kind,
    _O.status,
    _O.peer_node,
    _O.item_id,
    _O.created_at,
    _O.last_error,
    case((_O.kind == "referral", _O.body), else_="").label("body"),
)
_INBOX_COLUMNS = (_N.sender, _N.message_id, _N.kind, _N.status)
_RECEIPT_COLUMNS = (_R.message_id, _R.recorded_at)
_ACTION_COLUMNS = (_A.item_id, _A.type)


def read_records(databases: dict[str, Path]) -> dict[str, NodeRecords]:
    records = {}
    for node_id, path in databases.items():
        engine = _engine(path)
        try:
            records[node_id] = NodeRecords(
                node_id,
                items=_rows(engine, t.items, _ITEM_COLUMNS),
                outbox=_rows(engine, t.outbox, _OUTBOX_COLUMNS),
                inbox=_rows(engine, t.inbox, _INBOX_COLUMNS),
                receipts=_rows(engine, t.receipts, _RECEIPT_COLUMNS),
                actions=_rows(engine, t.actions, _ACTION_COLUMNS),
                holds=_rows(engine, t.holds),
            )
        finally:
            engine.dispose()
    return records


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
