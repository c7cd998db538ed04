"""The contract's promises about retries and hosting traces: every call that changes something takes a
request_id and answers a retry with the first result (ReleaseHold and TraceHosting too), and a trace that
found no country says why."""

from __future__ import annotations

import grpc
import pytest

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.hosting import StaticResolver
from tests.api._support import action, assess, refused, submit, timeline_kinds
from tests.conftest import Served


async def test_a_retried_release_hold_returns_the_first_result(served_each: Served) -> None:
    served = served_each  # on SQLite and PostgreSQL
    item_id = (await submit(served, "https://nl.host.example/release")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="case-9"))
    release = lea_pb.ReleaseHoldRequest(item_id=item_id, request_id="release-1")
    first = await served.lea.lea.ReleaseHold(release)
    again = await served.lea.lea.ReleaseHold(release)  # the answer to the first was lost, say
    assert not first.item.HasField("active_hold")
    assert again.item == first.item
    assert (await timeline_kinds(served, item_id)).count("hold.released") == 1
    # Without the request id, a second release is refused: there is no hold to release.
    refusal = await refused(served.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id)))
    assert (refusal.code, refusal.field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id")
    # The same request id for another item is another request.
    other = (await submit(served, "https://nl.host.example/release-other")).item_id
    reused = await refused(served.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=other, request_id="release-1")))
    assert (reused.code, reused.field) == (grpc.StatusCode.ALREADY_EXISTS, "request_id")


async def test_a_retried_trace_returns_the_first_result(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/trace")).item_id
    request = case_pb.TraceHostingRequest(item_id=item_id, request_id="trace-1")
    first = await served.analyst.cases.TraceHosting(request)
    again = await served.analyst.cases.TraceHosting(request)
    assert again.item == first.item
    assert (await timeline_kinds(served, item_id)).count("item.hosting_traced") == 1


async def test_a_trace_says_where_it_got_to(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    located = await submit(served, "https://nl.host.example/located")
    unknown = await submit(served, "https://unlisted.example/page")  # not in the test's hosting table
    trace = served.analyst.cases.TraceHosting
    got = (await trace(case_pb.TraceHostingRequest(item_id=located.item_id))).item.hosting
    assert (got.country, got.trace_outcome) == ("NL", pb.HOSTING_TRACE_OUTCOME_LOCATED)
    got = (await trace(case_pb.TraceHostingRequest(item_id=unknown.item_id))).item.hosting
    assert (got.country, got.trace_outcome) == ("", pb.HOSTING_TRACE_OUTCOME_NOT_RESOLVED)

    def broken(self: StaticResolver, host: str) -> None:
        raise OSError("the resolver broke")

    monkeypatch.setattr(StaticResolver, "resolve", broken)
    got = (await trace(case_pb.TraceHostingRequest(item_id=unknown.item_id))).item.hosting
    assert (got.country, got.trace_outcome) == ("", pb.HOSTING_TRACE_OUTCOME_FAILED)
    override = case_pb.OverrideHostingRequest(
        item_id=unknown.item_id, hosting=pb.HostingFacts(country="DE"), reason="checked by hand"
    )
    got = (await served.analyst.cases.OverrideHosting(override)).item.hosting
    assert (got.country, got.trace_outcome) == ("DE", pb.HOSTING_TRACE_OUTCOME_UNSPECIFIED)
