"""Every string field of every integrator request is checked at the boundary, on SQLite and PostgreSQL: a NUL or
another control character, a malformed id, an undecodable request or a forged cursor is INVALID_ARGUMENT naming
the field, with a stable reason and a log reference, and changes nothing. Before, a NUL ended in INTERNAL on
PostgreSQL, invalid UTF-8 in UNKNOWN with protobuf's text, and a cursor `e1:²` in INTERNAL."""

from __future__ import annotations

import base64

import grpc
import pytest

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.fields import FORBIDDEN_CHARACTER, MALFORMED_ID, check_counter, check_note, check_text
from node.errors import InvalidArgument
from tests.api._boundary import RPCS, call, request_class, string_paths, with_value
from tests.api._support import report, snapshot, submit
from tests.conftest import Served

INVALID = grpc.StatusCode.INVALID_ARGUMENT
IDS = {"item_id", "report_id", "token_id", "request_id"}
EVERY_FIELD = [(name, path) for name, method in RPCS for path in string_paths(method.input_type)]


def test_the_walk_finds_the_string_fields_of_every_rpc() -> None:
    paths = {f"{name.rsplit('/', 1)[-1]}:{path}" for name, path in EVERY_FIELD}
    assert {
        "SubmitReport:urls[0].url",
        "SubmitReport:urls[0].hashes[0].value",
        "SubmitReport:reporter.email",
        "AssessItem:assessment.note",
        "OverrideHosting:hosting.organisation",
        "ImportKnownHashes:hashes[0].hash.value",
        "StreamEvents:after_cursor",
        "CreateToken:name",
    } <= paths
    # Each RPC that takes any field has string fields (GetFederationStatus takes none).
    assert {name for name, _ in EVERY_FIELD} == {name for name, method in RPCS if method.input_type.fields}


async def test_a_nul_in_any_string_field_of_any_rpc_is_refused_naming_it(served_each: Served) -> None:
    await submit(served_each, "https://nl.host.example/fields/nul")
    before = await snapshot(served_each)
    for full_name, path in EVERY_FIELD:
        method = next(m for n, m in RPCS if n == full_name)
        request = with_value(request_class(method)(), path, "ab\x00cd")
        outcome = await call(served_each, full_name, request)
        where = f"{full_name} {path}"
        assert (outcome.code, outcome.field) == (INVALID, path), f"{where}: {outcome}"
        expected = MALFORMED_ID if path.rsplit(".", 1)[-1] in IDS else FORBIDDEN_CHARACTER
        assert outcome.reason == expected, f"{where}: {outcome.reason}"
        assert "google.rpc.BadRequest" in outcome.details and outcome.reference, where
    assert await snapshot(served_each) == before


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\n", "\t", "\x7f", "\x85", "\u009f"])
async def test_control_characters_in_a_one_line_field_are_refused(served: Served, char: str) -> None:
    outcome = await call(
        served,
        "/hotline.node.v1.IntakeService/SubmitReport",
        report("https://nl.host.example/fields/ctl", reporter=pb.Reporter(name=f"A{char}B")),
    )
    assert (outcome.code, outcome.field, outcome.reason) == (INVALID, "reporter.name", FORBIDDEN_CHARACTER)
    assert f"U+{ord(char):04X}" in outcome.message


async def test_free_text_keeps_line_breaks_and_tabs(served: Served) -> None:
    item_id = (await submit(served, "https://nl.host.example/fields/note")).item_id
    note = "first line\r\nsecond line\twith a tab"
    response = await served.analyst.cases.AssessItem(
        case_pb.AssessItemRequest(
            item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL, note=note)
        )
    )
    assert response.item.assessment.note == note


async def test_a_malformed_id_is_invalid_argument_not_not_found(served: Served) -> None:
    for full_name, request, path in [
        ("/hotline.node.v1.CaseService/GetItem", case_pb.GetItemRequest(item_id="42"), "item_id"),
        ("/hotline.node.v1.IntakeService/GetReport", intake_pb.GetReportRequest(report_id="x" * 36), "report_id"),
        ("/hotline.node.v1.CaseService/ListReceipts", case_pb.ListReceiptsRequest(item_id="' OR 1=1"), "item_id"),
    ]:
        outcome = await call(served, full_name, request)
        assert (outcome.code, outcome.field, outcome.reason) == (INVALID, path, MALFORMED_ID), full_name


