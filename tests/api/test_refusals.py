"""Every kind of bad input gets a clear error naming the field, and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.conftest import Served

SHA256 = "ab" * 32


async def refused(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str, str]:
    """(code, message, field named by the google.rpc details) of a call that must fail."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = caught.value
    field = ""
    status = rpc_status.from_call(error)
    if status is not None and status.details:
        detail = status.details[0]
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field = bad.field_violations[0].field
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            field = failure.violations[0].subject
    return error.code(), error.details() or "", field


async def event_count(served: Served) -> int:
    response = await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=1000))
    return len(response.events)


def report(*urls: str, **kwargs: Any) -> intake_pb.SubmitReportRequest:
    return intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url=u) for u in urls], **kwargs)


async def new_item(served: Served, url: str = "https://nl.host.example/item") -> str:
    response = await served.intake.intake.SubmitReport(report(url))
    return response.report.items[0].item_id


async def assess(served: Served, item_id: str, classification: int) -> pb.Item:
    response = await served.analyst.cases.AssessItem(
        case_pb.AssessItemRequest(item_id=item_id, assessment=pb.Assessment(classification=classification))  # type: ignore[arg-type]
    )
    return response.item


BAD_REPORTS: list[tuple[str, Callable[[], intake_pb.SubmitReportRequest], str, str]] = [
    ("ftp URL", lambda: report("ftp://nl.host.example/a"), "urls[0].url", "only http and https"),
    ("javascript URL", lambda: report("javascript:alert(1)"), "urls[0].url", "only http and https"),
    ("URL over 8 KiB", lambda: report("https://nl.host.example/" + "a" * 8200), "urls[0].url", "8192 bytes"),
    ("no URLs", lambda: report(), "urls", "at least one URL"),
    ("too many URLs", lambda: report(*(f"https://nl.host.example/{i}" for i in range(101))), "urls", "at most 100"),
    (
        "hash of the wrong length",
        lambda: intake_pb.SubmitReportRequest(
            urls=[
                intake_pb.ReportedUrl(
                    url="https://nl.host.example/a",
                    hashes=[pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value="ab" * 31)],
                )
            ]
        ),
        "urls[0].hashes[0].value",
        "32 bytes",
    ),
    (
        "hash that is not hex",
        lambda: intake_pb.SubmitReportRequest(
            urls=[
                intake_pb.ReportedUrl(
                    url="https://nl.host.example/a",
                    hashes=[pb.ContentHash(algorithm=pb.HASH_ALGORITHM_MD5, value="zz" * 16)],
                )
            ]
        ),
        "urls[0].hashes[0].value",
        "hex",
    ),
    (
        "unknown hash algorithm",
        lambda: intake_pb.SubmitReportRequest(
            urls=[
                intake_pb.ReportedUrl(
                    url="https://nl.host.example/a", hashes=[pb.ContentHash(algorithm=99, value=SHA256)]
                )
            ]  # type: ignore[arg-type]
        ),
        "urls[0].hashes[0].algorithm",
        "unknown enum value 99",
    ),
    (
        "anonymous reporter with a name",
        lambda: report("https://nl.host.example/a", reporter=pb.Reporter(anonymous=True, name="Somebody")),
        "reporter.anonymous",
        "anonymous",
    ),
    ("bad request id", lambda: report("https://nl.host.example/a", request_id="white space"), "request_id", "A-Z"),
]


@pytest.mark.parametrize(("label", "make", "field", "text"), BAD_REPORTS, ids=[b[0] for b in BAD_REPORTS])
async def test_a_bad_report_is_refused_naming_the_field_and_writes_nothing(
    served: Served, label: str, make: Callable[[], intake_pb.SubmitReportRequest], field: str, text: str
) -> None:
    before = await event_count(served)
    code, message, named = await refused(served.intake.intake.SubmitReport(make()))
    assert code is grpc.StatusCode.INVALID_ARGUMENT, label
    assert named == field and text in message, (label, named, message)
    assert await event_count(served) == before


async def test_a_report_dated_in_the_future_is_refused(served: Served) -> None:
    future = Timestamp()
    future.FromDatetime(served.clock.now() + timedelta(days=1))
    code, _, field = await refused(
        served.intake.intake.SubmitReport(report("https://nl.host.example/a", received_at=future))
    )
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "received_at")


async def test_an_oversize_message_is_refused(served: Served) -> None:
    urls = [f"https://nl.host.example/{i}/" + "a" * 8000 for i in range(140)]  # about 1.1 MiB
    code, _, _ = await refused(served.intake.intake.SubmitReport(report(*urls)))
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await event_count(served) == 0


async def test_unknown_enum_values_are_refused_naming_the_field(served: Served) -> None:
    item_id = await new_item(served)
    code, message, field = await refused(assess(served, item_id, 42))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "assessment.classification")
    assert "unknown enum value 42" in message
    code, _, field = await refused(
        served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=77))
    )  # type: ignore[arg-type]
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "type")
    code, _, field = await refused(assess(served, item_id, pb.CLASSIFICATION_UNSPECIFIED))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "assessment.classification")
    item = (await served.analyst.cases.GetItem(case_pb.GetItemRequest(item_id=item_id))).item
    assert item.state == pb.ITEM_STATE_AWAITING_ASSESSMENT and not item.HasField("assessment")


