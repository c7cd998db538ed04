"""StreamEvents with a `kinds` filter: only events of those kinds, in order, the backlog and live ones alike;
resuming from the last cursor received gives the later events of those kinds; a kind the node does not know
(or EVENT_KIND_UNSPECIFIED) is INVALID_ARGUMENT naming the entry."""

from __future__ import annotations

import grpc
import pytest

from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.api._support import all_events, assess, refused, submit
from tests.api.test_events_stream import Tail, ids
from tests.conftest import Served

_KINDS = (pb.EVENT_KIND_ITEM_CREATED, pb.EVENT_KIND_ITEM_ASSESSED)


def open_kinds(served: Served, kinds: tuple[int, ...], after_cursor: str = "") -> Tail:
    request = event_pb.StreamEventsRequest(after_cursor=after_cursor, kinds=kinds)
    return Tail(served.analyst.events.StreamEvents(request))


def of_kinds(events: list[pb.Event], kinds: tuple[int, ...]) -> list[pb.Event]:
    return [e for e in events if e.event_kind in kinds]


async def test_a_stream_with_kinds_gives_only_those_kinds_backlog_and_live(served: Served) -> None:
    first = await submit(served, "https://nl.host.example/stream/kinds/0")
    await submit(served, "https://nl.host.example/stream/kinds/1")
    await assess(served, first.item_id, pb.CLASSIFICATION_NATIONAL)
    backlog = of_kinds(await all_events(served), _KINDS)
    assert [e.kind for e in backlog] == ["item.created", "item.created", "item.assessed"]
    stream = open_kinds(served, _KINDS)
    try:
        got = await stream.take(3)
        assert got == backlog  # every field, as ListEvents gives it
        assert await stream.nothing_more()
        live = await submit(served, "https://nl.host.example/stream/kinds/2")  # report.received, item.created
        created = await stream.take(1)
        assert [(e.kind, e.item_id) for e in created] == [("item.created", live.item_id)]
        assert await stream.nothing_more()
    finally:
        await stream.close()
    assert ids(got + created) == ids(of_kinds(await all_events(served), _KINDS))


async def test_resuming_a_filtered_stream_from_its_last_cursor_gives_the_later_events_of_those_kinds(
    served: Served,
) -> None:
    first = await submit(served, "https://nl.host.example/stream/kinds/resume/0")
    stream = open_kinds(served, (pb.EVENT_KIND_ITEM_ASSESSED,))
    try:
        assert await stream.nothing_more()  # two events so far, neither of the kind
        await assess(served, first.item_id, pb.CLASSIFICATION_NATIONAL)
        [assessed] = await stream.take(1)
    finally:
        await stream.close()
    second = await submit(served, "https://nl.host.example/stream/kinds/resume/1")
    await assess(served, second.item_id, pb.CLASSIFICATION_NATIONAL)
    resumed = open_kinds(served, (pb.EVENT_KIND_ITEM_ASSESSED,), assessed.cursor)
    try:
        [later] = await resumed.take(1)
        assert (later.kind, later.item_id) == ("item.assessed", second.item_id)
        assert await resumed.nothing_more()
    finally:
        await resumed.close()


async def test_a_stream_told_the_kinds_each_commit_wrote_skips_no_event_it_asked_for(served: Served) -> None:
    """As the simulator's in-process nodes run it: the stream reads only after a commit that wrote a kind it
    asked for, and still gets every event of those kinds, in order."""
    served.node.store.watch_events(served.node.notifier.events_written)
    served.node.notifier.tell_kinds()
    first = await submit(served, "https://nl.host.example/stream/kinds/told/0")
    stream = open_kinds(served, (pb.EVENT_KIND_ITEM_ASSESSED,))
    try:
        assert await stream.nothing_more()
        second = await submit(served, "https://nl.host.example/stream/kinds/told/1")  # none of the kind
        assert await stream.nothing_more()
        await assess(served, second.item_id, pb.CLASSIFICATION_NATIONAL)
        await assess(served, first.item_id, pb.CLASSIFICATION_NATIONAL)
        got = await stream.take(2)
        assert [(e.kind, e.item_id) for e in got] == [
            ("item.assessed", second.item_id),
            ("item.assessed", first.item_id),
        ]
        assert await stream.nothing_more()
    finally:
        await stream.close()
    assert ids(got) == ids(of_kinds(await all_events(served), (pb.EVENT_KIND_ITEM_ASSESSED,)))


@pytest.mark.parametrize(
    ("kinds", "field"),
    [((pb.EVENT_KIND_UNSPECIFIED,), "kinds[0]"), ((pb.EVENT_KIND_ITEM_CREATED, 9999), "kinds[1]")],
    ids=["unspecified", "unknown-number"],
)
async def test_a_kind_the_node_does_not_know_is_invalid_argument(
    served: Served, kinds: tuple[int, ...], field: str
) -> None:
    await submit(served, "https://nl.host.example/stream/kinds/bad")
    stream = open_kinds(served, kinds)
    try:
        refusal = await refused(stream.take(1))
    finally:
        await stream.close()
    assert (refusal.code, refusal.field, refusal.detail) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        field,
        "google.rpc.BadRequest",
    )
