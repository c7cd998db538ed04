"""Shared fixtures: a database on each backend, a built node, and a node serving on loopback.

PostgreSQL: HX_TEST_POSTGRES_URL names an admin connection (default: postgres@127.0.0.1:5432/test). Each
test gets a fresh database. Without a reachable server these tests skip with the reason, except when
CI=true, where they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from node.api.client import NodeClient
from node.app import Node, build_node
from node.cases.model import Principal, Role
from node.clock import ManualClock
from node.config import NodeConfig, parse_config
from node.hosting import HostingFacts, StaticResolver

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Synthetic hosting: reserved domains, documentation-range addresses.
HOSTING = {
    "nl.host.example": HostingFacts("192.0.2.10", "NL", 64500, "Example Hosting NL", False, "static"),
    "de.host.example": HostingFacts("198.51.100.20", "DE", 64501, "Example Hosting DE", False, "static"),
    "fr.host.example": HostingFacts("198.51.100.30", "FR", 64502, "Example Hosting FR", False, "static"),
    "br.host.example": HostingFacts("203.0.113.30", "BR", 64503, "Example Hosting BR", False, "static"),
    "cdn.host.example": HostingFacts("203.0.113.40", "US", 13335, "Example CDN", True, "static"),
}


def _postgres_admin_url() -> str:
    return os.environ.get("HX_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a reachable PostgreSQL server, or a skip (a failure when CI=true)."""
    url = _postgres_admin_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means: no server here
        reason = f"PostgreSQL not reachable at {make_url(url).render_as_string(hide_password=True)}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests are required)")
        pytest.skip(reason)
    finally:
        engine.dispose()
    yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"hx_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+pysqlite:///{tmp_path / 'node.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def node_config(database_url: str, **node: Any) -> NodeConfig:
    """A test node: nl-hotline (NL), with de-hotline (DE) and two French hotlines as members."""
    raw = {
        "node": {
            "id": "nl-hotline",
            "jurisdiction": "NL",
            "database_url": database_url,
            "listen": "127.0.0.1:0",
            **node,
        },
        "membership": {
            "fallback": "direct",
            "members": [
                {"node_id": "de-hotline", "jurisdictions": ["DE"]},
                {"node_id": "fr-hotline-a", "jurisdictions": ["FR"], "designated_for": ["FR"]},
                {"node_id": "fr-hotline-b", "jurisdictions": ["FR"]},
            ],
        },
    }
    return parse_config(raw, {})


@pytest.fixture
def make_node(clock: ManualClock) -> Iterator[Callable[..., Node]]:
    built: list[Node] = []

    def make(database_url: str, **node: Any) -> Node:
        n = build_node(node_config(database_url, **node), clock=clock, resolver=StaticResolver(HOSTING))
        built.append(n)
        return n

    yield make
    for n in built:
        n.executor.shutdown(wait=False)
        n.engine.dispose()


@pytest.fixture
def node(make_node: Callable[..., Node], database_url: str) -> Node:
    """A built node (not serving) on each backend."""
    return make_node(database_url)


ANALYST = Principal("t-analyst", "analyst-1", frozenset({Role.ANALYST}))
INTAKE = Principal("t-intake", "report-form", frozenset({Role.INTAKE}))
# The hotline's own hashing tool: the hashes it sends are trusted (they match and teach known content).
HASHER = Principal("t-hasher", "hashing-tool", frozenset({Role.INTAKE, Role.HASHER}))
LEA = Principal("t-lea", "police-1", frozenset({Role.LEA}))


@dataclass
class Served:
    """A node serving its API on loopback, with one client per role (and one with no token)."""

    node: Node
    clock: ManualClock
    target: str
    tokens: dict[Role, str]
    clients: dict[Role, NodeClient]
    anonymous: NodeClient

    @property
    def intake(self) -> NodeClient:
        return self.clients[Role.INTAKE]

    @property
    def analyst(self) -> NodeClient:
        return self.clients[Role.ANALYST]

    @property
    def lea(self) -> NodeClient:
        return self.clients[Role.LEA]

    @property
    def admin(self) -> NodeClient:
        return self.clients[Role.ADMIN]


async def serve_node(node: Node, clock: ManualClock) -> Served:
    tokens = {role: node.access.create_token("test", f"test-{role}", [role])[1] for role in Role}
    port = await node.start()
    target = f"127.0.0.1:{port}"
    clients = {role: NodeClient(target, token) for role, token in tokens.items()}
    return Served(node, clock, target, tokens, clients, NodeClient(target, None))


@contextlib.asynccontextmanager
async def serving(node: Node, clock: ManualClock) -> AsyncIterator[Served]:
    s = await serve_node(node, clock)
    try:
        yield s
    finally:
        for client in [*s.clients.values(), s.anonymous]:
            await client.close()
        await node.stop(grace=0)


@pytest.fixture
async def served(make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock) -> AsyncIterator[Served]:
    """A node on SQLite serving on a loopback port."""
    async with serving(make_node(sqlite_url), clock) as s:
        yield s


@pytest.fixture
async def served_each(make_node: Callable[..., Node], database_url: str, clock: ManualClock) -> AsyncIterator[Served]:
    """A node serving on a loopback port, once on SQLite and once on PostgreSQL."""
    async with serving(make_node(database_url), clock) as s:
        yield s
