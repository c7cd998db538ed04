"""The store tests' shared fixtures: a migrated engine and its store, on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from node.store.engine import create_store_engine, migrate
from node.store.sql_store import SqlStore


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    e = create_store_engine(database_url)
    migrate(e)
    yield e
    e.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    return SqlStore(engine)
