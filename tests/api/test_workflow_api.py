"""The case workflow over real gRPC: the domestic flow to removal, repeat reports, known content, routing,
idempotent writes, pagination, statistics and item timelines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.api._support import (
    action,
    all_events,
    all_items,
    assess,
    get_item,
    known,
    refused,
    report,
    sha256,
    submit,
    submit_hashed,
    timeline_kinds,
    ts,
)
from tests.conftest import START, Served

HOUR = timedelta(hours=1)
PDQ = "f0e1d2c3b4a5968778695a4b3c2d1e0f" * 2  # a synthetic 256-bit PDQ value, not the hash of anything


def sha(value: str) -> pb.ContentHash:
    return pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=value)


def pdq(value: str) -> pb.ContentHash:
    return pb.ContentHash(algorithm=pb.HASH_ALGORITHM_PDQ, value=value)


def flip_bits(hex_value: str, bits: int) -> str:
    """`hex_value` with its first `bits` bits inverted: at Hamming distance `bits` from it."""
    raw = bytearray(bytes.fromhex(hex_value))
    for bit in range(bits):
        raw[bit // 8] ^= 0x80 >> (bit % 8)
    return raw.hex()


def entries(events: list[pb.Event]) -> dict[str, int]:
    return {e.kind: sum(1 for x in events if x.kind == e.kind) for e in events}


# ------------------------------------------------------------------------------ the domestic flow


async def test_the_domestic_flow_from_report_to_removal(served: Served) -> None:
    reported = await submit(served, "https://nl.host.example/flow/1")
    assert (await get_item(served, reported.item_id)).state == pb.ITEM_STATE_AWAITING_ASSESSMENT
    item_id = reported.item_id

    item = await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    assert (item.state, item.route, item.assigned_node) == (pb.ITEM_STATE_AWAITING_LEA, pb.ROUTE_DOMESTIC, "nl-hotline")
    assert item.hosting.country == "NL" and item.hosting.ip == "192.0.2.10"
    assert item.assessment.jurisdiction == "NL"
    assert item.assessment.assessed_by == "test-analyst" and not item.assessment.automatic

    served.clock.advance(HOUR)
    item = await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED, note="sent to police")
    assert item.state == pb.ITEM_STATE_LEA_NOTIFIED
    assert item.lea_notified_at.ToDatetime() == (START + HOUR).replace(tzinfo=None)

    held = (await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="op-42"))).item
    assert held.active_hold.reference == "op-42" and held.active_hold.placed_by == "test-lea"
    assert not held.active_hold.HasField("until")
    blocked = await refused(
        served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_HP_NOTIFIED))
    )
    assert blocked.code is grpc.StatusCode.FAILED_PRECONDITION
    released = (await served.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id))).item
    assert not released.HasField("active_hold")

    served.clock.advance(HOUR)
    item = await action(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)
    assert item.state == pb.ITEM_STATE_NTD_SENT
    ntd = item.ntd_sent_at.ToDatetime()
    assert ntd == (START + 2 * HOUR).replace(tzinfo=None)
    assert item.deadline_at.ToDatetime() - ntd == timedelta(hours=72)
    assert not item.escalated

    served.clock.advance(timedelta(hours=71))
    assert served.node.cases.escalate_overdue() == []
    assert not (await get_item(served, item_id)).escalated

    served.clock.advance(2 * HOUR)  # 73 hours after the NTD
    assert served.node.cases.escalate_overdue() == [item_id]
    assert served.node.cases.escalate_overdue() == []  # once only
    item = await get_item(served, item_id)
    assert item.escalated and item.state == pb.ITEM_STATE_NTD_SENT
    escalations = [e for e in await all_events(served) if e.kind == "deadline.escalated"]
    assert [(e.item_id, e.state) for e in escalations] == [(item_id, pb.ITEM_STATE_NTD_SENT)]

    item = await action(served, item_id, pb.ACTION_TYPE_CONTENT_REMOVED)
    assert item.state == pb.ITEM_STATE_CLOSED_REMOVED
    assert item.closed_at.ToDatetime() == (START + 75 * HOUR).replace(tzinfo=None)
    assert item.escalated
    assert [a.type for a in item.actions] == [
        pb.ACTION_TYPE_LEA_NOTIFIED,
        pb.ACTION_TYPE_HP_NOTIFIED,
        pb.ACTION_TYPE_CONTENT_REMOVED,
    ]
    assert item.actions[0].note == "sent to police" and item.actions[0].actor == "test-analyst"
    assert await timeline_kinds(served, item_id) == [
        "item.created",
        "item.assessed",
        "item.routed",
        "action.recorded",
        "hold.placed",
        "hold.released",
        "action.recorded",
        "deadline.escalated",
        "action.recorded",
        "item.closed",
    ]
    after_close = await refused(
        served.analyst.cases.RecordAction(
            case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_CONTENT_REMOVED)
        )
    )
    assert after_close.code is grpc.StatusCode.FAILED_PRECONDITION
    reassess = await refused(assess(served, item_id, pb.CLASSIFICATION_NATIONAL))
    assert (reassess.code, reassess.field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id")


async def test_a_hold_with_an_end_lets_the_ntd_go_once_it_has_passed(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/hold/until")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    until = served.clock.now() + 2 * HOUR
    held = (await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, until=ts(until)))).item
    assert held.active_hold.until.ToDatetime() == until.replace(tzinfo=None)
    served.clock.advance(HOUR)
    blocked = await refused(
        served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_HP_NOTIFIED))
    )
    assert blocked.code is grpc.StatusCode.FAILED_PRECONDITION and "hold" in blocked.message
    served.clock.advance(2 * HOUR)
    item = await action(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)
    assert item.state == pb.ITEM_STATE_NTD_SENT


async def test_an_expired_hold_is_no_longer_the_active_hold(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/hold/expired")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, until=ts(served.clock.now() + HOUR)))
    served.clock.advance(2 * HOUR)
    item = await action(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)  # the node itself treats the hold as over
    assert item.state == pb.ITEM_STATE_NTD_SENT
    assert not (await get_item(served, item_id)).HasField("active_hold")


# ------------------------------------------------------------------------------ repeat reports

CANONICAL = "https://nl.host.example/a/b/c?x=1"
SPELLINGS = [
    "HTTPS://NL.Host.EXAMPLE/a/b/c?x=1",  # case of scheme and host
    "https://nl.host.example:443/a/b/c?x=1",  # the default port
    "https://nl.host.example/a/b/c?x=1#section-2",  # a fragment
    "https://nl.host.example/a/./d/../b/c?x=1",  # dot segments
    "https://nl.host.example./a/%62/c?x=1",  # trailing dot, an encoded unreserved character
]


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_a_repeat_report_written_differently_joins_the_open_item(served: Served, spelling: str) -> None:
    first = await submit(served, CANONICAL)
    again = await submit(served, spelling)
    assert again.item_id == first.item_id
    assert again.url == CANONICAL
    item = await get_item(served, first.item_id)
    assert item.report_count == 2 and item.url == CANONICAL
    assert len(await all_items(served)) == 1
    assert "item.repeat_report" in await timeline_kinds(served, first.item_id)


async def test_every_spelling_counts_as_one_more_report_and_other_urls_stay_apart(served: Served) -> None:
    first = await submit(served, CANONICAL)
    response = await served.intake.intake.SubmitReport(report(*SPELLINGS))
    assert {i.item_id for i in response.report.items} == {first.item_id}
    assert (await get_item(served, first.item_id)).report_count == 2  # one report, however many spellings
    response = await served.intake.intake.SubmitReport(report(SPELLINGS[0]))
    assert (await get_item(served, first.item_id)).report_count == 3
    for different in (
        "https://nl.host.example/A/b/c?x=1",  # the path is case-sensitive
        "https://nl.host.example/a/b/c?x=2",
        "http://nl.host.example/a/b/c?x=1",
        "https://nl.host.example:8443/a/b/c?x=1",
    ):
        other = await submit(served, different)
        assert other.item_id != first.item_id, different
    assert len(await all_items(served)) == 5


async def test_concurrent_reports_of_one_url_make_one_item(served: Served) -> None:
    """Concurrent calls share a group commit; each URL must still end up in a single item."""
    hashes = [sha(sha256(3))]
    for url, with_hashes in (("https://nl.host.example/race/plain", None), ("https://nl.host.example/race/h", hashes)):
        responses = await asyncio.gather(
            *(served.intake.intake.SubmitReport(report(url, hashes=with_hashes)) for _ in range(5))
        )
        item_ids = {r.report.items[0].item_id for r in responses}
        assert len(item_ids) == 1, url
        # Whether a report made the item is for analysts to see (to the submitter it would say the URL was known).
        assert not any(r.report.items[0].new_item for r in responses)
        fetched = [
            await served.analyst.intake.GetReport(intake_pb.GetReportRequest(report_id=r.report.report_id))
            for r in responses
        ]
        assert sorted(f.report.items[0].new_item for f in fetched) == [False, False, False, False, True]
        assert (await get_item(served, item_ids.pop())).report_count == 5
    assert len(await all_items(served)) == 2


async def test_a_repeat_report_joins_an_item_that_was_referred(served: Served) -> None:
    first = await submit(served, "https://de.host.example/joined")
    await assess(served, first.item_id, pb.CLASSIFICATION_NATIONAL)
    again = await submit(served, "https://DE.host.example/joined#x")
    assert again.item_id == first.item_id
    assert (await get_item(served, again.item_id)).state == pb.ITEM_STATE_REFERRED


async def test_after_the_item_is_closed_the_same_url_makes_a_new_item(served: Served) -> None:
    first = await submit(served, CANONICAL)
    await assess(served, first.item_id, pb.CLASSIFICATION_NATIONAL)
    closed = await action(served, first.item_id, pb.ACTION_TYPE_CONTENT_REMOVED)
    assert closed.state == pb.ITEM_STATE_CLOSED_REMOVED
    again = await submit(served, SPELLINGS[2])
    assert again.item_id != first.item_id
    assert (await get_item(served, again.item_id)).state == pb.ITEM_STATE_AWAITING_ASSESSMENT
    assert (await get_item(served, again.item_id)).report_count == 1
    assert (await get_item(served, first.item_id)).report_count == 1
    # ... and a report after that joins the new item, not the closed one.
    third = await submit(served, CANONICAL)
    assert third.item_id == again.item_id


async def test_a_url_closed_as_not_illegal_is_reported_afresh(served: Served) -> None:
    first = await submit(served, CANONICAL)
    closed = await assess(served, first.item_id, pb.CLASSIFICATION_NOT_ILLEGAL)
    assert closed.state == pb.ITEM_STATE_CLOSED_NOT_ILLEGAL
    assert [a.type for a in closed.actions] == [pb.ACTION_TYPE_NOT_ILLEGAL]
    again = await submit(served, CANONICAL)
    assert again.item_id != first.item_id


# ------------------------------------------------------------------------------ known content


async def import_list(served: Served) -> None:
    response = await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            source="partner hotline list",
            hashes=[
                known(pb.HASH_ALGORITHM_SHA256, sha256(77), pb.CLASSIFICATION_BASELINE),
                known(pb.HASH_ALGORITHM_PDQ, PDQ, pb.CLASSIFICATION_NATIONAL),
            ],
        )
    )
    assert (response.imported, response.already_known) == (2, 0)


async def test_another_list_keeps_its_own_entries_beside_the_first(served: Served) -> None:
    await import_list(served)
    again = await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            source="another list",
            hashes=[
                known(pb.HASH_ALGORITHM_SHA256, sha256(77).upper(), pb.CLASSIFICATION_NATIONAL),
                known(pb.HASH_ALGORITHM_SHA256, sha256(78), pb.CLASSIFICATION_NATIONAL),
            ],
        )
    )
    assert (again.imported, again.already_known) == (2, 0)  # per source: the first list's entry is not its own


async def test_a_report_with_a_known_sha256_is_classified_without_an_analyst(served: Served) -> None:
    await import_list(served)
    reported = await submit_hashed(served, "https://nl.host.example/known/1", hashes=[sha(sha256(77).upper())])
    assert reported.known_content and reported.state == pb.ITEM_STATE_AWAITING_LEA
    item = await get_item(served, reported.item_id)
    assert item.known_content
    assert item.assessment.automatic and item.assessment.assessed_by == "known-hash"
    assert item.assessment.classification == pb.CLASSIFICATION_BASELINE
    assert item.assessment.jurisdiction == "NL"
    assert (item.route, item.assigned_node) == (pb.ROUTE_DOMESTIC, "nl-hotline")
    assert [h.value for h in item.hashes] == [sha256(77)]  # stored lower-case
    assert await timeline_kinds(served, reported.item_id) == [
        "item.created",
        "item.known_match",
        "item.assessed",
        "item.routed",
    ]
    # Baseline from a list cannot be overruled by the analyst either.
    refusal = await refused(assess(served, reported.item_id, pb.CLASSIFICATION_NOT_ILLEGAL))
    assert (refusal.code, refusal.field) == (grpc.StatusCode.FAILED_PRECONDITION, "assessment.classification")


async def test_known_content_hosted_abroad_is_referred_at_once(served: Served) -> None:
    await import_list(served)
    reported = await submit_hashed(served, "https://de.host.example/known/2", hashes=[sha(sha256(77))])
    assert reported.known_content and reported.state == pb.ITEM_STATE_REFERRED
    item = await get_item(served, reported.item_id)
    assert (item.assigned_node, item.route) == ("de-hotline", pb.ROUTE_REFERRAL)


async def test_an_unknown_hash_leaves_the_item_for_the_analyst(served: Served) -> None:
    await import_list(served)
    reported = await submit_hashed(served, "https://nl.host.example/unknown", hashes=[sha(sha256(78))])
    assert not reported.known_content and reported.state == pb.ITEM_STATE_AWAITING_ASSESSMENT
    assert not (await get_item(served, reported.item_id)).HasField("assessment")


@pytest.mark.parametrize(
    ("distance", "matches"), [(0, True), (1, True), (16, True), (31, True), (32, False), (64, False)]
)
async def test_a_pdq_hash_matches_within_hamming_distance_31(served: Served, distance: int, matches: bool) -> None:
    await import_list(served)
    near = flip_bits(PDQ, distance)
    assert bin(int(near, 16) ^ int(PDQ, 16)).count("1") == distance
    reported = await submit_hashed(served, f"https://nl.host.example/pdq/{distance}", hashes=[pdq(near)])
    assert reported.known_content is matches
    item = await get_item(served, reported.item_id)
    if matches:
        assert item.assessment.automatic and item.assessment.classification == pb.CLASSIFICATION_NATIONAL
        assert item.state == pb.ITEM_STATE_AWAITING_LEA
    else:
        assert not item.HasField("assessment") and item.state == pb.ITEM_STATE_AWAITING_ASSESSMENT


async def test_an_analysts_assessment_makes_the_items_hashes_known(served: Served) -> None:
    first = await submit_hashed(served, "https://nl.host.example/seen/1", hashes=[sha(sha256(5)), pdq(PDQ)])
    assert not first.known_content
    await assess(served, first.item_id, pb.CLASSIFICATION_BASELINE)
    by_sha = await submit_hashed(served, "https://fr.host.example/seen/2", hashes=[sha(sha256(5))])
    assert by_sha.known_content and by_sha.state == pb.ITEM_STATE_REFERRED
    item = await get_item(served, by_sha.item_id)
    assert item.assessment.automatic and item.assessment.classification == pb.CLASSIFICATION_BASELINE
    assert item.assigned_node == "fr-hotline-a"
    by_pdq = await submit_hashed(served, "https://nl.host.example/seen/3", hashes=[pdq(flip_bits(PDQ, 10))])
    assert by_pdq.known_content
    assert (await get_item(served, by_pdq.item_id)).assessment.classification == pb.CLASSIFICATION_BASELINE
    other = await submit_hashed(served, "https://nl.host.example/seen/4", hashes=[sha(sha256(6))])
    assert not other.known_content


async def test_hashes_of_a_repeat_report_are_added_to_the_item(served: Served) -> None:
    first = await submit_hashed(served, "https://nl.host.example/hashes", hashes=[sha(sha256(1))])
    await submit_hashed(served, "https://nl.host.example/hashes", hashes=[sha(sha256(1)), sha(sha256(2))])
    item = await get_item(served, first.item_id)
    assert sorted(h.value for h in item.hashes) == [sha256(1), sha256(2)]
    assert item.report_count == 2


async def test_a_reassessment_updates_what_the_items_hashes_are_known_as(served: Served) -> None:
    first = await submit_hashed(served, "https://nl.host.example/reassessed/1", hashes=[sha(sha256(9))])
    await assess(served, first.item_id, pb.CLASSIFICATION_DOUBTFUL)
    item = await assess(served, first.item_id, pb.CLASSIFICATION_BASELINE)
    assert item.assessment.classification == pb.CLASSIFICATION_BASELINE
    later = await submit_hashed(served, "https://nl.host.example/reassessed/2", hashes=[sha(sha256(9))])
    assert later.known_content
    # The analyst's last word on this content was BASELINE; the automatic assessment should say so.
    assert (await get_item(served, later.item_id)).assessment.classification == pb.CLASSIFICATION_BASELINE
    assert later.state == pb.ITEM_STATE_AWAITING_LEA


# ------------------------------------------------------------------------------ routing


@pytest.mark.parametrize(
    ("url", "state", "route", "assigned", "referred_to", "country"),
    [
        ("https://nl.host.example/r", pb.ITEM_STATE_AWAITING_LEA, pb.ROUTE_DOMESTIC, "nl-hotline", "", "NL"),
        ("https://de.host.example/r", pb.ITEM_STATE_REFERRED, pb.ROUTE_REFERRAL, "de-hotline", "de-hotline", "DE"),
        ("https://fr.host.example/r", pb.ITEM_STATE_REFERRED, pb.ROUTE_REFERRAL, "fr-hotline-a", "fr-hotline-a", "FR"),
        ("https://br.host.example/r", pb.ITEM_STATE_AWAITING_LEA, pb.ROUTE_FALLBACK_DIRECT, "nl-hotline", "", "BR"),
        ("https://cdn.host.example/r", pb.ITEM_STATE_AWAITING_LEA, pb.ROUTE_FALLBACK_DIRECT, "nl-hotline", "", "US"),
        ("https://sub.de.host.example/r", pb.ITEM_STATE_REFERRED, pb.ROUTE_REFERRAL, "de-hotline", "de-hotline", "DE"),
    ],
    ids=["NL", "DE", "FR-designated", "BR-fallback", "US-cdn", "DE-subdomain"],
)
async def test_an_illegal_item_is_routed_by_its_hosting_country(
    served: Served, url: str, state: int, route: int, assigned: str, referred_to: str, country: str
) -> None:
    item_id = (await submit(served, url)).item_id
    before = await get_item(served, item_id)
    assert before.route == pb.ROUTE_UNSPECIFIED and before.hosting.country == country
    item = await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    assert (item.state, item.route, item.assigned_node, item.referred_to) == (state, route, assigned, referred_to)
    kinds = await timeline_kinds(served, item_id)
    assert "item.routed" in kinds
    assert ("outbox.queued" in kinds) is (state == pb.ITEM_STATE_REFERRED)


async def test_an_item_on_an_unknown_host_waits_for_its_hosting(served: Served) -> None:
    item_id = (await submit(served, "https://unmapped.host.invalid/x")).item_id
    item = await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    assert item.state == pb.ITEM_STATE_AWAITING_HOSTING and item.hosting.country == ""
    item = (
        await served.analyst.cases.OverrideHosting(
            case_pb.OverrideHostingRequest(
                item_id=item_id,
                hosting=pb.HostingFacts(ip="198.51.100.77", country="de", asn=64511),
                reason="traced by hand via the registrar",
            )
        )
    ).item
    assert (item.state, item.assigned_node, item.route) == (pb.ITEM_STATE_REFERRED, "de-hotline", pb.ROUTE_REFERRAL)
    assert item.hosting.country == "DE" and item.hosting.overridden and item.hosting.source == "override"
    assert item.hosting.override_reason == "traced by hand via the registrar"


@pytest.mark.parametrize(
    ("country", "state", "assigned", "route"),
    [
        ("FR", pb.ITEM_STATE_REFERRED, "fr-hotline-a", pb.ROUTE_REFERRAL),
        ("BR", pb.ITEM_STATE_AWAITING_LEA, "nl-hotline", pb.ROUTE_FALLBACK_DIRECT),
    ],
)
async def test_overriding_the_hosting_of_an_item_awaiting_the_lea_reroutes_it(
    served: Served, country: str, state: int, assigned: str, route: int
) -> None:
    item_id = (await submit(served, "https://nl.host.example/override")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    item = (
        await served.analyst.cases.OverrideHosting(
            case_pb.OverrideHostingRequest(
                item_id=item_id, hosting=pb.HostingFacts(country=country), reason="the resolver saw a proxy"
            )
        )
    ).item
    assert (item.state, item.assigned_node, item.route, item.hosting.country) == (state, assigned, route, country)
    assert "item.hosting_overridden" in await timeline_kinds(served, item_id)


async def test_overriding_before_the_assessment_is_used_once_the_item_is_assessed(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/override-early")).item_id
    item = (
        await served.analyst.cases.OverrideHosting(
            case_pb.OverrideHostingRequest(item_id=item_id, hosting=pb.HostingFacts(country="DE"), reason="proxy")
        )
    ).item
    assert item.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and item.hosting.country == "DE"
    item = await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    assert (item.state, item.assigned_node) == (pb.ITEM_STATE_REFERRED, "de-hotline")


async def test_trace_hosting_runs_the_trace_again(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/trace")).item_id
    await served.analyst.cases.OverrideHosting(
        case_pb.OverrideHostingRequest(item_id=item_id, hosting=pb.HostingFacts(country="BR"), reason="guess")
    )
    item = (await served.analyst.cases.TraceHosting(case_pb.TraceHostingRequest(item_id=item_id))).item
    assert item.hosting.country == "NL" and not item.hosting.overridden and item.hosting.source == "static"


async def test_content_moved_abroad_is_referred_to_the_new_country(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/moved")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    ntd = await action(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)
    assert ntd.HasField("deadline_at")
    response = await served.analyst.cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_MOVED, moved_to_country="de")
    )
    item = response.item
    assert response.action.moved_to_country == "DE"
    assert (item.state, item.route, item.assigned_node, item.referred_to) == (
        pb.ITEM_STATE_REFERRED,
        pb.ROUTE_REFERRAL,
        "de-hotline",
        "de-hotline",
    )
    assert item.hosting.country == "DE"
    assert not item.HasField("deadline_at") and not item.HasField("ntd_sent_at")
    assert (await timeline_kinds(served, item_id))[-3:] == ["action.recorded", "item.routed", "outbox.queued"]
    refusal = await refused(
        served.analyst.cases.RecordAction(
            case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_CONTENT_REMOVED)
        )
    )
    assert (refusal.code, refusal.field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id")


async def test_content_moved_where_no_member_is_stays_here(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/moved-far")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    item = await action(served, item_id, pb.ACTION_TYPE_MOVED, moved_to_country="BR")
    assert (item.state, item.route, item.assigned_node) == (
        pb.ITEM_STATE_LEA_NOTIFIED,
        pb.ROUTE_FALLBACK_DIRECT,
        "nl-hotline",
    )
    item = await action(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)  # the NTD goes to the new host
    assert item.state == pb.ITEM_STATE_NTD_SENT


# ------------------------------------------------------------------------------ idempotency


async def counts(served: Served) -> tuple[int, int]:
    return len(await all_events(served)), len(await all_items(served))


async def test_submit_report_with_the_same_request_id_returns_the_first_report(served: Served) -> None:
    request = report("https://nl.host.example/idem/1", "https://de.host.example/idem/2", request_id="form-123")
    first = (await served.intake.intake.SubmitReport(request)).report
    before = await counts(served)
    served.clock.advance(HOUR)
    again = (await served.intake.intake.SubmitReport(request)).report
    assert again.report_id == first.report_id
    assert [i.item_id for i in again.items] == [i.item_id for i in first.items]
    assert again.received_at == first.received_at
    assert await counts(served) == before
    for item in first.items:
        assert (await get_item(served, item.item_id)).report_count == 1
    fetched = (await served.analyst.intake.GetReport(intake_pb.GetReportRequest(report_id=first.report_id))).report
    assert [i.item_id for i in fetched.items] == [i.item_id for i in first.items]


async def test_concurrent_submissions_with_the_same_request_id_store_one_report(served: Served) -> None:
    request = report("https://nl.host.example/idem/race", request_id="form-race")
    responses = await asyncio.gather(*(served.intake.intake.SubmitReport(request) for _ in range(5)))
    assert len({r.report.report_id for r in responses}) == 1
    assert len({r.report.items[0].item_id for r in responses}) == 1
    assert len(await all_items(served)) == 1
    assert sum(1 for e in await all_events(served) if e.kind == "report.received") == 1


async def test_case_writes_with_the_same_request_id_happen_once(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/idem/3")).item_id
    assess_request = case_pb.AssessItemRequest(
        request_id="assess-1", item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL)
    )
    first_assessment = (await served.analyst.cases.AssessItem(assess_request)).item
    before = await counts(served)
    again = (await served.analyst.cases.AssessItem(assess_request)).item
    assert again.assessment == first_assessment.assessment
    assert await counts(served) == before

    action_request = case_pb.RecordActionRequest(request_id="act-1", item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED)
    first_action = await served.analyst.cases.RecordAction(action_request)
    before = await counts(served)
    served.clock.advance(HOUR)
    again_action = await served.analyst.cases.RecordAction(action_request)
    assert again_action.action == first_action.action
    assert await counts(served) == before

    hold_request = lea_pb.PlaceHoldRequest(request_id="hold-1", item_id=item_id, reference="op-9")
    first_hold = (await served.lea.lea.PlaceHold(hold_request)).item.active_hold
    before = await counts(served)
    again_hold = (await served.lea.lea.PlaceHold(hold_request)).item.active_hold
    assert again_hold.hold_id == first_hold.hold_id
    assert await counts(served) == before

    item = await get_item(served, item_id)
    assert [a.type for a in item.actions] == [pb.ACTION_TYPE_LEA_NOTIFIED]
    kinds = await timeline_kinds(served, item_id)
    assert kinds.count("item.assessed") == 1 and kinds.count("hold.placed") == 1


async def test_override_hosting_with_the_same_request_id_happens_once(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/idem/4")).item_id
    request = case_pb.OverrideHostingRequest(
        request_id="ovr-1", item_id=item_id, hosting=pb.HostingFacts(country="BR"), reason="proxy"
    )
    await served.analyst.cases.OverrideHosting(request)
    before = await counts(served)
    item = (await served.analyst.cases.OverrideHosting(request)).item
    assert item.hosting.country == "BR"
    assert await counts(served) == before


async def test_import_known_hashes_with_the_same_request_id_returns_the_first_result(served: Served) -> None:
    request = admin_pb.ImportKnownHashesRequest(
        request_id="import-2026-03",
        source="partner hotline list",
        hashes=[
            known(pb.HASH_ALGORITHM_SHA256, sha256(31), pb.CLASSIFICATION_BASELINE),
            known(pb.HASH_ALGORITHM_MD5, "ab" * 16, pb.CLASSIFICATION_NATIONAL),
        ],
    )
    first = await served.admin.admin.ImportKnownHashes(request)
    assert (first.imported, first.already_known) == (2, 0)
    again = await served.admin.admin.ImportKnownHashes(request)
    assert (again.imported, again.already_known) == (2, 0)  # the first result, not "2 already known"
    # Without a request id the same list is a new import, of hashes already known.
    fresh = await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(source=request.source, hashes=request.hashes)
    )
    assert (fresh.imported, fresh.already_known) == (0, 2)


# ------------------------------------------------------------------------------ pagination


async def test_list_items_pages_without_gaps_or_duplicates(served: Served) -> None:
    created = [(await submit(served, f"https://nl.host.example/page/{i}")).item_id for i in range(12)]
    pages: list[list[str]] = []
    token = ""
    while True:
        page = await served.lea.cases.ListItems(case_pb.ListItemsRequest(page_size=5, page_token=token))
        pages.append([i.item_id for i in page.items])
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [5, 5, 2]
    listed = [item_id for p in pages for item_id in p]
    assert sorted(listed) == sorted(created) and len(set(listed)) == 12
    assert listed == sorted(listed)  # a stable order


async def test_a_full_last_page_still_ends_the_listing(served: Served) -> None:
    for i in range(10):
        await submit(served, f"https://nl.host.example/even/{i}")
    first = await served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_size=5))
    second = await served.analyst.cases.ListItems(
        case_pb.ListItemsRequest(page_size=5, page_token=first.next_page_token)
    )
    assert len(second.items) == 5 and second.next_page_token == ""
    assert (await served.analyst.cases.ListItems(case_pb.ListItemsRequest())).next_page_token == ""


async def test_list_items_filters_by_state_and_country_across_pages(served: Served) -> None:
    nl = [(await submit(served, f"https://nl.host.example/filter/{i}")).item_id for i in range(5)]
    de = [(await submit(served, f"https://de.host.example/filter/{i}")).item_id for i in range(3)]
    for item_id in nl[:3]:
        await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)

    async def listed(**filters: object) -> list[str]:
        ids: list[str] = []
        token = ""
        while True:
            page = await served.analyst.cases.ListItems(
                case_pb.ListItemsRequest(page_size=2, page_token=token, **filters)  # type: ignore[arg-type]
            )
            ids += [i.item_id for i in page.items]
            token = page.next_page_token
            if not token:
                return ids

    assert sorted(await listed(state=pb.ITEM_STATE_AWAITING_LEA)) == sorted(nl[:3])
    assert sorted(await listed(state=pb.ITEM_STATE_AWAITING_ASSESSMENT)) == sorted(nl[3:] + de)
    assert sorted(await listed(hosting_country="DE")) == sorted(de)
    assert sorted(await listed(hosting_country="nl")) == sorted(nl)
    assert await listed(hosting_country="FR") == []
    assert sorted(await listed(state=pb.ITEM_STATE_AWAITING_ASSESSMENT, hosting_country="NL")) == sorted(nl[3:])


async def test_list_items_filters_by_origin_and_by_what_changed_since(served: Served) -> None:
    """updated_since: items with any event at or after it; origin_node: this node's own id gives its own."""
    ids = [(await submit(served, f"https://nl.host.example/since/{i}")).item_id for i in range(3)]
    served.clock.advance(HOUR)
    since = served.clock.now()
    await assess(served, ids[1], pb.CLASSIFICATION_NATIONAL)

    async def listed(**filters: object) -> list[str]:
        page = await served.analyst.cases.ListItems(case_pb.ListItemsRequest(**filters))  # type: ignore[arg-type]
        return [i.item_id for i in page.items]

    assert await listed(updated_since=ts(since)) == [ids[1]]
    assert sorted(await listed(updated_since=ts(since - HOUR))) == sorted(ids)
    assert await listed(updated_since=ts(since + HOUR)) == []
    assert sorted(await listed(origin_node="nl-hotline")) == sorted(ids)
    assert await listed(origin_node="de-hotline") == []  # it referred nothing here
    bad = await refused(served.analyst.cases.ListItems(case_pb.ListItemsRequest(origin_node="DE HOTLINE")))
    assert (bad.code, bad.field) == (grpc.StatusCode.INVALID_ARGUMENT, "origin_node")


