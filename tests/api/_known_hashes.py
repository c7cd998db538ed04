"""What the known-content tests share: a node served on each backend with given [node] settings, and reports
from the hotline's own hashing tool (whose hashes are trusted: they match and teach)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.app import Node
from node.cases.model import Role
from node.clock import ManualClock
from tests.api._support import report
from tests.conftest import Served, serve_node

__all__ = ["SHA", "H", "Serve", "h", "hashed", "serve"]

H = "a1" * 32  # a SHA-256 digest, synthetic
SHA = pb.HASH_ALGORITHM_SHA256

Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve(make_node: Callable[..., Node], database_url: str, clock: ManualClock) -> AsyncIterator[Serve]:
    """Serve a node on each backend, with the given [node] settings."""
    started: list[Served] = []

    async def start(**settings: Any) -> Served:
        served = await serve_node(make_node(database_url, **settings), clock)
        started.append(served)
        return served

    yield start
    for s in started:
        for client in [*s.clients.values(), s.anonymous]:
            await client.close()
        await s.node.stop(grace=0)


def h(value: str = H, algorithm: int = SHA) -> pb.ContentHash:
    return pb.ContentHash(algorithm=algorithm, value=value)  # type: ignore[arg-type]


async def hashed(served: Served, url: str, *hashes: pb.ContentHash) -> str:
    """The hotline's own hashing tool (a hasher token) reports `url` with hashes it computed; the item id."""
    response = await served.clients[Role.HASHER].intake.SubmitReport(report(url, hashes=list(hashes)))
    return response.report.items[0].item_id
