"""The nodes' stores after a run, read in bounded memory: the end of a run (the invariants, items.csv) reads them
through `EndStores`, row by row, never all of a table at once (a year holds millions of rows per node).

Each node's database is opened read-only (plain sqlite3: the end of the run only reads strings, numbers and the
stored UTC times). What needs more than one node's rows is looked up per row in the other node's store, or in a
scratch database built once from every outbox: the referrals (with the origin each one names, read by the node's
own outbox JSON reader), and the receipts of those referrals. The scratch database lives in a temporary folder
that `close` removes.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node.cases.exchange_messages import Referral, from_outbox

__all__ = ["EndStores", "parse_time"]

_CHUNK = 2000  # rows per fetch and per scratch insert
_CACHE_KIB = 512  # page cache per node's connection (SQLite's default is 2 MiB: 55 nodes would hold 110 MiB)

_SCRATCH = (
    # Every outbox row of kind "referral" of every node; origin_* only for honest senders (as the invariants read).
    """CREATE TABLE referrals (sender TEXT NOT NULL, node_index INTEGER NOT NULL, honest INTEGER NOT NULL,
        outbox_id INTEGER NOT NULL, message_id TEXT NOT NULL, peer TEXT NOT NULL, status TEXT NOT NULL,
        item_id TEXT NOT NULL, created_at TEXT NOT NULL, origin_node TEXT, origin_item_id TEXT)""",
    # Receipts of referrals, from every node's store (node_index: which store holds it; the last one counts).
    "CREATE TABLE receipts (message_id TEXT NOT NULL, node_index INTEGER NOT NULL, recorded_at TEXT NOT NULL)",
    # Every node's items referred to it (origin set), with their notice times: where an item was referred on.
    """CREATE TABLE referred_items (origin_node TEXT NOT NULL, origin_item_id TEXT NOT NULL, node TEXT NOT NULL,
        item_id TEXT NOT NULL, lea_notified_at TEXT, ntd_sent_at TEXT)""",
)
_SCRATCH_INDEXES = (
    "CREATE INDEX referrals_sender ON referrals (sender, outbox_id)",
    "CREATE INDEX referrals_item ON referrals (sender, item_id, created_at, outbox_id)",
    "CREATE INDEX referrals_sent ON referrals (peer, origin_node, origin_item_id, honest)",
    "CREATE INDEX referrals_message ON referrals (message_id)",
    "CREATE INDEX receipts_message ON receipts (message_id, node_index)",
    "CREATE INDEX referred_items_origin ON referred_items (origin_node, origin_item_id)",
)


def parse_time(value: str | None) -> datetime | None:
    """A stored time (SQLite keeps UTC times without a zone, as node.store.schema.UtcDateTime writes them)."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class EndStores:
    """Read-only access to every node's store, and the scratch database of referrals. `honest`: the nodes whose
    records the invariants check (every node but the rogue members)."""

    def __init__(self, databases: dict[str, Path], honest: Iterable[str], scratch_parent: Path | None = None) -> None:
        self.node_ids = list(databases)
        self.honest = [n for n in self.node_ids if n in set(honest)]
        self._paths = dict(databases)
        self._connections: dict[str, sqlite3.Connection] = {}
        self._folder = tempfile.TemporaryDirectory(prefix=".end-of-run-", dir=scratch_parent)
        self.scratch = sqlite3.connect(f"file:{Path(self._folder.name) / 'scratch.db'}", uri=True, isolation_level=None)
        self.scratch.execute("PRAGMA journal_mode = OFF")
        self.scratch.execute("PRAGMA synchronous = OFF")
        for statement in _SCRATCH:
            self.scratch.execute(statement)
        self._build()

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._paths

    def connection(self, node_id: str) -> sqlite3.Connection:
        """The node's store, read-only (opened once, kept until `close`)."""
        connection = self._connections.get(node_id)
        if connection is None:
            connection = sqlite3.connect(f"file:{self._paths[node_id]}?mode=ro", uri=True)
            connection.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            self._connections[node_id] = connection
        return connection

    def rows(self, node_id: str, query: str, parameters: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of a query on the node's store, fetched in chunks."""
        return _chunked(self.connection(node_id).execute(query, parameters))

    def one(self, node_id: str, query: str, parameters: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.connection(node_id).execute(query, parameters).fetchone()
        return row

    def scratch_rows(self, query: str, parameters: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        return _chunked(self.scratch.execute(query, parameters))

    def scratch_one(self, query: str, parameters: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.scratch.execute(query, parameters).fetchone()
        return row

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        self.scratch.close()
        self._folder.cleanup()

    def __enter__(self) -> EndStores:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------ building

    def _build(self) -> None:
        honest = set(self.honest)
        insert = "INSERT INTO referrals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        query = (
            "SELECT outbox_id, message_id, peer_node, status, item_id, created_at, body FROM outbox "
            "WHERE kind = 'referral' ORDER BY outbox_id"
        )
        self.scratch.execute("BEGIN")
        for index, node_id in enumerate(self.node_ids):
            batch: list[tuple[Any, ...]] = []
            for outbox_id, message_id, peer, status, item_id, created_at, body in self.rows(node_id, query):
                origin_node = origin_item_id = None
                if node_id in honest:
                    referral = _referral(message_id, body)
                    origin_node, origin_item_id = referral.origin_node, referral.origin_item_id
                fields = (outbox_id, message_id, peer, status, item_id, created_at, origin_node, origin_item_id)
                batch.append((node_id, index, int(node_id in honest), *fields))
                if len(batch) >= _CHUNK:
                    self.scratch.executemany(insert, batch)
                    batch.clear()
            self.scratch.executemany(insert, batch)
        self.scratch.execute(_SCRATCH_INDEXES[3])
        self.scratch.execute("COMMIT")
        for index, node_id in enumerate(self.node_ids):
            self.scratch.execute("ATTACH DATABASE ? AS node", (f"file:{self._paths[node_id]}?mode=ro",))
            try:
                self.scratch.execute(
                    "INSERT INTO receipts SELECT r.message_id, ?, r.recorded_at FROM node.receipts r "
                    "WHERE r.message_id IN (SELECT message_id FROM main.referrals)",
                    (index,),
                )
                self.scratch.execute(
                    "INSERT INTO referred_items SELECT origin_node, origin_item_id, ?, item_id, lea_notified_at, "
                    "ntd_sent_at FROM node.items WHERE origin_node != '' AND origin_item_id != ''",
                    (node_id,),
                )
            finally:
                self.scratch.execute("DETACH DATABASE node")
        for statement in _SCRATCH_INDEXES:
            if statement != _SCRATCH_INDEXES[3]:
                self.scratch.execute(statement)


def _referral(message_id: str, body: str) -> Referral:
    """The referral an outbox row of kind "referral" carries, read by the node's own outbox JSON reader."""
    message = from_outbox("referral", body)
    if not isinstance(message, Referral):
        raise ValueError(f"outbox message {message_id} is not a referral")
    return message


def _chunked(cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(_CHUNK):
        yield from rows
