"""The event contract: one list of kinds (node.cases.event_kinds), the same in the proto's EventKind and in the
README, each with when it is emitted; every event an integrator receives carries its kind as the enum too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.event_details import details_to_proto
from node.cases.event_details import ActionDetails, EventDetails, HoldDetails, KnownHashDetails, details_name
from node.cases.event_kinds import WHEN, EventKind, proto_name
from node.cases.model import ActionType
from tests.api._support import action, assess, known, sha256, submit, submit_hashed, ts
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


async def test_events_carry_typed_details_for_programs(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/contract/2")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    until = served.clock.now() + timedelta(hours=12)
    await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="case 7", until=ts(until)))
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    events = (await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=100))).events
    by_kind = {e.kind: e for e in events}
    assert by_kind["report.received"].WhichOneof("details") is None  # a kind without details
    assessed = by_kind["item.assessed"].assessment
    assert (assessed.classification, assessed.automatic) == (pb.CLASSIFICATION_NATIONAL, False)
    routed = by_kind["item.routed"].routing
    assert (routed.route, routed.country, routed.peer_node) == (pb.ROUTE_DOMESTIC, "NL", "")
    hold = by_kind["hold.placed"].hold
    assert hold.hold_id and hold.until.ToDatetime(tzinfo=UTC) == until
    recorded = by_kind["action.recorded"].action
    assert (recorded.action, recorded.actor) == (pb.ACTION_TYPE_LEA_NOTIFIED, "test-analyst")


async def test_a_referral_queued_names_its_peer_and_message(served: Served) -> None:
    item_id = (await submit(served, "https://de.host.example/contract/3")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    events = (await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=100))).events
    queued = next(e for e in events if e.kind == "outbox.queued").message
    assert (queued.peer, queued.message_kind) == ("de-hotline", "referral") and queued.message_id
    routed = next(e for e in events if e.kind == "item.routed").routing
    assert (routed.route, routed.country, routed.peer_node) == (pb.ROUTE_REFERRAL, "DE", "de-hotline")


async def test_a_known_match_names_the_entry_that_decided(served: Served) -> None:
    value = sha256(77)
    await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            source="shared list", hashes=[known(pb.HASH_ALGORITHM_SHA256, value, pb.CLASSIFICATION_BASELINE)]
        )
    )
    await submit_hashed(
        served,
        "https://nl.host.example/contract/known",
        [pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=value)],
    )
    events = (await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=100))).events
    matched = next(e for e in events if e.kind == "item.known_match")
    assert matched.WhichOneof("details") == "known_hash"
    entry = matched.known_hash
    assert (entry.algorithm, entry.source, entry.classification) == (
        "sha256",
        "shared list",
        pb.CLASSIFICATION_BASELINE,
    )
    assert entry.known_hash_id > 0


def test_each_details_type_is_the_oneof_field_of_its_name_with_its_values() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    oneof = {field.name for field in pb.Event.DESCRIPTOR.oneofs_by_name["details"].fields}
    assert oneof == {details_name(cls.__new__(cls)) for cls in get_args(EventDetails)}
    hold = details_to_proto(HoldDetails("hold-1", at))["hold"]
    assert (hold.hold_id, hold.until.ToDatetime(tzinfo=UTC)) == ("hold-1", at)
    assert not details_to_proto(HoldDetails("hold-2", None))["hold"].HasField("until")
    action = details_to_proto(ActionDetails(ActionType.HP_NOTIFIED, "analyst", "DE"))["action"]
    assert (action.action, action.actor, action.moved_to_country) == (pb.ACTION_TYPE_HP_NOTIFIED, "analyst", "DE")
    known = details_to_proto(KnownHashDetails(7, "sha256", "feed.example", None, 1, 2))["known_hash"]
    assert (known.known_hash_id, known.classification, known.disputes, known.count) == (7, 0, 1, 2)
    assert details_to_proto(None) == {}
