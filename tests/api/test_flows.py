"""Integrator flows over real gRPC: events and resuming, idempotent creates, pagination, known content,
the domestic flow to removal, and statistics."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.api._support import submit_hashed
from tests.conftest import Served

SHA256 = "5e" * 32
PDQ = "f0" * 32


def report(
    *urls: str, request_id: str = "", hashes: list[pb.ContentHash] | None = None
) -> intake_pb.SubmitReportRequest:
    return intake_pb.SubmitReportRequest(
        request_id=request_id, urls=[intake_pb.ReportedUrl(url=u, hashes=hashes or []) for u in urls]
    )


async def all_events(served: Served) -> list[pb.Event]:
    return list((await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=1000))).events)


async def test_streaming_resumes_from_a_cursor_without_losing_or_repeating(served: Served) -> None:
    await served.intake.intake.SubmitReport(report("https://nl.host.example/1"))
    seen: list[pb.Event] = []
    stream = served.analyst.events.StreamEvents(event_pb.StreamEventsRequest())
    async with asyncio.timeout(10):
        async for response in stream:
            seen.append(response.event)
            if len(seen) == 2:  # the backlog: report.received, item.created
                await served.intake.intake.SubmitReport(report("https://nl.host.example/2"))
            if len(seen) == 4:  # the live events of the second report
                break
    stream.cancel()
    await served.intake.intake.SubmitReport(report("https://nl.host.example/3"))  # while disconnected
    resumed: list[pb.Event] = []
    stream = served.analyst.events.StreamEvents(event_pb.StreamEventsRequest(after_cursor=seen[-1].cursor))
    async with asyncio.timeout(10):
        async for response in stream:
            resumed.append(response.event)
            if len(resumed) == 2:
                break
    stream.cancel()
    everything = await all_events(served)
    assert [e.event_id for e in seen + resumed] == [e.event_id for e in everything]


async def test_repeated_creates_with_the_same_request_id_return_the_first_result(served: Served) -> None:
    first = await served.intake.intake.SubmitReport(report("https://nl.host.example/a", request_id="form-7"))
    again = await served.intake.intake.SubmitReport(report("https://nl.host.example/a", request_id="form-7"))
    assert again.report == first.report
    item_id = first.report.items[0].item_id
    assess = case_pb.AssessItemRequest(
        request_id="assess-1", item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL)
    )
    await served.analyst.cases.AssessItem(assess)
    action = case_pb.RecordActionRequest(request_id="act-1", item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED)
    first_action = await served.analyst.cases.RecordAction(action)
    events_before = len(await all_events(served))
    await served.analyst.cases.AssessItem(assess)
    second_action = await served.analyst.cases.RecordAction(action)
    assert second_action.action == first_action.action
    assert len(await all_events(served)) == events_before
    item = (await served.analyst.cases.GetItem(case_pb.GetItemRequest(item_id=item_id))).item
    assert [a.type for a in item.actions] == [pb.ACTION_TYPE_LEA_NOTIFIED]


async def test_list_items_pages_without_gaps_or_duplicates(served: Served) -> None:
    for i in range(12):
        await served.intake.intake.SubmitReport(report(f"https://nl.host.example/page/{i}"))
    ids: list[str] = []
    token, pages = "", 0
    while True:
        page = await served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_size=5, page_token=token))
        ids += [i.item_id for i in page.items]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and len(ids) == 12 and len(set(ids)) == 12


async def test_known_content_is_classified_without_an_analyst(served: Served) -> None:
    await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            source="shared list",
            hashes=[
                admin_pb.KnownHash(
                    hash=pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=SHA256),
                    classification=pb.CLASSIFICATION_BASELINE,
                ),
                admin_pb.KnownHash(
                    hash=pb.ContentHash(algorithm=pb.HASH_ALGORITHM_PDQ, value=PDQ),
                    classification=pb.CLASSIFICATION_NATIONAL,
                ),
            ],
        )
    )
    # Hashes the hotline's own tool computed (a hasher token): trusted, so they match with no analyst.
    exact = await submit_hashed(
        served, "https://nl.host.example/k1", [pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=SHA256)]
    )
    assert exact.known_content
    near = bytearray(bytes.fromhex(PDQ))
    near[0] ^= 0b0111_1111  # 7 bits away
    near[1] ^= 0xFF  # 15 bits away
    near[2] ^= 0xFF  # 23 bits away
    near[3] ^= 0xFF  # 31 bits: the default threshold still matches
    pdq_near = await submit_hashed(
        served, "https://nl.host.example/k2", [pb.ContentHash(algorithm=pb.HASH_ALGORITHM_PDQ, value=near.hex())]
    )
    assert pdq_near.known_content
    near[4] ^= 0x01  # 32 bits: too far
    pdq_far = await submit_hashed(
        served, "https://nl.host.example/k3", [pb.ContentHash(algorithm=pb.HASH_ALGORITHM_PDQ, value=near.hex())]
    )
    assert not pdq_far.known_content
    assert exact.assessment.automatic and exact.assessment.classification == pb.CLASSIFICATION_BASELINE
    assert exact.state == pb.ITEM_STATE_AWAITING_LEA


async def test_the_domestic_flow_to_removal_with_a_hold_and_an_escalation(served: Served) -> None:
    item_id = (await served.intake.intake.SubmitReport(report("https://nl.host.example/flow"))).report.items[0].item_id
    cases = served.analyst.cases
    await cases.AssessItem(
        case_pb.AssessItemRequest(item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL))
    )
    await cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED))
    await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="op-1"))
    await served.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id))
    item = (
        await cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_HP_NOTIFIED))
    ).item
    assert item.deadline_at.ToDatetime() - item.ntd_sent_at.ToDatetime() == timedelta(hours=72)
    served.clock.advance(timedelta(hours=73))
    assert served.node.cases.escalate_overdue() == [item_id]
    assert served.node.cases.escalate_overdue() == []
    item = (
        await cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_CONTENT_REMOVED))
    ).item
    assert item.state == pb.ITEM_STATE_CLOSED_REMOVED and item.escalated
    kinds = [e.kind for e in (await cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=item_id))).events]
    assert kinds == [
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
    stats = (await served.analyst.events.GetStatistics(event_pb.GetStatisticsRequest())).overall
    assert stats.removed_count == 1 and stats.removed_within_72h_count == 0
    assert stats.report_to_removal.median_seconds == 73 * 3600
    per_country = (await served.analyst.events.GetStatistics(event_pb.GetStatisticsRequest())).by_hosting_country
    assert [s.hosting_country for s in per_country] == ["NL"]


async def test_a_referral_can_be_withdrawn_and_its_custody_listed(served: Served) -> None:
    item_id = (await served.intake.intake.SubmitReport(report("https://de.host.example/w"))).report.items[0].item_id
    await served.analyst.cases.AssessItem(
        case_pb.AssessItemRequest(item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL))
    )
    receipts = await served.lea.cases.ListReceipts(case_pb.ListReceiptsRequest(item_id=item_id))
    assert list(receipts.receipts) == []  # nothing delivered yet: the referral waits in the outbox
    withdrawn = await served.analyst.cases.WithdrawReferral(
        case_pb.WithdrawReferralRequest(item_id=item_id, reason="reported in error")
    )
    assert withdrawn.item.state == pb.ITEM_STATE_WITHDRAWN
    kinds = [
        e.kind
        for e in (await served.analyst.cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=item_id))).events
    ]
    assert kinds[-2:] == ["outbox.queued", "item.closed"]