async def test_baseline_cannot_be_overruled(served: Served) -> None:
    item_id = await new_item(served)
    await assess(served, item_id, pb.CLASSIFICATION_BASELINE)
    before = await event_count(served)
    code, message, field = await refused(assess(served, item_id, pb.CLASSIFICATION_NATIONAL))
    assert (code, field) == (grpc.StatusCode.FAILED_PRECONDITION, "assessment.classification")
    assert "BASELINE" in message
    assert await event_count(served) == before


async def test_an_action_on_an_item_another_node_is_assigned_to_is_refused(served: Served) -> None:
    item_id = await new_item(served, "https://de.host.example/a")
    item = await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    assert item.assigned_node == "de-hotline"
    code, message, field = await refused(
        served.analyst.cases.RecordAction(
            case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED)
        )
    )
    assert (code, field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id")
    assert "de-hotline" in message


async def test_workflow_order_is_enforced(served: Served) -> None:
    item_id = await new_item(served)
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    code, message, _ = await refused(
        served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_HP_NOTIFIED))
    )
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "LEA_NOTIFIED" in message
    await served.analyst.cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED)
    )
    await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="case-1"))
    code, message, _ = await refused(
        served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_HP_NOTIFIED))
    )
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "hold" in message
    code, _, field = await refused(
        served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_MOVED))
    )
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "moved_to_country")


async def test_a_hold_must_end_in_the_future(served: Served) -> None:
    item_id = await new_item(served)
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    past = Timestamp()
    past.FromDatetime(served.clock.now() - timedelta(hours=1))
    code, _, field = await refused(served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, until=past)))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "until")


async def test_override_needs_a_reason_and_a_country(served: Served) -> None:
    item_id = await new_item(served)
    code, _, field = await refused(
        served.analyst.cases.OverrideHosting(
            case_pb.OverrideHostingRequest(item_id=item_id, hosting=pb.HostingFacts(country="DE"))
        )
    )
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "reason")
    code, _, field = await refused(
        served.analyst.cases.OverrideHosting(
            case_pb.OverrideHostingRequest(item_id=item_id, hosting=pb.HostingFacts(country="Germany"), reason="x")
        )
    )
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "hosting.country")


async def test_bad_page_tokens_and_sizes(served: Served) -> None:
    for token in ("garbage!", "dDE6MDEy"):  # not base64 of ours; a token of another kind ("t1:012")
        code, _, field = await refused(served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_token=token)))
        assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "page_token")
    code, _, field = await refused(served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_size=-1)))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "page_size")
    code, _, field = await refused(served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token="e3:zz")))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "page_token")


async def test_a_request_id_reused_for_another_request_is_refused(served: Served) -> None:
    await served.intake.intake.SubmitReport(report("https://nl.host.example/a", request_id="form-1"))
    code, message, field = await refused(
        served.intake.intake.SubmitReport(report("https://nl.host.example/b", request_id="form-1"))
    )
    assert (code, field) == (grpc.StatusCode.ALREADY_EXISTS, "request_id")
    assert "form-1" in message


async def test_unknown_ids_are_not_found(served: Served) -> None:
    unknown = "01890000-0000-7000-8000-00000000abcd"
    code, _, _ = await refused(served.analyst.cases.GetItem(case_pb.GetItemRequest(item_id=unknown)))
    assert code is grpc.StatusCode.NOT_FOUND
    code, _, _ = await refused(served.intake.intake.GetReport(intake_pb.GetReportRequest(report_id=unknown)))
    assert code is grpc.StatusCode.NOT_FOUND


async def test_malformed_ids_are_invalid_argument(served: Served) -> None:
    code, _, field = await refused(served.analyst.cases.GetItem(case_pb.GetItemRequest(item_id="no-such-item")))
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "item_id")
    code, _, field = await refused(
        served.intake.intake.GetReport(intake_pb.GetReportRequest(report_id="no-such-report"))
    )
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "report_id")


async def test_a_missing_token_is_unauthenticated(served: Served) -> None:
    code, message, _ = await refused(served.anonymous.intake.SubmitReport(report("https://nl.host.example/a")))
    assert code is grpc.StatusCode.UNAUTHENTICATED and "authorization" in message


async def test_only_an_open_referral_of_this_node_can_be_withdrawn_and_it_needs_a_reason(served: Served) -> None:
    item_id = await new_item(served)  # hosted at home: never referred
    code, _, field = await refused(
        served.analyst.cases.WithdrawReferral(case_pb.WithdrawReferralRequest(item_id=item_id, reason="x"))
    )
    assert (code, field) == (grpc.StatusCode.FAILED_PRECONDITION, "item_id")
    code, _, field = await refused(
        served.analyst.cases.WithdrawReferral(case_pb.WithdrawReferralRequest(item_id=item_id))
    )
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "reason")