async def test_list_events_pages_through_every_event_once(served: Served) -> None:
    for i in range(4):
        await submit(served, f"https://nl.host.example/events/{i}")
    everything = (await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=1000))).events
    assert len(everything) == 8  # report.received and item.created for each
    seen: list[str] = []
    sizes: list[int] = []
    token = ""
    while True:
        page = await served.lea.events.ListEvents(event_pb.ListEventsRequest(page_size=3, page_token=token))
        sizes.append(len(page.events))
        seen += [e.event_id for e in page.events]
        token = page.next_page_token
        if not token:  # caught up: the paging ends (AIP-158)
            break
    assert seen == [e.event_id for e in everything]
    assert sizes == [3, 3, 2]
    # The last event's cursor resumes: later events come after it, and only those.
    await submit(served, "https://nl.host.example/events/late")
    tail = await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token=everything[-1].cursor))
    assert [e.kind for e in tail.events] == ["report.received", "item.created"]
    # An event's own cursor is a page token too.
    resumed = await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token=everything[5].cursor))
    assert [e.event_id for e in resumed.events][:2] == [e.event_id for e in everything[6:]]


async def test_list_tokens_pages_without_gaps_or_duplicates(served: Served) -> None:
    for i in range(7):
        await served.admin.admin.CreateToken(admin_pb.CreateTokenRequest(name=f"form-{i}", roles=[pb.ROLE_INTAKE]))
    names: list[str] = []
    sizes: list[int] = []
    token = ""
    while True:
        page = await served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_size=3, page_token=token))
        names += [t.name for t in page.tokens]
        sizes.append(len(page.tokens))
        token = page.next_page_token
        if not token:
            break
    assert sizes == [3, 3, 3, 3]  # the five tokens of the fixture (one per role) and seven more
    assert sorted(names) == sorted([f"form-{i}" for i in range(7)] + [f"test-{r}" for r in served.tokens])
    assert len(set(names)) == 12


