"""StreamEvents over real gRPC: the backlog from the start, live events as they commit, resuming from a cursor
without losing or repeating an event, and refusal of a cursor the node did not issue."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import grpc
import pytest

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.api._support import all_events, assess, refused, report, submit
from tests.conftest import Served

# Generous: live events are pushed at once, and a 1 s poll catches anything missed; no test asserts timing.
PATIENCE = 10.0


class Tail:
    """An open StreamEvents call, read by a background task into a queue, so that waiting for an event that
    does not come never cancels the call itself."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.queue: asyncio.Queue[pb.Event | BaseException | None] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for response in self.call:
                if response.HasField("event"):  # not a heartbeat
                    await self.queue.put(response.event)
        except grpc.aio.AioRpcError as error:
            await self.queue.put(error)
            return
        await self.queue.put(None)

    async def take(self, n: int) -> list[pb.Event]:
        """The next `n` events; fails if they do not come within PATIENCE seconds."""
        events: list[pb.Event] = []
        async with asyncio.timeout(PATIENCE):
            while len(events) < n:
                got = await self.queue.get()
                if isinstance(got, BaseException):
                    raise got
                assert got is not None, "the stream ended"
                events.append(got)
        return events

    async def nothing_more(self, wait: float = 0.3) -> bool:
        """True when nothing more arrived within `wait` seconds."""
        await asyncio.sleep(wait)
        return self.queue.empty()

    async def close(self) -> None:
        self.call.cancel()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def open_stream(served: Served, after_cursor: str = "", *, lea: bool = False) -> Tail:
    client = served.lea if lea else served.analyst
    return Tail(client.events.StreamEvents(event_pb.StreamEventsRequest(after_cursor=after_cursor)))


def ids(events: list[pb.Event]) -> list[str]:
    return [e.event_id for e in events]


async def test_a_stream_from_the_start_delivers_the_backlog_in_order(served: Served) -> None:
    for i in range(3):
        await submit(served, f"https://nl.host.example/stream/backlog/{i}")
    expected = await all_events(served)
    assert len(expected) == 6
    stream = open_stream(served)
    try:
        got = await stream.take(6)
        assert ids(got) == ids(expected)
        assert [e.cursor for e in got] == [e.cursor for e in expected]
        assert got == expected  # every field, as ListEvents gives it
        assert await stream.nothing_more()
    finally:
        await stream.close()


async def test_a_stream_delivers_a_backlog_larger_than_one_read(served: Served) -> None:
    for batch in range(6):  # 606 events: more than the 500 the stream reads at a time
        await served.intake.intake.SubmitReport(
            report(*(f"https://nl.host.example/stream/bulk/{batch}/{i}" for i in range(100)))
        )
    expected = await all_events(served)
    assert len(expected) == 606
    stream = open_stream(served, lea=True)
    try:
        got = await stream.take(606)
        assert ids(got) == ids(expected)
        assert await stream.nothing_more()
    finally:
        await stream.close()


async def test_live_events_arrive_while_the_stream_is_open(served: Served) -> None:
    await submit(served, "https://nl.host.example/stream/live/0")
    stream = open_stream(served)
    try:
        backlog = await stream.take(2)
        assert [e.kind for e in backlog] == ["report.received", "item.created"]
        assert await stream.nothing_more()  # caught up: the stream now waits
        reported = await submit(served, "https://nl.host.example/stream/live/1")
        live = await stream.take(2)
        assert [e.kind for e in live] == ["report.received", "item.created"]
        assert live[1].item_id == reported.item_id
        await assess(served, reported.item_id, pb.CLASSIFICATION_NATIONAL)
        assessed = await stream.take(2)
        assert [(e.kind, e.item_id) for e in assessed] == [
            ("item.assessed", reported.item_id),
            ("item.routed", reported.item_id),
        ]
        assert ids(backlog + live + assessed) == ids(await all_events(served))
    finally:
        await stream.close()


