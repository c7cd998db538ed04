"""The event contract: one list of kinds (node.cases.event_kinds), the same in the proto's EventKind and in the
README, each with when it is emitted; every event an integrator receives carries its kind as the enum too."""

from __future__ import annotations

from pathlib import Path

from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.event_kinds import WHEN, EventKind, proto_name
from tests.api._support import assess, submit
from tests.conftest import Served

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_the_proto_enum_has_exactly_the_kinds_of_the_code() -> None:
    assert pb.EventKind.keys() == ["EVENT_KIND_UNSPECIFIED", *(proto_name(kind) for kind in EventKind)]


def test_every_kind_says_when_it_is_emitted_and_is_in_the_readme() -> None:
    assert set(WHEN) == set(EventKind)
    for kind in EventKind:
        assert f"| `{kind}` | {WHEN[kind]} |" in README, kind


async def test_events_carry_their_kind_as_the_enum(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/contract/1")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    events = (await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=100))).events
    assert [e.kind for e in events] == ["report.received", "item.created", "item.assessed", "item.routed"]
    for event in events:
        assert pb.EventKind.Name(event.event_kind) == proto_name(EventKind(event.kind))
