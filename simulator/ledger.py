"""The case systems' ledger, on disk: which URLs each hotline's report form sent, and which item each answered
report became at its origin node. The invariants and items.csv read it after the run.

It lives in the run directory (`ledger.db`, SQLite), not in memory, so that a year of reports (2.5 million for
inhope-2024) costs the simulator no memory as simulated time grows. It is the simulator's own bookkeeping,
never a node's: outcomes still come from the nodes' stores (simulator.records). Writes are committed in
batches and read back through the same connection, so a read sees every write before it; nothing here needs
to survive a crash of the simulator itself (no journal, no sync).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Container, Iterator, Mapping
from pathlib import Path

__all__ = ["LEDGER_DB", "Ledger"]

LEDGER_DB = "ledger.db"
_BATCH = 5000  # writes per commit
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sent (node TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (node, url)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS answered (plan TEXT PRIMARY KEY, node TEXT NOT NULL, item_id TEXT NOT NULL)",
)


class Ledger:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._pending = 0

    # -------------------------------------------------------------------------------------------- writing

    def sent(self, node: str, url: str) -> None:
        """The node's report form sent a report of `url` (answered or not: a call cut off may have landed)."""
        self._db.execute("INSERT OR IGNORE INTO sent (node, url) VALUES (?, ?)", (node, url))
        self._wrote()

    def answered(self, plan: str, node: str, item_id: str) -> None:
        """The report of plan `plan` was answered by `node` with item `item_id`."""
        self._db.execute(
            "INSERT OR REPLACE INTO answered (plan, node, item_id) VALUES (?, ?, ?)", (plan, node, item_id)
        )
        self._wrote()

    def _wrote(self) -> None:
        self._pending += 1
        if self._pending >= _BATCH:
            self._db.commit()
            self._pending = 0

    def close(self) -> None:
        self._db.commit()
        self._db.close()

    # -------------------------------------------------------------------------------------------- reading

    def sent_urls(self) -> Mapping[str, Container[str]]:
        """node -> the URLs its report form sent (a container that asks the ledger)."""
        return _SentUrls(self._db)

    def answered_items(self) -> Mapping[str, tuple[str, str]]:
        """plan -> (origin node, item id), for every report a node answered."""
        return _Answered(self._db)


class _NodeUrls(Container[str]):
    def __init__(self, db: sqlite3.Connection, node: str) -> None:
        self._db, self._node = db, node

    def __contains__(self, url: object) -> bool:
        query = "SELECT 1 FROM sent WHERE node = ? AND url = ?"
        return self._db.execute(query, (self._node, url)).fetchone() is not None


class _SentUrls(Mapping[str, Container[str]]):
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __getitem__(self, node: str) -> Container[str]:
        if self._db.execute("SELECT 1 FROM sent WHERE node = ? LIMIT 1", (node,)).fetchone() is None:
            raise KeyError(node)
        return _NodeUrls(self._db, node)

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self._db.execute("SELECT DISTINCT node FROM sent ORDER BY node"))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(DISTINCT node) FROM sent").fetchone()[0])


class _Answered(Mapping[str, tuple[str, str]]):
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __getitem__(self, plan: str) -> tuple[str, str]:
        row = self._db.execute("SELECT node, item_id FROM answered WHERE plan = ?", (plan,)).fetchone()
        if row is None:
            raise KeyError(plan)
        return (row[0], row[1])

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self._db.execute("SELECT plan FROM answered ORDER BY plan"))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM answered").fetchone()[0])

    def values(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
        """Every (origin node, item id), streamed in one query."""
        return ((row[0], row[1]) for row in self._db.execute("SELECT node, item_id FROM answered ORDER BY plan"))
