"""The integrator API served in-process (the simulator's deterministic mode): the same servicers behind the
same authentication and error boundary as over gRPC, reached through the generated stubs without a socket."""

from __future__ import annotations

import grpc
import pytest

from node.aio import InlineExecutor
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api.client import NodeClient
from node.api.in_process import InProcessChannel
from node.app import Node, build_node
from node.cases.model import Role
from node.clock import ManualClock
from node.hosting import StaticResolver
from node.scheduler import LoopScheduler
from tests.conftest import HOSTING, node_config


async def _started(sqlite_url: str, clock: ManualClock) -> Node:
    node = build_node(
        node_config(sqlite_url),
        clock=clock,
        resolver=StaticResolver(HOSTING),
        executor=InlineExecutor(),
        scheduler=LoopScheduler(),
    )
    assert await node.start(serve=False) == 0
    assert node.server is None and node.in_process is not None
    return node


def _client(node: Node | None, token: str | None) -> NodeClient:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    return NodeClient("in-process", None, channel=InProcessChannel(lambda: node.in_process if node else None, metadata))


def _report(url: str) -> intake_pb.SubmitReportRequest:
    return intake_pb.SubmitReportRequest(
        request_id="in-process-1", urls=[intake_pb.ReportedUrl(url=url)], reporter={"anonymous": True}
    )


async def test_a_call_in_process_is_authenticated_served_and_serialised(sqlite_url: str, clock: ManualClock) -> None:
    node = await _started(sqlite_url, clock)
    try:
        _, token = node.access.create_token("test", "report-form", [Role.INTAKE, Role.ANALYST])
        client = _client(node, token)
        submitted = await client.intake.SubmitReport(_report("https://a.hosting-de.example/x.html"))
        item_id = submitted.report.items[0].item_id
        got = await client.cases.GetItem(case_pb.GetItemRequest(item_id=item_id))
        assert got.item.item_id == item_id and got.item.url == "https://a.hosting-de.example/x.html"
    finally:
        await node.stop(grace=0)


async def test_refusals_reach_the_caller_as_grpc_errors(sqlite_url: str, clock: ManualClock) -> None:
    node = await _started(sqlite_url, clock)
    try:
        _, lea = node.access.create_token("test", "police", [Role.LEA])
        _, analyst = node.access.create_token("test", "analyst", [Role.ANALYST])
        cases = [
            (_client(node, None), grpc.StatusCode.UNAUTHENTICATED, "authorization"),
            (_client(node, lea), grpc.StatusCode.PERMISSION_DENIED, "role"),
            (_client(node, analyst), grpc.StatusCode.INVALID_ARGUMENT, "item_id"),
        ]
        for client, code, text in cases:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                if code == grpc.StatusCode.PERMISSION_DENIED:
                    await client.intake.SubmitReport(_report("https://b.hosting-de.example/y.html"))
                else:
                    await client.cases.GetItem(case_pb.GetItemRequest(item_id="not-an-id"))
            assert caught.value.code() == code, caught.value.details()
            assert text in (caught.value.details() or "")
    finally:
        await node.stop(grace=0)


async def test_a_node_that_is_down_is_unavailable() -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _client(None, "hx_0000000000000000_" + "a" * 43).cases.GetItem(case_pb.GetItemRequest(item_id="x"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_stream_ends_unavailable_once_the_node_stops(sqlite_url: str, clock: ManualClock) -> None:
    node = await _started(sqlite_url, clock)
    _, token = node.access.create_token("test", "case-system", [Role.INTAKE, Role.ANALYST])
    client = _client(node, token)
    await client.intake.SubmitReport(_report("https://c.hosting-de.example/z.html"))
    stream = client.events.StreamEvents(event_pb.StreamEventsRequest())
    first = await anext(aiter(stream))
    assert first.event.kind
    await node.stop(grace=0)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await client.cases.GetItem(case_pb.GetItemRequest(item_id="x"))
    assert again.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("sole_writer", [False, True])
async def test_a_sole_writer_runs_no_event_watermark(sqlite_url: str, clock: ManualClock, sole_writer: bool) -> None:
    """The watermark looks for events other processes wrote: with none (the simulator's deterministic mode) it
    is not scheduled; the other periodic jobs are."""
    node = build_node(
        node_config(sqlite_url),
        clock=clock,
        resolver=StaticResolver(HOSTING),
        executor=InlineExecutor(),
        scheduler=LoopScheduler(),
    )
    await node.start(serve=False, sole_writer=sole_writer)
    try:
        assert ("event-watermark" in node.scheduler.job_names) is not sole_writer
        assert {"removal-deadlines", "retention-purge"} <= set(node.scheduler.job_names)
    finally:
        await node.stop(grace=0)
