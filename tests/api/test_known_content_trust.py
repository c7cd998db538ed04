"""Known content the node can trust (issue 16, items 1, 2 and 5), through the gRPC API on SQLite and PostgreSQL:
- poisoning: a NOT_ILLEGAL verdict on a harmless page never closes a later report without an analyst, and an
  official list imported afterwards is not skipped;
- framing: a listed hash claimed on an arbitrary URL classifies, refers and notifies nothing by itself;
- no oracle: the intake reply is the same whether a hash matches or not;
- a claimed hash teaches nothing; an attested or hasher-computed one does, if the verdict is illegal.

Every hash is synthetic (not the hash of anything); every URL is under a reserved domain.
"""

from __future__ import annotations

import grpc
import pytest

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.model import Role
from tests.api._known_hashes import H, Serve, h, hashed, serve
from tests.api._support import all_events, assess, get_item, known, refused, report, snapshot, timeline_kinds
from tests.conftest import Served

__all__ = ["serve"]  # the fixture

P = "f0" * 32  # a PDQ hash, synthetic
PDQ = pb.HASH_ALGORITHM_PDQ


def near(pdq: str, bits: int) -> str:
    """A PDQ hash `bits` bits from `pdq`."""
    flipped = bytearray(bytes.fromhex(pdq))
    for bit in range(bits):
        flipped[bit // 8] ^= 1 << (bit % 8)
    return flipped.hex()


async def claim(served: Served, url: str, *hashes: pb.ContentHash) -> str:
    """An intake caller (a report form) reports `url` with hashes it merely claims; the item id."""
    response = await served.intake.intake.SubmitReport(report(url, hashes=list(hashes)))
    return response.report.items[0].item_id


async def import_list(
    served: Served, source: str, classification: int, *hashes: pb.ContentHash, version: str = "2026-12"
) -> admin_pb.ImportKnownHashesResponse:
    return await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            source=source,
            version=version,
            hashes=[known(x.algorithm, x.value, classification) for x in hashes],
        )
    )


async def events_of(served: Served, kind: str) -> list[pb.Event]:
    return [e for e in await all_events(served) if e.kind == kind]


async def test_poisoning_a_not_illegal_verdict_closes_nothing_and_the_official_list_is_not_skipped(
    serve: Serve,
) -> None:
    served = await serve(learn_not_illegal=True)  # the opt-in "known not illegal" set, at its most generous
    # A harmless page, hashed by the hotline's own tool (or a cloaking site showing the tool something else),
    # assessed NOT_ILLEGAL by an analyst.
    harmless = await hashed(served, "https://nl.host.example/holiday/1", h(), h(P, PDQ))
    closed = await assess(served, harmless, pb.CLASSIFICATION_NOT_ILLEGAL)
    assert closed.state == pb.ITEM_STATE_CLOSED_NOT_ILLEGAL

    # Later reports of other URLs with H, or with a PDQ 20 bits from P, are not closed without an analyst.
    again = await hashed(served, "https://nl.host.example/other/2", h())
    pdq_near = await hashed(served, "https://nl.host.example/other/3", h(near(P, 20), PDQ))
    for item_id in (again, pdq_near):
        item = await get_item(served, item_id)
        assert item.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and not item.known_content
        assert not item.HasField("assessment")
        assert "item.known_hash_hint" in await timeline_kinds(served, item_id)  # shown to the analyst

    # The official list, imported afterwards with H as BASELINE, is not skipped: its entry stands beside the
    # learned one, and the disagreement is surfaced.
    imported = await import_list(served, "official", pb.CLASSIFICATION_BASELINE, h())
    assert (imported.imported, imported.already_known) == (1, 0)
    conflicts = await events_of(served, "known_hash.conflict")
    assert conflicts and "official counts" in conflicts[-1].detail and "learned-not-illegal" in conflicts[-1].detail

    # By the default precedence the list counts: new content with H is known, BASELINE, with no analyst.
    after = await get_item(served, await hashed(served, "https://nl.host.example/other/4", h()))
    assert after.known_content and after.assessment.automatic
    assert after.assessment.classification == pb.CLASSIFICATION_BASELINE
    assert after.state == pb.ITEM_STATE_AWAITING_LEA
    assert "known_hash.conflict" in await timeline_kinds(served, after.item_id)


