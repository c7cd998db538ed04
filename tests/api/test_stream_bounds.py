"""What bounds StreamEvents: a revoked token's open stream ends (UNAUTHENTICATED), a token may hold only
streams_per_token streams (RESOURCE_EXHAUSTED, reason LIMIT_EXCEEDED), a stream ends at its maximum age and
resumes from its cursor with nothing lost or repeated, an idle stream does not read the event log, and a
commit by another node sharing the database wakes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api.client import NodeClient
from node.api.streams import STREAM_LIMIT
from node.app import Node
from node.cases.model import Role
from node.cases.requests import NewReport, NewUrl
from node.clock import ManualClock
from tests.api._support import submit
from tests.api.test_events_stream import PATIENCE, Tail
from tests.conftest import INTAKE, serving


def _reason(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""


async def _ended(tail: Tail) -> grpc.aio.AioRpcError | None:
    """What ends the stream after the events already read: an error, or None for a normal end."""
    async with asyncio.timeout(PATIENCE):
        while True:
            got = await tail.queue.get()
            if isinstance(got, grpc.aio.AioRpcError) or got is None:
                return got


async def test_a_revoked_tokens_open_stream_ends(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    async with serving(make_node(sqlite_url), clock) as served:
        await submit(served, "https://nl.host.example/revoke/1")
        tail = Tail(served.lea.events.StreamEvents(event_pb.StreamEventsRequest()))
        try:
            await tail.take(2)
            lea_id = served.tokens[Role.LEA].split("_")[1]
            await served.admin.admin.RevokeToken(admin_pb.RevokeTokenRequest(token_id=lea_id))
            await submit(served, "https://nl.host.example/revoke/2")  # nothing more reaches the revoked token
            ended = await _ended(tail)
        finally:
            await tail.close()
    assert ended is not None and ended.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in (ended.details() or "")


async def test_a_token_holds_at_most_streams_per_token_streams(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    async with serving(make_node(sqlite_url, streams_per_token=2), clock) as served:
        await submit(served, "https://nl.host.example/limit/1")
        tails = [Tail(served.analyst.events.StreamEvents(event_pb.StreamEventsRequest())) for _ in range(2)]
        other = Tail(served.lea.events.StreamEvents(event_pb.StreamEventsRequest()))
        try:
            for tail in [*tails, other]:
                await tail.take(2)  # open and counted
            third = Tail(served.analyst.events.StreamEvents(event_pb.StreamEventsRequest()))
            ended = await _ended(third)
            await third.close()
            await tails[0].close()
            # One closed: the token may open another once the server has ended that call.
            async with asyncio.timeout(PATIENCE):
                while True:
                    again = Tail(served.analyst.events.StreamEvents(event_pb.StreamEventsRequest()))
                    got = await again.queue.get()
                    await again.close()
                    if not isinstance(got, grpc.aio.AioRpcError):
                        break
                    await asyncio.sleep(0.05)
        finally:
            for tail in [*tails, other]:
                await tail.close()
    assert ended is not None and ended.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _reason(ended) == STREAM_LIMIT


async def test_a_stream_ends_at_its_maximum_age_and_resumes_from_its_cursor(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    async with serving(make_node(sqlite_url, stream_max_age_seconds=1), clock) as served:
        await submit(served, "https://nl.host.example/age/1")
        tail = Tail(served.analyst.events.StreamEvents(event_pb.StreamEventsRequest()))
        try:
            first = await tail.take(2)
            ended = await _ended(tail)
        finally:
            await tail.close()
        assert ended is None  # a normal end: resume from the cursor
        await submit(served, "https://nl.host.example/age/2")
        resumed = Tail(served.analyst.events.StreamEvents(event_pb.StreamEventsRequest(after_cursor=first[-1].cursor)))
        try:
            later = await resumed.take(2)
        finally:
            await resumed.close()
    assert len(later) == 2
    assert not {e.event_id for e in first} & {e.event_id for e in later}


async def test_an_idle_stream_waits_without_reading_the_event_log(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = make_node(sqlite_url)
    reads: list[int] = []
    list_events = node.cases.list_events

    def counted(**kwargs: Any) -> Any:
        reads.append(kwargs["after_seq"])
        return list_events(**kwargs)

    monkeypatch.setattr(node.cases, "list_events", counted)
    async with serving(node, clock) as served:
        await submit(served, "https://nl.host.example/idle/1")
        tail = Tail(served.analyst.events.StreamEvents(event_pb.StreamEventsRequest()))
        try:
            await tail.take(2)
            # The watermark may wake the stream once more for the same commit; then it is idle.
            assert await tail.nothing_more(1.5)
            settled = len(reads)
            assert await tail.nothing_more(2.5)  # idle through more than two token checks
            idle_reads = len(reads) - settled
            await submit(served, "https://nl.host.example/idle/2")
            await tail.take(2)
        finally:
            await tail.close()
    assert idle_reads == 0  # no poll of the event log while idle
    assert len(reads) > settled  # a commit wakes it


async def test_a_commit_on_another_node_sharing_the_database_wakes_the_stream(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    other = make_node(sqlite_url)  # not serving: it writes to the same database
    async with serving(make_node(sqlite_url), clock) as served:
        tail = Tail(served.analyst.events.StreamEvents(event_pb.StreamEventsRequest()))
        try:
            await asyncio.to_thread(
                other.cases.submit_report, INTAKE, NewReport((NewUrl("https://nl.host.example/other/1"),))
            )
            events = await tail.take(2)
        finally:
            await tail.close()
    assert [e.kind for e in events][:1] == ["report.received"]


async def test_revoked_client_gets_no_stream_at_all(served: Any) -> None:
    lea_id = served.tokens[Role.LEA].split("_")[1]
    await served.admin.admin.RevokeToken(admin_pb.RevokeTokenRequest(token_id=lea_id))
    async with NodeClient(served.target, served.tokens[Role.LEA]) as client:
        tail = Tail(client.events.StreamEvents(event_pb.StreamEventsRequest()))
        ended = await _ended(tail)
        await tail.close()
    assert ended is not None and ended.code() is grpc.StatusCode.UNAUTHENTICATED
