"""No column can hold content: nothing is binary, and every text column is bounded (URLs by 8 KiB).

Checked twice: on the metadata (the DDL each backend would get) and on the migrated database itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    PickleType,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import JSON, TypeDecorator, TypeEngine

from node.cases.urls import MAX_URL_BYTES
from node.store.engine import create_store_engine, migrate
from node.store.schema import URL_CHARS, metadata

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
URL_COLUMNS = {("items", "url"), ("reports", "referrer_url")}
# The only kinds of column the node needs: bounded text, integers, booleans and timestamps.
ALLOWED = (String, Integer, BigInteger, Boolean, DateTime)
BINARY_WORDS = ("BLOB", "BYTEA", "BINARY", "BYTES")


def _columns() -> list[tuple[str, Column[object]]]:
    return [(table.name, column) for table in metadata.tables.values() for column in table.columns]


def _resolved(column_type: TypeEngine[object], dialect_name: str) -> TypeEngine[object]:
    """The type a backend actually gets: its variant if any, then through any TypeDecorator."""
    resolved = column_type._variant_mapping.get(dialect_name, column_type)
    while isinstance(resolved, TypeDecorator):
        resolved = resolved.impl_instance
    return resolved


@pytest.mark.parametrize("dialect_name", sorted(DIALECTS))
def test_every_column_is_bounded_text_a_number_a_flag_or_a_time(dialect_name: str) -> None:
    for table, column in _columns():
        where = f"{table}.{column.name} ({dialect_name})"
        resolved = _resolved(column.type, dialect_name)
        assert not isinstance(resolved, LargeBinary | PickleType | JSON), f"{where} could hold content"
        assert isinstance(resolved, ALLOWED), f"{where} has an unexpected type {resolved!r}"
        if isinstance(resolved, String):
            assert not isinstance(resolved, Text), f"{where} is unbounded Text"
            assert resolved.length is not None and resolved.length > 0, f"{where} has no length"
        ddl = resolved.compile(dialect=DIALECTS[dialect_name]).upper()
        assert not any(word in ddl for word in BINARY_WORDS), f"{where} compiles to {ddl}"
        assert ddl != "TEXT", f"{where} compiles to TEXT"


def test_the_checks_above_would_catch_binary_and_unbounded_columns() -> None:
    """A control: the same resolution spots each kind of column the schema must never have."""
    probe = Table(
        "probe",
        MetaData(),
        Column("a", LargeBinary()),
        Column("b", postgresql.BYTEA()),
        Column("c", Text()),
        Column("d", String()),
        Column("e", Integer().with_variant(LargeBinary(), "sqlite")),
    )
    found = []
    for column in probe.columns:
        for dialect_name in DIALECTS:
            resolved = _resolved(column.type, dialect_name)
            binary = isinstance(resolved, LargeBinary)
            unbounded = isinstance(resolved, String) and (isinstance(resolved, Text) or resolved.length is None)
            if binary or unbounded:
                found.append(column.name)
                break
    assert found == ["a", "b", "c", "d", "e"]


def test_url_columns_are_bounded_by_8_kib_and_the_normaliser_uses_the_same_bound() -> None:
    url_like = {
        (table, column.name) for table, column in _columns() if "url" in column.name and column.name != "url_key"
    }
    assert url_like == URL_COLUMNS
    for table, name in URL_COLUMNS:
        column_type = metadata.tables[table].columns[name].type
        assert isinstance(column_type, String) and column_type.length == 8192
    assert URL_CHARS == MAX_URL_BYTES == 8192
    key = metadata.tables["items"].columns["url_key"].type
    assert isinstance(key, String) and key.length == 64  # a SHA-256 hex digest, not the URL


def test_hashes_are_stored_as_bounded_hex_digests() -> None:
    for table in ("item_hashes", "known_hashes"):
        digest = metadata.tables[table].columns["digest"].type
        assert isinstance(digest, String) and digest.length == 64  # 32 bytes as hex: the largest digest


@pytest.fixture
def migrated(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_the_migrated_database_has_no_binary_and_no_unbounded_column(migrated: Engine) -> None:
    inspector = inspect(migrated)
    seen = 0
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for column in inspector.get_columns(table):
            seen += 1
            where = f"{table}.{column['name']}"
            type_name = str(column["type"]).upper()
            assert not any(word in type_name for word in BINARY_WORDS), f"{where} is {type_name}"
            assert type_name != "TEXT", f"{where} is unbounded TEXT"
            if isinstance(column["type"], String):
                assert column["type"].length is not None, f"{where} is {type_name} without a length"
            if (table, column["name"]) in URL_COLUMNS:
                assert isinstance(column["type"], String) and column["type"].length == 8192, where
    assert seen == sum(len(t.columns) for t in metadata.tables.values())


def test_postgres_catalogue_has_no_bytea_text_or_json_column(postgres_url: str) -> None:
    engine = create_store_engine(postgres_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT table_name, column_name, data_type, character_maximum_length "
                    "FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
                )
            ).all()
    finally:
        engine.dispose()
    assert rows, "the catalogue query found no columns"
    kinds = {row.data_type for row in rows}
    assert kinds <= {"character varying", "integer", "bigint", "boolean", "timestamp with time zone"}, kinds
    unbounded = [
        f"{r.table_name}.{r.column_name}"
        for r in rows
        if r.data_type == "character varying" and not r.character_maximum_length
    ]
    assert unbounded == []
    urls = {
        (r.table_name, r.column_name): r.character_maximum_length
        for r in rows
        if (r.table_name, r.column_name) in URL_COLUMNS
    }
    assert urls == dict.fromkeys(URL_COLUMNS, 8192)