# ------------------------------------------------------------------------------ statistics


async def build_statistics_case(served: Served) -> dict[str, str]:
    """Five items reported at START, with known times: see test_statistics_figures."""
    ids = {
        name: (await submit(served, f"https://{host}.host.example/stats/{name}")).item_id
        for name, host in (("A", "nl"), ("B", "nl"), ("C", "nl"), ("D", "de"), ("E", "br"))
    }
    for item_id in ids.values():
        await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    served.clock.advance(HOUR)  # +1h
    await action(served, ids["A"], pb.ACTION_TYPE_LEA_NOTIFIED)
    served.clock.advance(HOUR)  # +2h
    await action(served, ids["B"], pb.ACTION_TYPE_LEA_NOTIFIED)
    await action(served, ids["A"], pb.ACTION_TYPE_HP_NOTIFIED)
    served.clock.advance(HOUR)  # +3h
    await action(served, ids["E"], pb.ACTION_TYPE_CONTENT_UNAVAILABLE)
    served.clock.advance(HOUR)  # +4h
    await action(served, ids["B"], pb.ACTION_TYPE_HP_NOTIFIED)
    await action(served, ids["A"], pb.ACTION_TYPE_CONTENT_REMOVED)
    served.clock.advance(timedelta(hours=76))  # +80h
    await action(served, ids["B"], pb.ACTION_TYPE_CONTENT_REMOVED)
    return ids


