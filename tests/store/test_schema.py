"""The migrated schema equals the metadata on both backends, and no column can hold content."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import LargeBinary, String, inspect, text
from sqlalchemy.types import TypeDecorator

from node.store.engine import create_store_engine, migrate
from node.store.schema import metadata


def test_the_migrated_schema_equals_the_metadata(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == []  # migrating down and up again: tests/store/test_migrations.py
    finally:
        engine.dispose()


def test_no_column_is_binary_and_every_text_column_is_bounded() -> None:
    for table in metadata.tables.values():
        for column in table.columns:
            column_type = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            assert not isinstance(column_type, LargeBinary), f"{table.name}.{column.name} is binary"
            if isinstance(column_type, String):
                assert column_type.length is not None, f"{table.name}.{column.name} is unbounded text"
    assert metadata.tables["items"].columns["url"].type.length == 8192  # type: ignore[attr-defined]


def test_the_database_itself_has_no_binary_column(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        migrate(engine)
        inspector = inspect(engine)
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                type_name = str(column["type"]).upper()
                assert not any(b in type_name for b in ("BLOB", "BYTEA", "BINARY")), f"{table}.{column['name']}"
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