async def test_by_default_a_not_illegal_verdict_teaches_nothing(serve: Serve) -> None:
    served = await serve()
    harmless = await hashed(served, "https://nl.host.example/holiday/1", h())
    await assess(served, harmless, pb.CLASSIFICATION_NOT_ILLEGAL)
    later = await hashed(served, "https://nl.host.example/other/2", h())
    assert (await get_item(served, later)).state == pb.ITEM_STATE_AWAITING_ASSESSMENT
    assert "item.known_hash_hint" not in await timeline_kinds(served, later)  # nothing known about H at all


async def test_the_configured_precedence_decides_a_conflict(serve: Serve) -> None:
    served = await serve(learn_not_illegal=True, known_hash_precedence=["learned-not-illegal", "official"])
    await assess(served, await hashed(served, "https://nl.host.example/holiday/1", h()), pb.CLASSIFICATION_NOT_ILLEGAL)
    await import_list(served, "official", pb.CLASSIFICATION_BASELINE, h())
    conflict = (await events_of(served, "known_hash.conflict"))[-1]
    assert "learned-not-illegal counts" in conflict.detail
    # The winner is not illegal: a hint, and an analyst decides. Nothing is closed.
    later = await get_item(served, await hashed(served, "https://nl.host.example/other/2", h()))
    assert later.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and not later.known_content


@pytest.mark.parametrize("url", ["https://nl.host.example/news/article", "https://de.host.example/news/article"])
async def test_framing_a_listed_hash_claimed_on_any_url_decides_nothing(serve: Serve, url: str) -> None:
    served = await serve()
    await import_list(served, "official", pb.CLASSIFICATION_BASELINE, h(), h(P, PDQ))
    framed = [await claim(served, url, h()), await claim(served, url + "/2", h(near(P, 10), PDQ))]
    for item_id in framed:
        item = await get_item(served, item_id)
        # Not BASELINE, not routed: no LEA notice at home, no referral abroad.
        assert item.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and not item.known_content
        assert not item.HasField("assessment") and not item.actions and not item.referred_to
        assert [x.provenance for x in item.hashes] == [pb.HASH_PROVENANCE_CLAIMED]
        kinds = await timeline_kinds(served, item_id)
        assert "item.known_hash_hint" in kinds and "item.known_match" not in kinds and "outbox.queued" not in kinds
        # The analyst decides, and can say NOT_ILLEGAL: there is no BASELINE to overrule.
        assert (await assess(served, item_id, pb.CLASSIFICATION_NOT_ILLEGAL)).state == pb.ITEM_STATE_CLOSED_NOT_ILLEGAL
    # The list still stands for content the hotline's own tool hashed.
    assert (await get_item(served, await hashed(served, url + "/3", h()))).known_content


async def test_no_oracle_the_reply_is_the_same_whether_a_hash_matches_or_not(serve: Serve) -> None:
    served = await serve()
    await import_list(served, "official", pb.CLASSIFICATION_BASELINE, h(), h(P, PDQ))
    cases = [
        (h(), h("b2" * 32)),  # on the list, and not
        (h(near(P, 31), PDQ), h(near(P, 32), PDQ)),  # within the PDQ threshold, and just beyond it
    ]
    for caller, client in (("form", served.intake), ("hasher", served.clients[Role.HASHER])):
        for n, (matching, other) in enumerate(cases):
            replies = []
            for m, content_hash in enumerate((matching, other)):
                response = await client.intake.SubmitReport(
                    report(f"https://nl.host.example/oracle/{caller}/{n}/{m}", hashes=[content_hash])
                )
                got = await client.intake.GetReport(intake_pb.GetReportRequest(report_id=response.report.report_id))
                replies.append(_masked(response.report))
                assert _masked(got.report) == replies[-1]
            assert replies[0] == replies[1]
            (reported,) = replies[0].items
            assert not reported.known_content and reported.state == pb.ITEM_STATE_UNSPECIFIED
    # The analyst sees the difference; the intake caller does not.
    items = {i.url: i for i in await _all(served)}
    assert items["https://nl.host.example/oracle/hasher/0/0"].known_content
    assert not items["https://nl.host.example/oracle/hasher/0/1"].known_content