def counted(entries: list[pb.CountEntry]) -> dict[str, int]:
    return {e.key: e.count for e in entries}


async def test_statistics_figures(served: Served) -> None:
    await build_statistics_case(served)
    response = await served.lea.events.GetStatistics(event_pb.GetStatisticsRequest())
    overall = response.overall
    assert overall.hosting_country == "" and overall.item_count == 5
    assert counted(list(overall.by_state)) == {  # keyed by the enum values' names
        "ITEM_STATE_AWAITING_LEA": 1,
        "ITEM_STATE_CLOSED_REMOVED": 2,
        "ITEM_STATE_CLOSED_UNAVAILABLE": 1,
        "ITEM_STATE_REFERRED": 1,
    }
    assert counted(list(overall.by_classification)) == {"CLASSIFICATION_NATIONAL": 5}
    h = 3600.0
    assert (overall.report_to_lea.count, overall.report_to_lea.median_seconds) == (2, 1.5 * h)
    assert overall.report_to_lea.p90_seconds == pytest.approx(1.9 * h)
    assert (overall.report_to_ntd.count, overall.report_to_ntd.median_seconds) == (2, 3 * h)
    assert overall.report_to_ntd.p90_seconds == pytest.approx(3.8 * h)
    # Removed (or found unavailable): E at 3h, A at 4h, B at 80h.
    assert (overall.report_to_removal.count, overall.report_to_removal.median_seconds) == (3, 4 * h)
    assert overall.report_to_removal.p90_seconds == pytest.approx(4 * h + 0.8 * 76 * h)
    assert (overall.removed_count, overall.removed_within_72h_count, overall.illegal_count) == (3, 2, 5)
    # Of the 5 illegal items, 2 went within 72 h (the open one counts as not removed); of the 3 removed, 2.
    assert overall.removed_within_72h_share == pytest.approx(2 / 5)
    assert overall.removed_within_72h_share_of_removed == pytest.approx(2 / 3)

    per_country = {s.hosting_country: s for s in response.by_hosting_country}
    assert [s.hosting_country for s in response.by_hosting_country] == ["BR", "DE", "NL"]
    assert {c: s.item_count for c, s in per_country.items()} == {"BR": 1, "DE": 1, "NL": 3}
    assert per_country["NL"].removed_within_72h_share == pytest.approx(1 / 3)  # A in time, B late, C open
    assert per_country["NL"].removed_within_72h_share_of_removed == pytest.approx(0.5)
    assert per_country["BR"].removed_within_72h_share == pytest.approx(1.0)
    assert per_country["DE"].removed_count == 0 and per_country["DE"].removed_within_72h_share == 0
    assert counted(list(per_country["DE"].by_state)) == {"ITEM_STATE_REFERRED": 1}


