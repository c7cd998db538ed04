"""Errors a program can branch on: every failure names a stable reason (google.rpc.ErrorInfo.reason) from the
enum hotline.node.v1.ErrorReason, with its details in ErrorInfo.metadata. One test per reason a caller can
cause; the rest (raised by parts other than the case domain) are shown through the status they map to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import errors_pb2
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.errors import DOMAIN, GRPC_CODES, to_grpc_status
from node.cases.model import Role
from node.errors import (
    Aborted,
    DomainError,
    PermissionDenied,
    Reason,
    ResourceExhausted,
    Unauthenticated,
)
from tests.api._boundary import call
from tests.api._support import action, assess, report, submit, ts
from tests.conftest import Served

ROOT = Path(__file__).resolve().parents[2]
INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
SUBMIT = "/hotline.node.v1.IntakeService/SubmitReport"
GET_ITEM = "/hotline.node.v1.CaseService/GetItem"
RECORD = "/hotline.node.v1.CaseService/RecordAction"
ASSESS = "/hotline.node.v1.CaseService/AssessItem"
PLACE = "/hotline.node.v1.LeaService/PlaceHold"
RELEASE = "/hotline.node.v1.LeaService/ReleaseHold"


def test_the_python_reasons_are_the_proto_enum() -> None:
    names = {v.name for v in errors_pb2.ErrorReason.DESCRIPTOR.values} - {"ERROR_REASON_UNSPECIFIED"}
    assert names == {r.value for r in Reason}
    assert all(r.name == r.value for r in Reason)


def test_every_reason_is_documented_in_the_proto_and_the_readme() -> None:
    lines = (ROOT / "proto" / "hotline" / "node" / "v1" / "errors.proto").read_text().splitlines()
    readme = (ROOT / "README.md").read_text()
    for reason in Reason:
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{reason.value} = "))
        assert lines[at - 1].strip().startswith("//"), f"{reason.value} has no comment in errors.proto"
        assert f"`{reason.value}`" in readme, f"{reason.value} is not in the README"


async def refusal(served: Served, method: str, request: Message, **kwargs: Any) -> tuple[Any, str, dict[str, str]]:
    """(code, reason, metadata) of a call that must fail."""
    outcome = await call(served, method, request, **kwargs)
    info = outcome.details.get("google.rpc.ErrorInfo")
    assert info is not None, outcome
    assert info.domain == DOMAIN
    return outcome.code, info.reason, dict(info.metadata)


async def item_in_lea_notified(served: Served, url: str = "https://nl.host.example/held") -> str:
    item_id = (await submit(served, url)).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    return item_id


async def test_invalid_field(served: Served) -> None:
    got = await refusal(served, SUBMIT, report("ftp://nl.host.example/a"))
    assert got == (INVALID, "INVALID_FIELD", {"field": "urls[0].url"})


async def test_required_field(served: Served) -> None:
    assert await refusal(served, SUBMIT, report()) == (INVALID, "REQUIRED_FIELD", {"field": "urls"})


async def test_forbidden_character(served: Served) -> None:
    request = report("https://nl.host.example/a", reporter=pb.Reporter(name="A\x00B"))
    assert await refusal(served, SUBMIT, request) == (INVALID, "FORBIDDEN_CHARACTER", {"field": "reporter.name"})


async def test_limit_exceeded_names_the_limit(served: Served) -> None:
    too_many = report(*(f"https://nl.host.example/{i}" for i in range(101)))
    assert await refusal(served, SUBMIT, too_many) == (
        INVALID,
        "LIMIT_EXCEEDED",
        {"field": "urls", "limit": "100", "unit": "urls"},
    )
    too_long = report("https://nl.host.example/" + "a" * 8200)
    assert await refusal(served, SUBMIT, too_long) == (
        INVALID,
        "LIMIT_EXCEEDED",
        {"field": "urls[0].url", "limit": "8192", "unit": "bytes"},
    )


async def test_an_oversized_request_names_the_limit(served: Served) -> None:
    urls = [f"https://nl.host.example/{i}/" + "a" * 8000 for i in range(140)]  # about 1.1 MiB; the limit is 1 MiB
    got = await refusal(served, SUBMIT, report(*urls), token=served.tokens[Role.INTAKE])
    limit = {"field": "request", "limit": str(1024 * 1024), "unit": "bytes"}
    assert got == (grpc.StatusCode.RESOURCE_EXHAUSTED, "LIMIT_EXCEEDED", limit)
    # Without a valid token, the caller learns nothing about the request (not even its size).
    outcome = await call(served, SUBMIT, report(*urls), token=None)
    assert (outcome.code, outcome.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")


async def test_malformed_id(served: Served) -> None:
    got = await refusal(served, GET_ITEM, case_pb.GetItemRequest(item_id="not-an-id"))
    assert got == (INVALID, "MALFORMED_ID", {"field": "item_id"})


async def test_malformed_request(served: Served) -> None:
    outcome = await call(served, GET_ITEM, b"\x0a\x02\xff\xfe")  # field 1, a string that is not UTF-8
    assert (outcome.code, outcome.reason) == (INVALID, "MALFORMED_REQUEST")


async def test_timestamp_out_of_range(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/t")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    past = ts(served.clock.now() - timedelta(hours=1))
    got = await refusal(served, PLACE, lea_pb.PlaceHoldRequest(item_id=item_id, until=past))
    assert got == (INVALID, "TIMESTAMP_OUT_OF_RANGE", {"field": "until"})
    future = report("https://nl.host.example/f", received_at=ts(served.clock.now() + timedelta(hours=1)))
    code, reason, metadata = await refusal(served, SUBMIT, future)
    assert (code, reason, metadata["field"]) == (INVALID, "TIMESTAMP_OUT_OF_RANGE", "received_at")
    assert datetime.fromisoformat(metadata["latest"]) == served.clock.now() + timedelta(minutes=5)


async def test_a_report_received_before_the_configured_window_is_refused(served: Served) -> None:
    now = served.clock.now()
    in_1970 = report("https://nl.host.example/old", received_at=ts(datetime(1970, 1, 2, tzinfo=UTC)))
    code, reason, metadata = await refusal(served, SUBMIT, in_1970)
    assert (code, reason, metadata["field"]) == (INVALID, "TIMESTAMP_OUT_OF_RANGE", "received_at")
    assert datetime.fromisoformat(metadata["earliest"]) == now - timedelta(days=365)
    last_month = report("https://nl.host.example/recent", received_at=ts(now - timedelta(days=30)))
    accepted = await served.intake.intake.SubmitReport(last_month)
    assert accepted.report.received_at.ToDatetime(tzinfo=UTC) == now - timedelta(days=30)


async def test_name_taken(served: Served) -> None:
    request = admin_pb.CreateTokenRequest(name="test-intake", roles=[pb.ROLE_INTAKE])
    got = await refusal(served, "/hotline.node.v1.AdminService/CreateToken", request)
    assert got == (INVALID, "NAME_TAKEN", {"field": "name"})


async def test_unknown_item_report_and_token(served: Served) -> None:
    missing = str(uuid.uuid4())
    not_found = grpc.StatusCode.NOT_FOUND
    got = await refusal(served, GET_ITEM, case_pb.GetItemRequest(item_id=missing))
    assert got == (not_found, "UNKNOWN_ITEM", {"field": "item_id"})
    got = await refusal(
        served, "/hotline.node.v1.IntakeService/GetReport", intake_pb.GetReportRequest(report_id=missing)
    )
    assert got == (not_found, "UNKNOWN_REPORT", {"field": "report_id"})
    revoke = admin_pb.RevokeTokenRequest(token_id="0123456789abcdef")
    got = await refusal(served, "/hotline.node.v1.AdminService/RevokeToken", revoke)
    assert got == (not_found, "UNKNOWN_TOKEN", {"field": "token_id"})


async def test_wrong_state_names_the_state_and_the_allowed_states(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/w")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    request = case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_HP_NOTIFIED)
    got = await refusal(served, RECORD, request)
    assert got == (
        PRECONDITION,
        "WRONG_STATE",
        {"field": "type", "state": "AWAITING_LEA", "allowed_states": "LEA_NOTIFIED"},
    )


async def test_already_closed(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/c")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_CONTENT_REMOVED)
    request = case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED)
    code, reason, metadata = await refusal(served, RECORD, request)
    assert (code, reason, metadata["state"], metadata["allowed_states"]) == (
        PRECONDITION,
        "ALREADY_CLOSED",
        "CLOSED_REMOVED",
        "AWAITING_LEA",
    )
    assessment = case_pb.AssessItemRequest(
        item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NOT_ILLEGAL)
    )
    got = await refusal(served, ASSESS, assessment)
    assert got == (PRECONDITION, "ALREADY_CLOSED", {"field": "item_id", "state": "CLOSED_REMOVED"})


async def test_not_assigned_names_the_assignee(served: Served) -> None:
    item_id = (await submit(served, "https://de.host.example/a")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    request = case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED)
    got = await refusal(served, RECORD, request)
    assert got == (
        PRECONDITION,
        "NOT_ASSIGNED",
        {"field": "item_id", "assigned_node": "de-hotline", "state": "REFERRED"},
    )


async def test_hold_active_and_no_active_hold(served: Served) -> None:
    item_id = await item_in_lea_notified(served)
    got = await refusal(served, RELEASE, lea_pb.ReleaseHoldRequest(item_id=item_id))
    assert got == (PRECONDITION, "NO_ACTIVE_HOLD", {"field": "item_id"})
    await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="case-1"))
    ntd = case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_HP_NOTIFIED)
    assert await refusal(served, RECORD, ntd) == (
        PRECONDITION,
        "HOLD_ACTIVE",
        {"field": "type", "hold_until": "released"},
    )
    until = served.clock.now() + timedelta(days=2)
    second = lea_pb.PlaceHoldRequest(item_id=item_id, reference="case-2", until=ts(until))
    code, reason, metadata = await refusal(served, PLACE, second)
    assert (code, reason, metadata) == (PRECONDITION, "HOLD_ACTIVE", {"field": "item_id", "hold_until": "released"})


async def test_a_precondition_failure_names_the_reason_as_its_type(served: Served) -> None:
    item_id = await item_in_lea_notified(served, "https://nl.host.example/typed")
    outcome = await call(served, RELEASE, lea_pb.ReleaseHoldRequest(item_id=item_id))
    violation = outcome.details["google.rpc.PreconditionFailure"].violations[0]
    assert (violation.type, violation.subject) == ("NO_ACTIVE_HOLD", "item_id")


async def test_baseline_final(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/b")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_BASELINE)
    request = case_pb.AssessItemRequest(
        item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL)
    )
    code, reason, metadata = await refusal(served, ASSESS, request)
    assert (code, reason, metadata["field"]) == (PRECONDITION, "BASELINE_FINAL", "assessment.classification")


async def test_request_id_reused_names_the_first_method(served: Served) -> None:
    await served.intake.intake.SubmitReport(report("https://nl.host.example/r1", request_id="req-1"))
    second = report("https://nl.host.example/r2", request_id="req-1")
    got = await refusal(served, SUBMIT, second, token=served.tokens[Role.INTAKE])
    assert got == (
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
        {"field": "request_id", "method": "SubmitReport"},
    )


async def test_token_missing_invalid_and_revoked(served: Served) -> None:
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    request = case_pb.GetItemRequest(item_id=str(uuid.uuid4()))
    assert (await refusal(served, GET_ITEM, request, token=None))[:2] == (unauthenticated, "TOKEN_MISSING")
    assert (await refusal(served, GET_ITEM, request, token="garbage"))[:2] == (unauthenticated, "TOKEN_INVALID")
    stored, secret = served.node.access.create_token("test", "soon-revoked", [Role.ANALYST])
    served.node.access.revoke_token("test", stored.token_id)
    assert (await refusal(served, GET_ITEM, request, token=secret))[:2] == (unauthenticated, "TOKEN_REVOKED")


async def test_role_missing_names_the_roles(served: Served) -> None:
    request = case_pb.GetItemRequest(item_id=str(uuid.uuid4()))
    got = await refusal(served, GET_ITEM, request, token=served.tokens[Role.INTAKE])
    assert got == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_MISSING", {"allowed_roles": "analyst,lea"})


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (Aborted("changed concurrently"), grpc.StatusCode.ABORTED),
        (Unauthenticated("expired", reason=Reason.TOKEN_EXPIRED), grpc.StatusCode.UNAUTHENTICATED),
        (PermissionDenied("not open", reason=Reason.METHOD_NOT_OPEN), grpc.StatusCode.PERMISSION_DENIED),
        (PermissionDenied("another's", reason=Reason.NOT_OWNER), grpc.StatusCode.PERMISSION_DENIED),
        (ResourceExhausted("slow down", reason=Reason.RATE_LIMITED), grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
    ids=lambda value: getattr(value, "reason", None) or "",
)
def test_the_other_reasons_reach_the_caller_as_error_info(error: DomainError, code: grpc.StatusCode) -> None:
    """Reasons raised outside the case domain (auth, rate limits, the store): what the status carries."""
    status = to_grpc_status(error, "ref")
    assert status.code is code and GRPC_CODES[type(error)][0] is code
    trailer = dict(status.trailing_metadata)["grpc-status-details-bin"]
    details = status_pb2.Status.FromString(trailer)
    infos = [d for d in details.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)]
    info = error_details_pb2.ErrorInfo()
    infos[0].Unpack(info)
    assert (info.reason, info.domain) == (str(error.reason), DOMAIN)
