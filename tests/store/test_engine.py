"""The engine factory: a new SQLite database is private to the node's user."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from node.store.engine import create_store_engine, migrate, sqlite_url


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_folder_are_readable_by_this_user_only(tmp_path: Path) -> None:
    database = tmp_path / "var" / "node" / "cases.db"
    engine = create_store_engine(sqlite_url(database))
    try:
        migrate(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM items")).scalar_one() == 0
    finally:
        engine.dispose()
    assert _mode(database.parent) == 0o700
    assert _mode(database) == 0o600
    assert not [p.name for p in database.parent.iterdir() if _mode(p) & 0o077]  # -wal and -shm too


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    """The operator's choice (a group that backs it up, say) is not undone at every start."""
    database = tmp_path / "cases.db"
    database.touch(mode=0o640)
    database.chmod(0o640)
    create_store_engine(sqlite_url(database)).dispose()
    assert _mode(database) == 0o640
