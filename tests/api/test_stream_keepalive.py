"""An idle StreamEvents stays open: the node sends a heartbeat (a response with no event) every
stream_heartbeat_seconds, and accepts clients' HTTP/2 keepalive pings as often as every min_client_ping_seconds.
The intervals are shortened here (the defaults are 30 s and 10 s); what is checked is the behaviour, not timing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from grpc import aio

from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import event_service_pb2_grpc as event_grpc
from node.app import Node
from node.cases.model import Role
from node.clock import ManualClock
from tests.api._support import report
from tests.conftest import serving

PATIENCE = 20.0


async def next_response(stream: Any) -> event_pb.StreamEventsResponse:
    response = await stream.read()
    assert isinstance(response, event_pb.StreamEventsResponse), "the stream ended"
    return response


async def test_an_idle_stream_gets_heartbeats_then_events(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    async with serving(make_node(sqlite_url, stream_heartbeat_seconds=0.1), clock) as served:
        stream = served.analyst.events.StreamEvents(event_pb.StreamEventsRequest())
        async with asyncio.timeout(PATIENCE):
            first, second = await next_response(stream), await next_response(stream)
            assert not first.HasField("event") and not second.HasField("event")  # nothing has happened yet
            await served.intake.intake.SubmitReport(report("https://nl.host.example/after-idle"))
            kinds: list[str] = []
            while len(kinds) < 2:
                response = await next_response(stream)
                if response.HasField("event"):
                    kinds.append(response.event.kind)
        assert kinds == ["report.received", "item.created"]
        stream.cancel()


async def test_an_idle_stream_with_frequent_client_pings_stays_open(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    # The client pings once a second (grpc core's own floor), and this node allows one ping per 0.5 s. With a
    # minimum of 10 s (the default; gRPC's own is 5 minutes) the third ping inside the window is a third
    # strike: the server ends the connection with GOAWAY too_many_pings within about 5 s, which this test saw
    # before the setting existed. No heartbeat comes meanwhile: only pings cross the connection.
    node = make_node(sqlite_url, min_client_ping_seconds=0.5, stream_heartbeat_seconds=3600)
    async with serving(node, clock) as served:
        options = [
            ("grpc.keepalive_time_ms", 1000),
            ("grpc.keepalive_timeout_ms", 5000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_time_between_pings_ms", 1000),
        ]
        async with aio.insecure_channel(served.target, options=options) as channel:
            events = event_grpc.EventServiceStub(channel)
            metadata = (("authorization", f"Bearer {served.tokens[Role.ANALYST]}"),)
            stream = events.StreamEvents(event_pb.StreamEventsRequest(), metadata=metadata)
            await asyncio.sleep(8.0)  # idle: about 8 pings
            assert stream.done() is False
            await served.intake.intake.SubmitReport(report("https://nl.host.example/pinged"))
            async with asyncio.timeout(PATIENCE):
                response = await next_response(stream)
            assert response.event.kind == "report.received"
            stream.cancel()
