"""A served node's metrics endpoint, scraped over loopback: gRPC calls counted by service, method and code,
with latencies, and items by state read from the store at scrape time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest

from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.app import build_node
from node.clock import ManualClock
from node.config import MetricsConfig
from node.errors import InvalidArgument
from node.hosting import StaticResolver
from tests.conftest import HOSTING, Served, node_config, serve_node
from tests.metrics.scrape import scrape, scrape_until, value

INTAKE = "hotline.node.v1.IntakeService"


@pytest.fixture
async def metered(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Served]:
    config = replace(node_config(sqlite_url), metrics=MetricsConfig("127.0.0.1:0"))
    node = build_node(config, clock=clock, resolver=StaticResolver(HOSTING))
    served = await serve_node(node, clock)
    try:
        yield served
    finally:
        for client in [*served.clients.values(), served.anonymous]:
            await client.close()
        await node.stop(grace=0)


def _port(served: Served) -> int:
    assert served.node.metrics is not None
    return served.node.metrics.port


async def test_calls_are_counted_by_method_and_code_and_items_by_state(metered: Served) -> None:
    port = _port(metered)
    before = await scrape(port)
    assert value(before, "hx_store_up") == 1
    assert value(before, "hx_items", state="AWAITING_ASSESSMENT") == 0
    handled = {"grpc_type": "unary", "grpc_service": INTAKE, "grpc_method": "SubmitReport"}
    assert value(before, "grpc_server_handled_total", **handled, grpc_code="OK") is None

    # Refused before the servicer: no token. Refused by the servicer: no URL. Then one that succeeds.
    with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
        await metered.anonymous.intake.SubmitReport(
            intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://nl.host.example/a")])
        )
    assert unauthenticated.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await metered.intake.intake.SubmitReport(intake_pb.SubmitReportRequest())
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    await metered.intake.intake.SubmitReport(
        intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://nl.host.example/b")])
    )

    after = await asyncio.to_thread(
        scrape_until, port, lambda s: value(s, "grpc_server_handling_seconds_count", **handled) == 3
    )
    assert value(after, "grpc_server_handled_total", **handled, grpc_code="UNAUTHENTICATED") == 1
    assert value(after, "grpc_server_handled_total", **handled, grpc_code="INVALID_ARGUMENT") == 1
    assert value(after, "grpc_server_handled_total", **handled, grpc_code="OK") == 1
    assert value(after, "grpc_server_handling_seconds_count", **handled) == 3
    assert value(after, "grpc_server_handling_seconds_bucket", **handled, le="+Inf") == 3
    assert sum(v for (name, _), v in after.items() if name == "hx_items") == 1
    # A node without the exchange has no roster and no peers.
    assert value(after, "hx_roster_version") is None
    assert not [name for name, _ in after if name.startswith("hx_exchange_outbox")]


async def test_each_node_has_its_own_registry(metered: Served, sqlite_url: str, clock: ManualClock) -> None:
    """The simulator runs many nodes in one process: a second node's metrics are its own."""
    other = build_node(
        replace(node_config(sqlite_url.replace(".db", "-other.db")), metrics=MetricsConfig("127.0.0.1:0")),
        clock=clock,
        resolver=StaticResolver(HOSTING),
    )
    try:
        await metered.intake.intake.SubmitReport(
            intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://nl.host.example/c")])
        )
        assert other.metrics is not None
        assert b"SubmitReport" not in other.metrics.exposition()
    finally:
        other.executor.shutdown(wait=False)
        other.engine.dispose()


async def test_a_metrics_port_in_use_is_refused_naming_the_setting(metered: Served, sqlite_url: str) -> None:
    config = replace(
        node_config(sqlite_url.replace(".db", "-2.db")), metrics=MetricsConfig(f"127.0.0.1:{_port(metered)}")
    )
    second = build_node(config, clock=metered.clock, resolver=StaticResolver(HOSTING))
    try:
        with pytest.raises(InvalidArgument) as refused:
            await second.start()
        assert refused.value.field == "metrics.listen"
        assert "in use" in str(refused.value)
    finally:
        await second.stop(grace=0)
