"""Engine factory: SQLite (WAL) by default, PostgreSQL in production; and schema migration to head."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from node.store.direct import run_driver_sql
from node.store.schema import metadata

__all__ = ["alembic_config", "create_store_engine", "downgrade", "migrate", "sqlite_url", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path | str) -> str:
    return f"sqlite+pysqlite:///{path}"


def create_store_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys, a busy timeout and write-locking transactions, and a
    new database file readable by this user only. Errors and echoed statements never show parameter values
    (`hide_parameters`): they are reporters' and analysts' data, which logs must not keep."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private(Path(parsed.database))
        engine = create_engine(url, echo=echo, pool_size=8, max_overflow=8, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # A server that does not answer fails a connection within 5 s (unless the URL sets connect_timeout), so
        # the caller hears UNAVAILABLE rather than a database thread waiting out the system's TCP timeout.
        timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
        return create_engine(
            parsed,
            echo=echo,
            pool_size=16,
            max_overflow=8,
            pool_pre_ping=True,
            hide_parameters=True,
            connect_args=timeout,
        )
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def _create_private(database: Path) -> None:
    """A new SQLite database holds a hotline's cases: its folder is made 0700 and the file 0600 before SQLite
    opens it (SQLite gives its -wal and -shm files the database file's mode). Existing ones are left as they
    are."""
    if not database.parent.exists():
        database.parent.mkdir(parents=True, mode=0o700)
    if not database.exists():
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front, so two writers never deadlock upgrading read locks.
        mode = "DEFERRED" if connection.info.get("read_only") else "IMMEDIATE"
        run_driver_sql(connection, f"BEGIN {mode}")  # on the cursor: SQLAlchemy's path costs several times more


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic. A database with no tables at all that is to reach head is
    created from node.store.schema and stamped head in one step, as Alembic advises for a new database:
    replaying every migration (several rebuild SQLite tables) takes some 70 ms on SQLite, creating it 10 ms.
    tests/store/test_fresh_schema.py checks that both ways give the same schema."""

    def step(config: Config) -> None:
        connection = config.attributes["connection"]
        # Looked at inside the migration's transaction (on SQLite, it holds the write lock): of two processes
        # starting on one new database, the second finds the tables the first created.
        if revision == "head" and not inspect(connection).get_table_names():
            _create_current_schema(connection)
        else:
            command.upgrade(config, revision)

    _run_migrations(engine, step)


def upgrade(engine: Engine, revision: str) -> None:
    """Replay the migrations up to `revision`, on any database (migrate() creates a new one in one step)."""
    _run_migrations(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back down to `revision` with Alembic, keeping the rows that the older schema can hold."""
    _run_migrations(engine, lambda config: command.downgrade(config, revision))


def alembic_config() -> Config:
    """Alembic's configuration of this store: where its migrations are."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _create_current_schema(connection: Connection) -> None:
    """Create every table (with the audit log's triggers, attached to the metadata) on an empty database, and
    record it as at the newest revision, in the caller's transaction."""
    metadata.create_all(connection, checkfirst=False)
    MigrationContext.configure(connection).stamp(_scripts(str(_MIGRATIONS)), "head")


@functools.cache
def _scripts(location: str) -> ScriptDirectory:
    """The migrations in `location`, loaded once per process (finding the head reads every revision file)."""
    return ScriptDirectory(location)


def _run_migrations(engine: Engine, step: Callable[[Config], None]) -> None:
    """Run one Alembic command in one transaction, on a connection handed to migrations/env.py."""
    config = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # On SQLite, Alembic changes a table by rebuilding it (batch mode: copy, DROP, rename). With foreign
            # keys enforced, dropping a table that other tables' rows reference fails, so enforcement is off
            # while migrations run (the PRAGMA has no effect inside a transaction, so it is set before BEGIN).
            # The check below then proves every reference still holds before anything is committed.
            _sqlite_pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        tables = sorted({str(row[0]) for row in broken})
                        raise RuntimeError(
                            f"the migration left {len(broken)} broken foreign key reference(s) in "
                            f"{', '.join(tables)}; nothing was changed"
                        )
        finally:
            if sqlite:
                _sqlite_pragma(connection, "foreign_keys=ON")


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """Run a PRAGMA on the driver connection itself: through SQLAlchemy it would begin a transaction first."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
