"""The operator's operations on a node's database itself, which the CLI runs outside the serving process:
migrate it, open it for a command (the node may be running), back it up and restore it (the node stopped)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from node.app.resources import open_store_engine
from node.clock import Clock, SystemClock
from node.config import NodeConfig
from node.store.backup import backup_sqlite, restore_sqlite
from node.store.engine import migrate
from node.store.sql_store import SqlStore

__all__ = ["backup_database", "migrate_database", "operator_store", "restore_database"]


def migrate_database(config: NodeConfig) -> None:
    """Bring `config`'s database schema up to date (the `migrate` command; it makes a new node's database)."""
    engine = open_store_engine(config, create=True)
    try:
        migrate(engine)
    finally:
        engine.dispose()


@contextmanager
def operator_store(config: NodeConfig) -> Iterator[SqlStore]:
    """`config`'s store, migrated as `serve` would, for an operator's command (the node may be running)."""
    engine = open_store_engine(config)
    try:
        migrate(engine)
        yield SqlStore(engine)
    finally:
        engine.dispose()


def backup_database(config: NodeConfig, target: Path) -> None:
    """An online, consistent copy of `config`'s SQLite database at `target` (PostgreSQL: pg_dump, see README)."""
    backup_sqlite(config.effective_database_url(), target)


def restore_database(config: NodeConfig, source: Path | None, clock: Clock | None = None) -> datetime:
    """Replace `config`'s SQLite database with the backup at `source` (the node stopped), or, with no
    `source`, only mark a database restored by other means (pg_restore); then migrate it, and mark it restored
    so that the node reconciles with every peer when it starts. Returns the time marked."""
    if source is not None:
        restore_sqlite(config.effective_database_url(), source)
    at = (clock or SystemClock()).now()
    engine = open_store_engine(config)  # without FILE: the database restored by other means must be there
    try:
        migrate(engine)
        with SqlStore(engine).transaction() as tx:
            tx.mark_restored(at, str(source) if source is not None else "restored outside hotline-node")
    finally:
        engine.dispose()
    return at