def _masked(message: pb.Report) -> pb.Report:
    """The reply without what differs between any two reports (ids, URLs, times)."""
    masked = pb.Report()
    masked.CopyFrom(message)
    masked.report_id = ""
    masked.ClearField("received_at")
    for item in masked.items:
        item.item_id, item.url = "", ""
    return masked


async def _all(served: Served) -> list[pb.Item]:
    return list((await served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_size=500))).items)


async def test_a_claimed_hash_on_a_harmless_url_teaches_nothing(serve: Serve) -> None:
    served = await serve(learn_not_illegal=True)
    # Claimed on a harmless page and assessed NOT_ILLEGAL: no "known not illegal" for H.
    await assess(served, await claim(served, "https://nl.host.example/harmless", h()), pb.CLASSIFICATION_NOT_ILLEGAL)
    # Claimed on a page the analyst finds illegal: the verdict is about the page, not about H.
    await assess(
        served, await claim(served, "https://nl.host.example/illegal", h("c3" * 32)), pb.CLASSIFICATION_BASELINE
    )
    for value in (H, "c3" * 32):
        later = await hashed(served, f"https://nl.host.example/later/{value[:2]}", h(value))
        assert (await get_item(served, later)).state == pb.ITEM_STATE_AWAITING_ASSESSMENT
        assert "item.known_hash_hint" not in await timeline_kinds(served, later)


async def test_an_attested_hash_of_an_illegal_item_becomes_known_content(serve: Serve) -> None:
    served = await serve()
    item_id = await claim(served, "https://nl.host.example/illegal", h())
    assessed = await served.analyst.cases.AssessItem(
        case_pb.AssessItemRequest(
            item_id=item_id,
            assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL),
            attested_hashes=[h(), h(P, PDQ)],
        )
    )
    assert {x.provenance for x in assessed.item.hashes} == {pb.HASH_PROVENANCE_ANALYST}
    assert "item.hashes_attested" in await timeline_kinds(served, item_id)
    later = await get_item(served, await hashed(served, "https://nl.host.example/again", h(near(P, 12), PDQ)))
    assert later.known_content and later.assessment.classification == pb.CLASSIFICATION_NATIONAL
    # A claimed copy of the same hash is still only a hint.
    claimed = await get_item(served, await claim(served, "https://nl.host.example/claimed", h()))
    assert claimed.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and not claimed.known_content


async def test_a_hasher_confirms_a_claimed_hash_on_a_repeat_report(serve: Serve) -> None:
    served = await serve()
    item_id = await claim(served, "https://nl.host.example/page", h())
    assert await hashed(served, "https://nl.host.example/page", h()) == item_id  # joins the open item
    assert [x.provenance for x in (await get_item(served, item_id)).hashes] == [pb.HASH_PROVENANCE_HASHER]


async def test_bad_known_hash_requests_are_refused_and_change_nothing(serve: Serve) -> None:
    served = await serve()
    item_id = await claim(served, "https://nl.host.example/page", h())
    before = await snapshot(served)
    for source in ("learned", "learned-not-illegal"):
        refusal = await refused(import_list(served, source, pb.CLASSIFICATION_BASELINE, h()))
        assert (refusal.code, refusal.field) == (grpc.StatusCode.INVALID_ARGUMENT, "source")
    refusal = await refused(import_list(served, "official", pb.CLASSIFICATION_BASELINE, h(), version="v" * 65))
    assert (refusal.code, refusal.field) == (grpc.StatusCode.INVALID_ARGUMENT, "version")
    refusal = await refused(
        served.analyst.cases.AssessItem(
            case_pb.AssessItemRequest(
                item_id=item_id,
                assessment=pb.Assessment(classification=pb.CLASSIFICATION_BASELINE),
                attested_hashes=[h("zz")],
            )
        )
    )
    assert (refusal.code, refusal.field) == (grpc.StatusCode.INVALID_ARGUMENT, "attested_hashes[0].value")
    too_many = [h(f"{n:064x}") for n in range(17)]
    refusal = await refused(
        served.analyst.cases.AssessItem(
            case_pb.AssessItemRequest(
                item_id=item_id,
                assessment=pb.Assessment(classification=pb.CLASSIFICATION_BASELINE),
                attested_hashes=too_many,
            )
        )
    )
    assert (refusal.code, refusal.field) == (grpc.StatusCode.INVALID_ARGUMENT, "attested_hashes")
    assert await snapshot(served) == before