async def test_statistics_for_one_hosting_country(served: Served) -> None:
    await build_statistics_case(served)
    response = await served.analyst.events.GetStatistics(event_pb.GetStatisticsRequest(hosting_country="nl"))
    assert response.overall.hosting_country == "NL" and response.overall.item_count == 3
    assert response.overall.removed_count == 2 and response.overall.removed_within_72h_count == 1
    assert [s.hosting_country for s in response.by_hosting_country] == ["NL"]


async def test_statistics_count_items_by_when_they_were_first_reported(served: Served) -> None:
    await build_statistics_case(served)  # five items reported at START; the clock is now START + 80h
    late = await submit(served, "https://nl.host.example/stats/late")  # reported at START + 80h
    early = (
        await served.intake.intake.SubmitReport(
            report("https://nl.host.example/stats/early", received_at=ts(START - timedelta(days=1)))
        )
    ).report.items[0]
    assert (await get_item(served, early.item_id)).first_reported_at.ToDatetime() == (
        START - timedelta(days=1)
    ).replace(tzinfo=None)

    async def count(start: object = None, end: object = None) -> int:
        request = event_pb.GetStatisticsRequest(period_start=start, period_end=end)  # type: ignore[arg-type]
        return (await served.analyst.events.GetStatistics(request)).overall.item_count

    assert await count() == 7
    assert await count(end=ts(START)) == 1  # only the back-dated report; the end is exclusive
    assert await count(start=ts(START), end=ts(START + HOUR)) == 5  # the start is inclusive
    assert await count(start=ts(START + HOUR)) == 1
    assert await count(start=ts(START + 80 * HOUR), end=ts(START + 81 * HOUR)) == 1
    assert late.item_id and early.item_id


