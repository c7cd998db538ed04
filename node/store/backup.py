"""Backing up and restoring a node's SQLite database: an online, consistent copy through SQLite's backup API
(the node may keep running while it is taken), and a restore that checks the file is a node's database before
it replaces anything. PostgreSQL is backed up with its own tools (pg_dump, pg_restore: see the README)."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from node.errors import FailedPrecondition, InvalidArgument

__all__ = ["backup_sqlite", "check_backup", "restore_sqlite", "sqlite_path"]

# Tables every node database has since its first revision; a file without them is not a node's database.
_REQUIRED_TABLES = frozenset({"alembic_version", "items", "outbox", "inbox"})


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite database URL; FailedPrecondition, naming pg_dump, for PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise FailedPrecondition(
            "node.database_url is PostgreSQL: back it up with pg_dump and restore it with pg_restore (README, "
            "'Backup and restore'), then run `hotline-node restore --mark-only`",
            field="node.database_url",
        )
    if not url.database or url.database == ":memory:":
        raise InvalidArgument("node.database_url names no database file", field="node.database_url")
    return Path(url.database)


def backup_sqlite(database_url: str, target: Path) -> None:
    """A consistent copy of the database at `target` (new file, readable by this user only), taken online."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise InvalidArgument(f"there is no database at {source}", field="node.database_url")
    if target.exists():
        raise InvalidArgument(f"{target} exists already: choose a new file", field="FILE")
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        raise InvalidArgument(f"cannot create {target}: {error.strerror}", field="FILE") from None
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def check_backup(path: Path) -> None:
    """Raise InvalidArgument unless `path` is an intact SQLite database of a hotline node."""
    if not path.is_file():
        raise InvalidArgument(f"{path} is not a file", field="FILE")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            intact = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError as error:
        raise InvalidArgument(f"{path} is not a SQLite database ({error})", field="FILE") from None
    if not tables >= _REQUIRED_TABLES:
        raise InvalidArgument(f"{path} is a SQLite database, but not a hotline node's", field="FILE")
    if not intact:
        raise InvalidArgument(f"{path} is damaged (SQLite's quick_check fails)", field="FILE")


def restore_sqlite(database_url: str, source: Path) -> None:
    """Replace the database's content with the backup at `source`, after checking it. Stop the node first."""
    target = sqlite_path(database_url)
    check_backup(source)
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