# ------------------------------------------------------------------------------ cursors and page tokens


def _token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


FORGED_CURSORS = ["e1:²", "e1:٣", "e1:9223372036854775808", "e1:99999999999999999999999", "e1:-1", "e1:1\x00"]


async def test_a_cursor_with_unicode_digits_or_past_2_63_is_invalid_argument(served_each: Served) -> None:
    await submit(served_each, "https://nl.host.example/fields/cursor")
    for raw in FORGED_CURSORS:
        listed = await call(
            served_each, "/hotline.node.v1.EventService/ListEvents", event_pb.ListEventsRequest(page_token=_token(raw))
        )
        assert (listed.code, listed.field, listed.reason) == (INVALID, "page_token", MALFORMED_ID), raw
        streamed = await call(
            served_each,
            "/hotline.node.v1.EventService/StreamEvents",
            event_pb.StreamEventsRequest(after_cursor=_token(raw)),
        )
        assert (streamed.code, streamed.field, streamed.reason) == (INVALID, "after_cursor", MALFORMED_ID), raw
    # The largest cursor there can be is well-formed: an empty page after it.
    last = await served_each.analyst.events.ListEvents(
        event_pb.ListEventsRequest(page_token=_token("e1:9223372036854775807"))
    )
    assert list(last.events) == []


async def test_a_page_token_whose_key_is_not_an_id_is_invalid_argument(served_each: Served) -> None:
    for full_name, request in [
        ("/hotline.node.v1.CaseService/ListItems", case_pb.ListItemsRequest(page_token=_token("i1:\x00"))),
        ("/hotline.node.v1.CaseService/ListItems", case_pb.ListItemsRequest(page_token=_token("i1:zz"))),
    ]:
        outcome = await call(served_each, full_name, request)
        assert (outcome.code, outcome.field, outcome.reason) == (INVALID, "page_token", MALFORMED_ID)


# ------------------------------------------------------------------------------ undecodable bytes

# SubmitReportRequest field 1 (request_id, a string) holding two bytes that are not UTF-8.
INVALID_UTF8 = b"\x0a\x02\xc3\x28"
GARBAGE = b"\xff\xff\xff\xff"


@pytest.mark.parametrize("raw", [INVALID_UTF8, GARBAGE], ids=["invalid-utf8", "garbage"])
async def test_undecodable_bytes_are_invalid_argument_without_protobuf_text(served_each: Served, raw: bytes) -> None:
    outcome = await call(served_each, "/hotline.node.v1.IntakeService/SubmitReport", raw)
    assert (outcome.code, outcome.field) == (INVALID, "request"), outcome
    assert outcome.reason == "MALFORMED_REQUEST" and outcome.reference
    assert "SubmitReport" in outcome.message
    for leaked in ("Error", "Traceback", "parsing", "codec", "0xc3"):  # nothing of protobuf's own text
        assert leaked not in outcome.text, leaked


@pytest.mark.parametrize("raw", [INVALID_UTF8, GARBAGE], ids=["invalid-utf8", "garbage"])
async def test_undecodable_bytes_from_a_caller_without_a_token_are_unauthenticated(served: Served, raw: bytes) -> None:
    outcome = await call(served, "/hotline.node.v1.CaseService/GetItem", raw, token=None)
    assert outcome.code is grpc.StatusCode.UNAUTHENTICATED
    outcome = await call(served, "/hotline.node.v1.IntakeService/SubmitReport", raw, token="hx_not-a-token")
    assert outcome.code is grpc.StatusCode.UNAUTHENTICATED


# ------------------------------------------------------------------------------ the rules themselves


def test_the_rules_refuse_surrogates_and_overflow_and_keep_ascii_digits() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_text("a\ud800b", field="reporter.name")
    assert caught.value.reason == FORBIDDEN_CHARACTER and "UTF-8" in caught.value.message
    with pytest.raises(InvalidArgument) as caught:
        check_note("x" * 2001, field="note")
    assert caught.value.reason == "LIMIT_EXCEEDED"
    assert check_note("a\nb\tc", field="note") == "a\nb\tc"
    assert check_counter("9223372036854775807", field="c") == 2**63 - 1
    for bad in ("²", "9223372036854775808", "", "+1", " 1", "1_000"):
        with pytest.raises(InvalidArgument):
            check_counter(bad, field="c")