# ------------------------------------------------------------------------------ timelines and reports


async def test_an_items_timeline_lists_only_its_own_events_in_order(served: Served) -> None:
    mine = (await submit(served, "https://nl.host.example/timeline/mine")).item_id
    other = (await submit(served, "https://nl.host.example/timeline/other")).item_id
    await assess(served, mine, pb.CLASSIFICATION_NATIONAL)
    await assess(served, other, pb.CLASSIFICATION_NATIONAL)
    served.clock.advance(HOUR)
    await action(served, mine, pb.ACTION_TYPE_LEA_NOTIFIED)
    await submit(served, "https://nl.host.example/timeline/mine#again")
    timeline = (await served.lea.cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=mine))).events
    assert [e.kind for e in timeline] == [
        "item.created",
        "item.assessed",
        "item.routed",
        "action.recorded",
        "item.repeat_report",
    ]
    assert {e.item_id for e in timeline} == {mine}
    states = [e.state for e in timeline]
    assert states[:3] == [
        pb.ITEM_STATE_AWAITING_ASSESSMENT,
        pb.ITEM_STATE_AWAITING_ASSESSMENT,
        pb.ITEM_STATE_AWAITING_LEA,
    ]
    assert states[3:] == [pb.ITEM_STATE_LEA_NOTIFIED, pb.ITEM_STATE_LEA_NOTIFIED]  # the action's event: its new state
    times = [e.occurred_at.ToDatetime() for e in timeline]
    assert times == sorted(times) and times[-1] - times[0] == HOUR
    # The same events, in the same order, as in the node's whole event log.
    everything = [e.event_id for e in await all_events(served) if e.item_id == mine]
    assert [e.event_id for e in timeline] == everything
    assert timeline[0].report_id  # the item was created by a report


