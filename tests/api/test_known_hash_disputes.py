"""Disputes of known-hash matches (issue 16, item 3), through the gRPC API on SQLite and PostgreSQL:
- framing by the node's own hashing tool: a listed hash on a news article classifies it BASELINE; the analyst
  disputes the match, the item returns to assessment and the BASELINE is overruled;
- a dispute on a match from an imported list is counted on the list's entry, which stays as imported;
- after node.known_hash_dispute_limit disputes an entry matches no more (a hint only) until re-confirmed;
- an analyst's own BASELINE stays final; bad disputes are refused and change nothing.

Every hash is synthetic (not the hash of anything); every URL is under a reserved domain.
"""

from __future__ import annotations

import grpc

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.app import SYSTEM
from node.cases.model import Role
from tests.api._known_hashes import Serve, h, hashed, serve
from tests.api._support import all_events, assess, get_item, known, refused, snapshot, timeline_kinds
from tests.conftest import Served

__all__ = ["serve"]  # the fixture


async def import_official(served: Served, *hashes: pb.ContentHash) -> None:
    await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            source="official",
            version="2026-12",
            hashes=[known(x.algorithm, x.value, pb.CLASSIFICATION_BASELINE) for x in hashes],
        )
    )


async def dispute(served: Served, item_id: str, reason: str = "a news photo, not the listed image") -> pb.Item:
    response = await served.analyst.cases.DisputeKnownMatch(
        case_pb.DisputeKnownMatchRequest(item_id=item_id, reason=reason)
    )
    return response.item


async def matched_id(served: Served) -> int:
    """The known-hash entry the (first) match named."""
    return int((await details(served, "item.known_match"))[0].removeprefix("known_hash="))


async def details(served: Served, kind: str) -> list[str]:
    return [e.detail for e in await all_events(served) if e.kind == kind]


async def test_a_disputed_match_from_an_imported_list_returns_the_item_and_may_be_overruled(serve: Serve) -> None:
    served = await serve()
    await import_official(served, h())
    framed = await hashed(served, "https://nl.host.example/news/article", h())
    item = await get_item(served, framed)
    assert item.known_content and item.assessment.automatic
    assert (item.assessment.classification, item.state) == (pb.CLASSIFICATION_BASELINE, pb.ITEM_STATE_AWAITING_LEA)

    disputed = await dispute(served, framed)
    assert disputed.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and not disputed.known_content
    kinds = await timeline_kinds(served, framed)
    assert kinds.index("item.known_match") < kinds.index("item.match_disputed") < kinds.index("known_hash.disputed")
    [counted] = await details(served, "known_hash.disputed")
    assert "official 2026-12: BASELINE" in counted and "(1 of 3)" in counted

    # The BASELINE that came from the match is overruled; the list's entry is as imported.
    closed = await assess(served, framed, pb.CLASSIFICATION_NOT_ILLEGAL)
    assert closed.state == pb.ITEM_STATE_CLOSED_NOT_ILLEGAL
    # Still matching: one dispute is below the limit.
    again = await get_item(served, await hashed(served, "https://nl.host.example/news/other", h()))
    assert again.known_content and again.state == pb.ITEM_STATE_AWAITING_LEA


async def test_an_entry_disputed_to_the_limit_stops_matching_until_re_confirmed(serve: Serve) -> None:
    served = await serve(known_hash_dispute_limit=2)
    await import_official(served, h())
    for n in (1, 2):
        await dispute(served, await hashed(served, f"https://nl.host.example/news/{n}", h()))
    suspended = await details(served, "known_hash.suspended")
    assert len(suspended) == 1 and "(2 of 2)" in suspended[0]

    # Suspended: a hint for the analyst, never a classification.
    hint = await get_item(served, await hashed(served, "https://nl.host.example/news/3", h()))
    assert hint.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and not hint.known_content
    assert "item.known_hash_hint" in await timeline_kinds(served, hint.item_id)

    entry = served.node.cases.confirm_known_hash(SYSTEM, await matched_id(served))  # the operator's command
    assert entry.disputes == 0
    assert await details(served, "known_hash.confirmed")
    matched = await get_item(served, await hashed(served, "https://nl.host.example/news/4", h()))
    assert matched.known_content and matched.state == pb.ITEM_STATE_AWAITING_LEA


async def test_an_analysts_baseline_stays_final_and_bad_disputes_change_nothing(serve: Serve) -> None:
    served = await serve()
    await import_official(served, h())
    matched = await hashed(served, "https://nl.host.example/news/matched", h())
    by_analyst = await hashed(served, "https://nl.host.example/assessed", h("b2" * 32))
    assert (await assess(served, by_analyst, pb.CLASSIFICATION_BASELINE)).state == pb.ITEM_STATE_AWAITING_LEA
    abroad = await hashed(served, "https://de.host.example/referred", h())  # matched, and referred to DE
    assert (await get_item(served, abroad)).state == pb.ITEM_STATE_REFERRED
    told = await hashed(served, "https://nl.host.example/news/told", h())  # matched, and the police were told
    await served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=told, type=pb.ACTION_TYPE_LEA_NOTIFIED))
    before = await snapshot(served)

    async def refusal_of(item_id: str, reason: str = "wrong") -> tuple[grpc.StatusCode, str, str]:
        r = await refused(dispute(served, item_id, reason))
        return r.code, r.field, r.message

    code, field, message = await refusal_of(by_analyst)
    assert (code, field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id") and "analyst" in message
    code, field, message = await refusal_of(told)
    assert (code, field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id") and "LEA_NOTIFIED" in message
    code, field, message = await refusal_of(abroad)  # the hotline of the country it is hosted in has it
    assert (code, field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id") and "de-hotline" in message
    assert (await refusal_of(matched, "  "))[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "reason")
    assert (await refusal_of(matched, "x" * 2001))[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "reason")
    assert (await refusal_of("01a24c49-0000-7000-8000-000000000000"))[0] == grpc.StatusCode.NOT_FOUND
    refusal = await refused(
        served.clients[Role.HASHER].cases.DisputeKnownMatch(case_pb.DisputeKnownMatchRequest(item_id=matched))
    )
    assert refusal.code == grpc.StatusCode.PERMISSION_DENIED
    # The match's BASELINE is not overruled without a dispute, and the refusal says how.
    refusal = await refused(assess(served, matched, pb.CLASSIFICATION_NOT_ILLEGAL))
    assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION and "DisputeKnownMatch" in refusal.message
    assert await snapshot(served) == before

    # A match disputed once is not disputed again: the item is back with the analyst.
    await dispute(served, matched)
    assert (await refusal_of(matched))[0] == grpc.StatusCode.FAILED_PRECONDITION
