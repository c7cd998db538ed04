"""Bad input over real gRPC: each kind gets the right status code, a message and google.rpc details naming the
field, and changes nothing (no item, no event, no new state: checked with ListItems, ListEvents and
GetStatistics before and after)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.api._support import action, assess, known, refused, report, sha256, snapshot, submit, ts
from tests.conftest import Served

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
BAD_REQUEST = "google.rpc.BadRequest"
PRECONDITION_FAILURE = "google.rpc.PreconditionFailure"

NL = "https://nl.host.example/bad-input/item"
DE = "https://de.host.example/bad-input/item"
GOOD = "https://nl.host.example/good"
SHA = sha256(1)


def sha(value: str, algorithm: int = pb.HASH_ALGORITHM_SHA256) -> pb.ContentHash:
    return pb.ContentHash(algorithm=algorithm, value=value)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ items in a given state


async def prepare(served: Served, state: str) -> str:
    """An item in `state`; its id. 'none' makes no item and gives ''."""
    if state == "none":
        return ""
    if state == "referred":
        item_id = (await submit(served, DE)).item_id
        item = await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
        assert (item.state, item.assigned_node) == (pb.ITEM_STATE_REFERRED, "de-hotline")
        return item_id
    item_id = (await submit(served, NL)).item_id
    if state == "fresh":
        return item_id
    if state == "baseline":
        item = await assess(served, item_id, pb.CLASSIFICATION_BASELINE)
        assert item.state == pb.ITEM_STATE_AWAITING_LEA
        return item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    if state == "awaiting_lea":
        return item_id
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    if state == "lea_notified":
        return item_id
    assert state == "held", state
    response = await served.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="op-7"))
    assert response.item.HasField("active_hold")
    return item_id


Call = Callable[[Served, str], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    label: str
    state: str  # the item the call is about (see prepare)
    call: Call
    code: grpc.StatusCode
    field: str
    text: str = ""  # a fragment the message must contain

    @property
    def detail(self) -> str:
        return {INVALID: BAD_REQUEST, PRECONDITION: PRECONDITION_FAILURE}.get(self.code, "")


def _submit(request: intake_pb.SubmitReportRequest) -> Call:
    return lambda s, _item_id: s.intake.intake.SubmitReport(request)


def _assess(assessment: pb.Assessment, request_id: str = "") -> Call:
    return lambda s, item_id: s.analyst.cases.AssessItem(
        case_pb.AssessItemRequest(request_id=request_id, item_id=item_id, assessment=assessment)
    )


def _action(action_type: int, **kwargs: Any) -> Call:
    return lambda s, item_id: s.analyst.cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_id, type=action_type, **kwargs)  # type: ignore[arg-type]
    )


def _override(hosting: pb.HostingFacts, reason: str, request_id: str = "") -> Call:
    return lambda s, item_id: s.analyst.cases.OverrideHosting(
        case_pb.OverrideHostingRequest(request_id=request_id, item_id=item_id, hosting=hosting, reason=reason)
    )


def _hold(request_id: str = "", until_offset: timedelta | None = None, reference: str = "op-1") -> Call:
    def call(s: Served, item_id: str) -> Awaitable[Any]:
        until = ts(s.clock.now() + until_offset) if until_offset is not None else None
        return s.lea.lea.PlaceHold(
            lea_pb.PlaceHoldRequest(request_id=request_id, item_id=item_id, until=until, reference=reference)
        )

    return call


def _import(*hashes: admin_pb.KnownHash, source: str = "shared list", request_id: str = "") -> Call:
    return lambda s, _item_id: s.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(request_id=request_id, source=source, hashes=list(hashes))
    )


def _in_future(s: Served, minutes: int) -> Timestamp:
    return ts(s.clock.now() + timedelta(minutes=minutes))


CASES = [
    # ---- reported URLs
    Case("ftp URL", "none", _submit(report("ftp://nl.host.example/a")), INVALID, "urls[0].url", "http and https"),
    Case("javascript URL", "none", _submit(report("javascript:alert(1)")), INVALID, "urls[0].url", "http and https"),
    Case("data URL", "none", _submit(report("data:text/plain,hello")), INVALID, "urls[0].url", "http and https"),
    Case("no scheme", "none", _submit(report("nl.host.example/a")), INVALID, "urls[0].url", "no scheme"),
    Case("empty URL", "none", _submit(report("")), INVALID, "urls[0].url", "empty"),
    Case("no host", "none", _submit(report("http:///")), INVALID, "urls[0].url"),
    Case(
        "host longer than DNS allows",
        "none",
        _submit(report("https://" + "a" * 300 + ".example/x")),
        INVALID,
        "urls[0].url",
        "at most 253 characters",
    ),
    Case(
        "URL over 8 KiB",
        "none",
        _submit(report("https://nl.host.example/" + "a" * 8192)),
        INVALID,
        "urls[0].url",
        "8192 bytes",
    ),
    Case(
        "a bad URL after a good one writes neither",
        "none",
        _submit(report(GOOD, "ftp://nl.host.example/b")),
        INVALID,
        "urls[1].url",
    ),
    Case("bad referrer", "none", _submit(report(GOOD, referrer_url="ftp://x.example/")), INVALID, "referrer_url"),
    Case("empty report", "none", _submit(report()), INVALID, "urls", "at least one URL"),
    Case(
        "101 URLs",
        "none",
        _submit(report(*(f"https://nl.host.example/many/{i}" for i in range(101)))),
        INVALID,
        "urls",
        "at most 100",
    ),
    # ---- hashes
    Case(
        "SHA-256 of the wrong length",
        "none",
        _submit(report(GOOD, hashes=[sha("ab" * 31)])),
        INVALID,
        "urls[0].hashes[0].value",
        "32 bytes",
    ),
    Case(
        "odd number of hex digits",
        "none",
        _submit(report(GOOD, hashes=[sha("a" * 63)])),
        INVALID,
        "urls[0].hashes[0].value",
        "odd",
    ),
    Case(
        "MD5 given as a SHA-256",
        "none",
        _submit(report(GOOD, hashes=[sha("ab" * 16)])),
        INVALID,
        "urls[0].hashes[0].value",
        "32 bytes",
    ),
    Case(
        "non-hex hash",
        "none",
        _submit(report(GOOD, hashes=[sha("zz" * 32)])),
        INVALID,
        "urls[0].hashes[0].value",
        "hex",
    ),
    Case(
        "empty hash value",
        "none",
        _submit(report(GOOD, hashes=[sha("")])),
        INVALID,
        "urls[0].hashes[0].value",
        "empty",
    ),
    Case(
        "hash algorithm 99",
        "none",
        _submit(report(GOOD, hashes=[sha(SHA, algorithm=99)])),
        INVALID,
        "urls[0].hashes[0].algorithm",
        "unknown enum value 99",
    ),
    Case(
        "hash algorithm unspecified",
        "none",
        _submit(report(GOOD, hashes=[sha(SHA, algorithm=pb.HASH_ALGORITHM_UNSPECIFIED)])),
        INVALID,
        "urls[0].hashes[0].algorithm",
        "required",
    ),
    Case(
        "17 hashes for one URL",
        "none",
        _submit(report(GOOD, hashes=[sha(sha256(i)) for i in range(17)])),
        INVALID,
        "urls[0].hashes",
        "at most 16",
    ),
    # ---- reporter and dates
    Case(
        "anonymous reporter with a name",
        "none",
        _submit(report(GOOD, reporter=pb.Reporter(anonymous=True, name="A. Reporter"))),
        INVALID,
        "reporter.anonymous",
    ),
    Case(
        "anonymous reporter with an email",
        "none",
        _submit(report(GOOD, reporter=pb.Reporter(anonymous=True, email="someone@mail.example"))),
        INVALID,
        "reporter.anonymous",
    ),
    Case(
        "reporter name over 200 characters",
        "none",
        _submit(report(GOOD, reporter=pb.Reporter(name="n" * 201))),
        INVALID,
        "reporter.name",
        "200",
    ),
    Case(
        "received_at in the future",
        "none",
        lambda s, _i: s.intake.intake.SubmitReport(report(GOOD, received_at=_in_future(s, 24 * 60))),
        INVALID,
        "received_at",
        "future",
    ),
    Case(
        "received_at ten minutes ahead",
        "none",
        lambda s, _i: s.intake.intake.SubmitReport(report(GOOD, received_at=_in_future(s, 10))),
        INVALID,
        "received_at",
    ),
    Case(
        "received_at out of range",
        "none",
        _submit(report(GOOD, received_at=Timestamp(seconds=253_402_300_800))),  # year 10000
        INVALID,
        "received_at",
        "timestamp",
    ),
    # ---- request ids
    Case("request_id with a space", "none", _submit(report(GOOD, request_id="form 7")), INVALID, "request_id"),
    Case("request_id with a slash", "none", _submit(report(GOOD, request_id="form/7")), INVALID, "request_id"),
    Case("request_id too long", "none", _submit(report(GOOD, request_id="r" * 129)), INVALID, "request_id"),
    Case(
        "AssessItem request_id with bad characters",
        "fresh",
        _assess(pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL), request_id="a b"),
        INVALID,
        "request_id",
    ),
    Case(
        "RecordAction request_id with bad characters",
        "awaiting_lea",
        _action(pb.ACTION_TYPE_LEA_NOTIFIED, request_id="\u00fc"),
        INVALID,
        "request_id",
    ),
    Case("PlaceHold request_id with bad characters", "lea_notified", _hold(request_id="#1"), INVALID, "request_id"),
    Case(
        "ImportKnownHashes request_id with bad characters",
        "none",
        _import(known(pb.HASH_ALGORITHM_SHA256, SHA, pb.CLASSIFICATION_BASELINE), request_id="x y"),
        INVALID,
        "request_id",
    ),
    Case(
        "OverrideHosting request_id with bad characters",
        "fresh",
        _override(pb.HostingFacts(country="DE"), "resolver was wrong", request_id="?"),
        INVALID,
        "request_id",
    ),
    # ---- assessments
    Case(
        "classification 42",
        "fresh",
        _assess(pb.Assessment(classification=42)),  # type: ignore[arg-type]
        INVALID,
        "assessment.classification",
        "unknown enum value 42",
    ),
    Case(
        "missing classification",
        "fresh",
        _assess(pb.Assessment(age_group=pb.AGE_GROUP_INFANT)),
        INVALID,
        "assessment.classification",
        "required",
    ),
    Case("no assessment at all", "fresh", _assess(pb.Assessment()), INVALID, "assessment.classification", "required"),
    Case(
        "age group 99",
        "fresh",
        _assess(pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL, age_group=99)),  # type: ignore[arg-type]
        INVALID,
        "assessment.age_group",
    ),
    Case(
        "payment method 99",
        "fresh",
        _assess(
            pb.Assessment(
                classification=pb.CLASSIFICATION_NATIONAL,
                payment_methods=[pb.PAYMENT_METHOD_CARD, 99],  # type: ignore[list-item]
            )
        ),
        INVALID,
        "assessment.payment_methods[1]",
    ),
    Case(
        "assessment note over 2000 characters",
        "fresh",
        _assess(pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL, note="n" * 2001)),
        INVALID,
        "assessment.note",
    ),
    Case(
        "overruling BASELINE",
        "baseline",
        _assess(pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL)),
        PRECONDITION,
        "assessment.classification",
        "BASELINE",
    ),
    Case(
        "overruling BASELINE as not illegal",
        "baseline",
        _assess(pb.Assessment(classification=pb.CLASSIFICATION_NOT_ILLEGAL)),
        PRECONDITION,
        "assessment.classification",
        "BASELINE",
    ),
    Case(
        "assessing an item referred to another node",
        "referred",
        _assess(pb.Assessment(classification=pb.CLASSIFICATION_BASELINE)),
        PRECONDITION,
        "item_id",
        "de-hotline",
    ),
    # ---- actions
    Case("action type 77", "awaiting_lea", _action(77), INVALID, "type", "unknown enum value 77"),
    Case("action type unspecified", "awaiting_lea", _action(pb.ACTION_TYPE_UNSPECIFIED), INVALID, "type", "required"),
    Case("NOT_ILLEGAL as an action", "awaiting_lea", _action(pb.ACTION_TYPE_NOT_ILLEGAL), INVALID, "type", "assessing"),
    Case(
        "an action on an item referred to another node",
        "referred",
        _action(pb.ACTION_TYPE_LEA_NOTIFIED),
        PRECONDITION,
        "item_id",
        "de-hotline",
    ),
    Case(
        "content removed on an item referred to another node",
        "referred",
        _action(pb.ACTION_TYPE_CONTENT_REMOVED),
        PRECONDITION,
        "item_id",
        "de-hotline",
    ),
    Case(
        "an action on an item not yet assessed",
        "fresh",
        _action(pb.ACTION_TYPE_LEA_NOTIFIED),
        PRECONDITION,
        "type",
        "AWAITING_LEA",
    ),
    Case(
        "HP_NOTIFIED before LEA_NOTIFIED",
        "awaiting_lea",
        _action(pb.ACTION_TYPE_HP_NOTIFIED),
        PRECONDITION,
        "type",
        "LEA_NOTIFIED",
    ),
    Case("LEA_NOTIFIED twice", "lea_notified", _action(pb.ACTION_TYPE_LEA_NOTIFIED), PRECONDITION, "type"),
    Case(
        "HP_NOTIFIED while an LEA hold is active",
        "held",
        _action(pb.ACTION_TYPE_HP_NOTIFIED),
        PRECONDITION,
        "type",
        "hold",
    ),
    Case(
        "MOVED without moved_to_country",
        "lea_notified",
        _action(pb.ACTION_TYPE_MOVED),
        INVALID,
        "moved_to_country",
        "ISO 3166-1",
    ),
    Case(
        "MOVED to a country name",
        "lea_notified",
        _action(pb.ACTION_TYPE_MOVED, moved_to_country="Germany"),
        INVALID,
        "moved_to_country",
    ),
    Case(
        "moved_to_country on another action",
        "awaiting_lea",
        _action(pb.ACTION_TYPE_LEA_NOTIFIED, moved_to_country="DE"),
        INVALID,
        "moved_to_country",
    ),
    Case(
        "action note over 2000 characters",
        "awaiting_lea",
        _action(pb.ACTION_TYPE_LEA_NOTIFIED, note="n" * 2001),
        INVALID,
        "note",
    ),
    # ---- holds
    Case("PlaceHold until in the past", "lea_notified", _hold(until_offset=-timedelta(hours=1)), INVALID, "until"),
    Case("PlaceHold until now", "lea_notified", _hold(until_offset=timedelta(0)), INVALID, "until", "future"),
    Case("PlaceHold on an item not yet assessed", "fresh", _hold(), PRECONDITION, "item_id", "before the NTD"),
    Case("a second hold while one is active", "held", _hold(), PRECONDITION, "item_id", "already active"),
    Case("PlaceHold on a referred item", "referred", _hold(), PRECONDITION, "item_id", "de-hotline"),
    Case(
        "ReleaseHold without a hold",
        "lea_notified",
        lambda s, item_id: s.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id)),
        PRECONDITION,
        "item_id",
        "no active hold",
    ),
    Case("hold reference over 200 characters", "lea_notified", _hold(reference="r" * 201), INVALID, "reference"),
    # ---- hosting overrides
    Case(
        "OverrideHosting without a reason",
        "fresh",
        _override(pb.HostingFacts(country="DE"), ""),
        INVALID,
        "reason",
        "reason",
    ),
    Case(
        "OverrideHosting with a blank reason",
        "fresh",
        _override(pb.HostingFacts(country="DE"), "   "),
        INVALID,
        "reason",
    ),
    Case(
        "OverrideHosting with a country name",
        "fresh",
        _override(pb.HostingFacts(country="Germany"), "resolver was wrong"),
        INVALID,
        "hosting.country",
        "ISO 3166-1",
    ),
    Case(
        "OverrideHosting with a three-letter country",
        "fresh",
        _override(pb.HostingFacts(country="DEU"), "resolver was wrong"),
        INVALID,
        "hosting.country",
    ),
    Case(
        "OverrideHosting without a country",
        "fresh",
        _override(pb.HostingFacts(ip="192.0.2.99"), "resolver was wrong"),
        INVALID,
        "hosting.country",
    ),
    Case(
        "OverrideHosting with an address that is not an IP address",
        "fresh",
        _override(pb.HostingFacts(ip="192.0.2.1" * 6, country="DE"), "resolver was wrong"),
        INVALID,
        "hosting.ip",
        "IPv4 or IPv6",
    ),
    Case(
        "OverrideHosting with an organisation over 200 characters",
        "fresh",
        _override(pb.HostingFacts(country="DE", organisation="o" * 201), "resolver was wrong"),
        INVALID,
        "hosting.organisation",
    ),
    Case(
        "OverrideHosting after the LEA was notified",
        "lea_notified",
        _override(pb.HostingFacts(country="DE"), "resolver was wrong"),
        PRECONDITION,
        "item_id",
        "MOVED",
    ),
    # ---- known-hash imports
    Case(
        "import without a source",
        "none",
        _import(known(pb.HASH_ALGORITHM_SHA256, SHA, pb.CLASSIFICATION_BASELINE), source=""),
        INVALID,
        "source",
    ),
    Case(
        "import with hash algorithm 99",
        "none",
        _import(known(99, SHA, pb.CLASSIFICATION_BASELINE)),
        INVALID,
        "hashes[0].hash.algorithm",
    ),
    Case(
        "import with classification 42",
        "none",
        _import(known(pb.HASH_ALGORITHM_SHA256, SHA, 42)),
        INVALID,
        "hashes[0].classification",
    ),
    Case(
        "import with a short hash after a good one",
        "none",
        _import(
            known(pb.HASH_ALGORITHM_SHA256, SHA, pb.CLASSIFICATION_BASELINE),
            known(pb.HASH_ALGORITHM_PDQ, "ab" * 8, pb.CLASSIFICATION_BASELINE),
        ),
        INVALID,
        "hashes[1].hash.value",
    ),
    # ---- tokens
    Case(
        "CreateToken with no roles",
        "none",
        lambda s, _i: s.admin.admin.CreateToken(admin_pb.CreateTokenRequest(name="no-roles")),
        INVALID,
        "roles",
    ),
    Case(
        "CreateToken with role 9",
        "none",
        lambda s, _i: s.admin.admin.CreateToken(admin_pb.CreateTokenRequest(name="r9", roles=[9])),  # type: ignore[list-item]
        INVALID,
        "roles[0]",
    ),
    Case(
        "CreateToken with a bad name",
        "none",
        lambda s, _i: s.admin.admin.CreateToken(admin_pb.CreateTokenRequest(name="a name", roles=[pb.ROLE_LEA])),
        INVALID,
        "name",
    ),
    # ---- reads
    Case(
        "ListItems with state 99",
        "fresh",
        lambda s, _i: s.analyst.cases.ListItems(case_pb.ListItemsRequest(state=99)),  # type: ignore[arg-type]
        INVALID,
        "state",
    ),
    Case(
        "ListItems with a bad country",
        "fresh",
        lambda s, _i: s.analyst.cases.ListItems(case_pb.ListItemsRequest(hosting_country="Netherlands")),
        INVALID,
        "hosting_country",
    ),
    Case(
        "GetStatistics with the period ending when it starts",
        "fresh",
        lambda s, _i: s.analyst.events.GetStatistics(
            event_pb.GetStatisticsRequest(period_start=ts(s.clock.now()), period_end=ts(s.clock.now()))
        ),
        INVALID,
        "period_end",
    ),
    Case(
        "GetStatistics with a bad country",
        "fresh",
        lambda s, _i: s.analyst.events.GetStatistics(event_pb.GetStatisticsRequest(hosting_country="nld")),
        INVALID,
        "hosting_country",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(served: Served, case: Case) -> None:
    item_id = await prepare(served, case.state)
    before = await snapshot(served)
    refusal = await refused(case.call(served, item_id))
    assert refusal.code is case.code, f"{case.label}: {refusal}"
    assert refusal.field == case.field, f"{case.label}: {refusal}"
    assert refusal.detail == case.detail, f"{case.label}: {refusal}"
    assert case.field in refusal.message, f"the message should name the field: {refusal.message!r}"
    assert case.text in refusal.message, f"{case.label}: {refusal.message!r}"
    assert await snapshot(served) == before


# ------------------------------------------------------------------------------ page tokens and sizes


async def test_a_garbage_page_token_is_refused_by_every_list(served: Served) -> None:
    await submit(served, NL)
    before = await snapshot(served)
    for garbage in ("garbage!", "%%%", "aGVsbG8", "x" * 400):
        for call in (
            served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_token=garbage)),
            served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token=garbage)),
            served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_token=garbage)),
        ):
            refusal = await refused(call)
            assert (refusal.code, refusal.field, refusal.detail) == (INVALID, "page_token", BAD_REQUEST), garbage
            assert "page_token" in refusal.message
    assert await snapshot(served) == before


async def test_a_page_token_of_another_kind_is_refused(served: Served) -> None:
    for i in range(3):
        await submit(served, f"https://nl.host.example/kinds/{i}")
    item_token = (await served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_size=1))).next_page_token
    token_token = (await served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_size=1))).next_page_token
    event_token = (await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=1))).next_page_token
    assert item_token and token_token and event_token
    # Each token works where it was issued ...
    await served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_token=item_token))
    await served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_token=token_token))
    await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token=event_token))
    before = await snapshot(served)
    # ... and nowhere else.
    calls = [
        served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_token=token_token)),
        served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_token=event_token)),
        served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token=item_token)),
        served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token=token_token)),
        served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_token=item_token)),
        served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_token=event_token)),
    ]
    for call in calls:
        refusal = await refused(call)
        assert (refusal.code, refusal.field, refusal.detail) == (INVALID, "page_token", BAD_REQUEST)
    assert await snapshot(served) == before


async def test_an_event_token_that_is_not_a_number_is_refused(served: Served) -> None:
    forged = base64.urlsafe_b64encode(b"e1:twelve").decode().rstrip("=")
    refusal = await refused(served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_token=forged)))
    assert (refusal.code, refusal.field) == (INVALID, "page_token")


async def test_a_negative_page_size_is_refused_by_every_list(served: Served) -> None:
    for call in (
        served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_size=-1)),
        served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=-5)),
        served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_size=-2147483648)),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.field, refusal.detail) == (INVALID, "page_size", BAD_REQUEST)
        assert "negative" in refusal.message


# ------------------------------------------------------------------------------ size limit


async def test_a_message_over_the_size_limit_is_resource_exhausted_and_writes_nothing(served: Served) -> None:
    before = await snapshot(served)
    oversize = report("https://nl.host.example/" + "a" * (1024 * 1024 + 100))
    assert oversize.ByteSize() > 1024 * 1024
    refusal = await refused(served.intake.intake.SubmitReport(oversize))
    assert refusal.code is grpc.StatusCode.RESOURCE_EXHAUSTED, refusal
    # Just under the limit the same mistake reaches the node, which refuses the URL itself.
    under = report("https://nl.host.example/" + "a" * (1000 * 1000))
    assert under.ByteSize() < 1024 * 1024
    refusal = await refused(served.intake.intake.SubmitReport(under))
    assert (refusal.code, refusal.field) == (INVALID, "urls[0].url")
    assert await snapshot(served) == before


async def test_a_report_of_exactly_100_urls_is_accepted(served: Served) -> None:
    """The other side of the 101-URL refusal: the limit is 100, not less."""
    response = await served.intake.intake.SubmitReport(
        report(*(f"https://nl.host.example/hundred/{i}" for i in range(100)))
    )
    assert len(response.report.items) == 100
    assert len({i.item_id for i in response.report.items}) == 100


# ------------------------------------------------------------------------------ credentials, ids, reuse


async def test_a_missing_token_is_unauthenticated_and_writes_nothing(served: Served) -> None:
    before = await snapshot(served)
    for call in (
        served.anonymous.intake.SubmitReport(report(GOOD)),
        served.anonymous.admin.ImportKnownHashes(
            admin_pb.ImportKnownHashesRequest(
                source="list", hashes=[known(pb.HASH_ALGORITHM_SHA256, SHA, pb.CLASSIFICATION_BASELINE)]
            )
        ),
        served.anonymous.admin.CreateToken(admin_pb.CreateTokenRequest(name="sneaky", roles=[pb.ROLE_ADMIN])),
    ):
        refusal = await refused(call)
        assert refusal.code is grpc.StatusCode.UNAUTHENTICATED
        assert "authorization" in refusal.message
    assert await snapshot(served) == before
    tokens = await served.admin.admin.ListTokens(admin_pb.ListTokensRequest())
    assert "sneaky" not in {t.name for t in tokens.tokens}


async def test_a_request_id_reused_for_a_different_request_is_already_exists(served: Served) -> None:
    first = await served.intake.intake.SubmitReport(report("https://nl.host.example/reuse/a", request_id="form-1"))
    item_id = first.report.items[0].item_id
    await served.analyst.cases.AssessItem(
        case_pb.AssessItemRequest(
            request_id="analyst-1", item_id=item_id, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL)
        )
    )
    before = await snapshot(served)
    # Another URL under the same id.
    refusal = await refused(
        served.intake.intake.SubmitReport(report("https://nl.host.example/reuse/b", request_id="form-1"))
    )
    assert (refusal.code, refusal.field, refusal.detail) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "request_id",
        PRECONDITION_FAILURE,
    )
    assert "form-1" in refusal.message
    # The same id for another kind of call.
    refusal = await refused(
        served.analyst.cases.RecordAction(
            case_pb.RecordActionRequest(request_id="analyst-1", item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED)
        )
    )
    assert (refusal.code, refusal.field) == (grpc.StatusCode.ALREADY_EXISTS, "request_id")
    assert "AssessItem" in refusal.message
    # The same id, the same item, another classification.
    refusal = await refused(
        served.analyst.cases.AssessItem(
            case_pb.AssessItemRequest(
                request_id="analyst-1",
                item_id=item_id,
                assessment=pb.Assessment(classification=pb.CLASSIFICATION_BASELINE),
            )
        )
    )
    assert (refusal.code, refusal.field) == (grpc.StatusCode.ALREADY_EXISTS, "request_id")
    assert await snapshot(served) == before
    # Request ids belong to their caller: another token may use "form-1" for its own request.
    other = await served.admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            request_id="form-1",
            source="list",
            hashes=[known(pb.HASH_ALGORITHM_SHA256, SHA, pb.CLASSIFICATION_NATIONAL)],
        )
    )
    assert other.imported == 1


# ------------------------------------------------------------------------------ unknown ids

UNKNOWN = "01890000-0000-7000-8000-000000000000"

NOT_FOUND_CASES: list[tuple[str, Callable[[Served], Awaitable[Any]], str]] = [
    ("GetItem", lambda s: s.analyst.cases.GetItem(case_pb.GetItemRequest(item_id=UNKNOWN)), "item_id"),
    ("GetItem empty id", lambda s: s.lea.cases.GetItem(case_pb.GetItemRequest()), "item_id"),
    (
        "GetItemTimeline",
        lambda s: s.analyst.cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=UNKNOWN)),
        "item_id",
    ),
    ("GetReport", lambda s: s.intake.intake.GetReport(intake_pb.GetReportRequest(report_id=UNKNOWN)), "report_id"),
    (
        "AssessItem",
        lambda s: s.analyst.cases.AssessItem(
            case_pb.AssessItemRequest(
                item_id=UNKNOWN, assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL)
            )
        ),
        "item_id",
    ),
    (
        "RecordAction",
        lambda s: s.analyst.cases.RecordAction(
            case_pb.RecordActionRequest(item_id=UNKNOWN, type=pb.ACTION_TYPE_LEA_NOTIFIED)
        ),
        "item_id",
    ),
    ("TraceHosting", lambda s: s.analyst.cases.TraceHosting(case_pb.TraceHostingRequest(item_id=UNKNOWN)), "item_id"),
    (
        "OverrideHosting",
        lambda s: s.analyst.cases.OverrideHosting(
            case_pb.OverrideHostingRequest(item_id=UNKNOWN, hosting=pb.HostingFacts(country="NL"), reason="x")
        ),
        "item_id",
    ),
    (
        "WithdrawReferral",
        lambda s: s.analyst.cases.WithdrawReferral(case_pb.WithdrawReferralRequest(item_id=UNKNOWN, reason="x")),
        "item_id",
    ),
    ("ListReceipts", lambda s: s.lea.cases.ListReceipts(case_pb.ListReceiptsRequest(item_id=UNKNOWN)), "item_id"),
    ("PlaceHold", lambda s: s.lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=UNKNOWN)), "item_id"),
    ("ReleaseHold", lambda s: s.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=UNKNOWN)), "item_id"),
    (
        "RevokeToken",
        lambda s: s.admin.admin.RevokeToken(admin_pb.RevokeTokenRequest(token_id="ffffffffffffffff")),
        "token_id",
    ),
]


@pytest.mark.parametrize(("label", "call", "field"), NOT_FOUND_CASES, ids=[c[0] for c in NOT_FOUND_CASES])
async def test_an_unknown_id_is_not_found_naming_it(
    served: Served, label: str, call: Callable[[Served], Awaitable[Any]], field: str
) -> None:
    await submit(served, NL)
    before = await snapshot(served)
    refusal = await refused(call(served))
    assert (refusal.code, refusal.field, refusal.detail) == (
        grpc.StatusCode.NOT_FOUND,
        field,
        "google.rpc.ResourceInfo",
    ), label
    assert await snapshot(served) == before