async def test_an_action_event_carries_the_state_the_action_led_to(served: Served) -> None:
    """A stream consumer follows items by the state on their events; after LEA_NOTIFIED and HP_NOTIFIED no
    other event follows, so the action's own event must carry the new state."""
    item_id = (await submit(served, "https://nl.host.example/timeline/states")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    await action(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)
    timeline = (await served.analyst.cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=item_id))).events
    assert [e.kind for e in timeline][-2:] == ["action.recorded", "action.recorded"]
    assert [e.state for e in timeline][-2:] == [pb.ITEM_STATE_LEA_NOTIFIED, pb.ITEM_STATE_NTD_SENT]
    # The stream's last word on the item should be its current state.
    assert timeline[-1].state == (await get_item(served, item_id)).state


async def test_get_report_returns_the_report_as_stored(served: Served) -> None:
    submitted = (
        await served.intake.intake.SubmitReport(
            report(
                "https://nl.host.example/rep/1",
                "https://nl.host.example/rep/1#dup",
                "https://de.host.example/rep/2",
                referrer_url="https://forum.example/thread/9",
                reporter=pb.Reporter(name="A. Reporter", email="reporter@mail.example", reference="web-77"),
            )
        )
    ).report
    assert not submitted.anonymous
    assert [i.url for i in submitted.items] == [
        "https://nl.host.example/rep/1",
        "https://nl.host.example/rep/1",
        "https://de.host.example/rep/2",
    ]
    assert submitted.items[0].item_id == submitted.items[1].item_id
    for client in (served.intake, served.analyst):  # its submitter and the analysts (tests/api/test_callers_apart.py)
        fetched = (await client.intake.GetReport(intake_pb.GetReportRequest(report_id=submitted.report_id))).report
        assert fetched.report_id == submitted.report_id
        assert fetched.referrer_url == "https://forum.example/thread/9"
        assert {i.item_id for i in fetched.items} == {i.item_id for i in submitted.items}
    anonymous = (await served.intake.intake.SubmitReport(report("https://nl.host.example/rep/3"))).report
    assert anonymous.anonymous