async def test_escalations_by_the_scheduler_path_reach_an_open_stream(served: Served) -> None:
    """Events written outside an RPC (the deadline check) wake the stream too."""
    item_id = (await submit(served, "https://nl.host.example/stream/deadline")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    for action_type in (pb.ACTION_TYPE_LEA_NOTIFIED, pb.ACTION_TYPE_HP_NOTIFIED):
        await served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=action_type))
    backlog = await all_events(served)
    stream = open_stream(served, backlog[-1].cursor)
    try:
        assert await stream.nothing_more()
        served.clock.advance(timedelta(hours=73))
        await asyncio.get_running_loop().run_in_executor(None, served.node.cases.escalate_overdue)
        (event,) = await stream.take(1)
        assert (event.kind, event.item_id) == ("deadline.escalated", item_id)
    finally:
        await stream.close()


async def test_several_streams_each_get_every_live_event(served: Served) -> None:
    streams = [open_stream(served), open_stream(served, lea=True), open_stream(served)]
    try:
        for stream in streams:
            assert await stream.nothing_more(0.2)
        for i in range(3):
            await submit(served, f"https://nl.host.example/stream/fanout/{i}")
        expected = ids(await all_events(served))
        for stream in streams:
            assert ids(await stream.take(6)) == expected
    finally:
        for stream in streams:
            await stream.close()


async def test_resuming_after_the_last_cursor_loses_and_repeats_nothing(served: Served) -> None:
    await submit(served, "https://nl.host.example/stream/resume/0")
    stream = open_stream(served)
    seen = await stream.take(2)
    await submit(served, "https://nl.host.example/stream/resume/1")
    seen += await stream.take(1)  # report.received only: item.created stays unread
    await stream.close()
    # While disconnected, more happens.
    await submit(served, "https://nl.host.example/stream/resume/2")
    await served.intake.intake.SubmitReport(
        report("https://nl.host.example/stream/resume/3", "https://de.host.example/stream/resume/4")
    )
    everything = await all_events(served)
    assert len(everything) == 9
    resumed_stream = open_stream(served, seen[-1].cursor)
    try:
        resumed = await resumed_stream.take(len(everything) - len(seen))
        assert await resumed_stream.nothing_more()
        assert ids(seen + resumed) == ids(everything)  # none lost, none repeated, in order
        assert not set(ids(seen)) & set(ids(resumed))
        # ... and it keeps going live after the resumed backlog.
        await submit(served, "https://nl.host.example/stream/resume/5")
        more = await resumed_stream.take(2)
        assert ids(seen + resumed + more) == ids(await all_events(served))
    finally:
        await resumed_stream.close()


async def test_resuming_from_any_cursor_gives_exactly_the_events_after_it(served: Served) -> None:
    for i in range(3):
        await submit(served, f"https://nl.host.example/stream/any/{i}")
    everything = await all_events(served)
    for position in (0, 2, 4, 5):
        stream = open_stream(served, everything[position].cursor)
        try:
            rest = everything[position + 1 :]
            assert ids(await stream.take(len(rest))) == ids(rest)
            assert await stream.nothing_more(0.2)
        finally:
            await stream.close()


async def test_a_list_events_page_token_resumes_a_stream(served: Served) -> None:
    for i in range(2):
        await submit(served, f"https://nl.host.example/stream/token/{i}")
    page = await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=3))
    stream = open_stream(served, page.next_page_token)
    try:
        assert ids(await stream.take(1)) == ids((await all_events(served))[3:])
    finally:
        await stream.close()


def _forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", "not a cursor", _forged("i1:01890000-0000"), _forged("e1:twelve"), _forged("t1:0123456789abcdef")],
    ids=["garbage", "spaces", "item-token", "not-a-number", "token-page"],
)
async def test_a_bad_after_cursor_is_refused(served: Served, cursor: str) -> None:
    await submit(served, "https://nl.host.example/stream/bad")
    before = ids(await all_events(served))
    stream = open_stream(served, cursor)
    try:
        refusal = await refused(stream.take(1))
    finally:
        await stream.close()
    assert (refusal.code, refusal.field, refusal.detail) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "after_cursor",
        "google.rpc.BadRequest",
    )
    assert "after_cursor" in refusal.message
    assert ids(await all_events(served)) == before
