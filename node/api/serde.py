"""Integrator-API messages <-> domain types: reports, items, events, statistics, tokens, page tokens.

The types both protocols share (enums, timestamps, assessments read from a request, content hashes) are
converted in node.proto_types; what is here is the API's own form of each message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable

from node.access import StoredToken
from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.event_details import details_to_proto
from node.cases.event_kinds import EventKind, proto_name
from node.cases.fields import MALFORMED_ID
from node.cases.model import Action, Assessment, Event, Hold, HostingRecord, Item, Report, Reporter
from node.cases.requests import NewReport, NewUrl, RawHash
from node.cases.statistics import DurationSummary, Statistics
from node.errors import InvalidArgument
from node.hashes import HashAlgorithm
from node.hosting import HostingFacts, TraceOutcome, trace_outcome
from node.proto_types import content_hash_to_proto, enum_from_proto, enum_to_proto, timestamp, timestamp_from_proto

__all__ = [
    "action_to_proto",
    "decode_token",
    "encode_token",
    "event_kinds_from_proto",
    "event_to_proto",
    "hosting_from_proto",
    "item_to_proto",
    "report_request_from_proto",
    "report_to_proto",
    "statistics_to_proto",
    "token_to_proto",
]


# ---------------------------------------------------------------------- page tokens and cursors


def encode_token(kind: str, key: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}1:{key}".encode()).decode().rstrip("=")


def decode_token(
    token: str, kind: str, *, field: str = "page_token", check: Callable[..., object] | None = None
) -> str:
    """The key inside a page token or cursor of `kind`, checked by `check(key, field=...)` (a rule of
    node.cases.fields) when one is given; an empty token gives ''."""
    if not token:
        return ""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("is not a token this node issued", field=field, reason=MALFORMED_ID) from None
    prefix = f"{kind}1:"
    if not raw.startswith(prefix) or len(raw) > 200:
        raise InvalidArgument("is not a token this node issued", field=field, reason=MALFORMED_ID)
    key = raw[len(prefix) :]
    if check is not None:
        try:
            check(key, field=field)
        except InvalidArgument:
            raise InvalidArgument("is not a token this node issued", field=field, reason=MALFORMED_ID) from None
    return key


# ---------------------------------------------------------------------- requests


def report_request_from_proto(request: intake_pb.SubmitReportRequest) -> NewReport:
    urls = []
    for i, reported in enumerate(request.urls):
        hashes = tuple(
            RawHash(
                enum_from_proto(HashAlgorithm, h.algorithm, field=f"urls[{i}].hashes[{j}].algorithm").value,
                h.value,
            )
            for j, h in enumerate(reported.hashes)
        )
        urls.append(NewUrl(reported.url, hashes))
    given = request.reporter
    reporter = Reporter(
        # A report with no reporter details at all is anonymous.
        anonymous=given.anonymous or not (given.name or given.email or given.reference),
        name=given.name,
        email=given.email,
        reference=given.reference,
    )
    return NewReport(
        urls=tuple(urls),
        referrer_url=request.referrer_url,
        reporter=reporter,
        received_at=timestamp_from_proto(request, "received_at", field="received_at"),
    )


def hosting_from_proto(message: pb.HostingFacts) -> HostingFacts:
    return HostingFacts(
        ip=message.ip or None,
        country=message.country or None,
        asn=message.asn or None,
        organisation=message.organisation or None,
        cdn=message.cdn,
        source="override",
    )


# ---------------------------------------------------------------------- responses


def report_to_proto(report: Report, *, show_new_item: bool) -> pb.Report:
    """`show_new_item` for analysts only: to anyone else it would tell whether the URL was already known."""
    return pb.Report(
        report_id=report.report_id,
        received_at=timestamp(report.received_at),
        referrer_url=report.referrer_url,
        anonymous=report.reporter.anonymous,
        items=[
            # Nothing about known-content matching (known_content, state): an intake caller could probe the
            # confidential lists with it, or learn that police hold the item. Analysts read the item.
            pb.ReportedItem(item_id=i.item_id, url=i.url, new_item=i.new_item and show_new_item)
            for i in report.items
        ],
    )


def _assessment_to_proto(a: Assessment) -> pb.Assessment:
    return pb.Assessment(
        classification=enum_to_proto(a.classification),  # type: ignore[arg-type]
        age_group=enum_to_proto(a.age_group),  # type: ignore[arg-type]
        gender=enum_to_proto(a.gender),  # type: ignore[arg-type]
        content_type=enum_to_proto(a.content_type),  # type: ignore[arg-type]
        site_type=enum_to_proto(a.site_type),  # type: ignore[arg-type]
        commerciality=enum_to_proto(a.commerciality),  # type: ignore[arg-type]
        payment_methods=sorted(enum_to_proto(p) for p in a.payment_methods),  # type: ignore[misc]
        virtual=a.virtual,
        child_modelling=a.child_modelling,
        user_generated=a.user_generated,
        jurisdiction=a.jurisdiction,
        assessed_by=a.assessed_by,
        assessed_at=timestamp(a.assessed_at),
        note=a.note,
        automatic=a.automatic,
    )


_TRACE_OUTCOMES = {
    TraceOutcome.LOCATED: pb.HOSTING_TRACE_OUTCOME_LOCATED,
    TraceOutcome.NOT_RESOLVED: pb.HOSTING_TRACE_OUTCOME_NOT_RESOLVED,
    TraceOutcome.COUNTRY_UNKNOWN: pb.HOSTING_TRACE_OUTCOME_COUNTRY_UNKNOWN,
    TraceOutcome.FAILED: pb.HOSTING_TRACE_OUTCOME_FAILED,
}


def _hosting_to_proto(h: HostingRecord) -> pb.HostingFacts:
    f = h.facts
    return pb.HostingFacts(
        ip=f.ip or "",
        country=f.country or "",
        asn=f.asn or 0,
        organisation=f.organisation or "",
        cdn=f.cdn,
        source=f.source,
        overridden=h.overridden,
        override_reason=h.override_reason,
        traced_at=timestamp(h.traced_at),
        trace_outcome=pb.HOSTING_TRACE_OUTCOME_UNSPECIFIED if h.overridden else _TRACE_OUTCOMES[trace_outcome(f)],
    )


def _hold_to_proto(h: Hold) -> pb.Hold:
    return pb.Hold(
        hold_id=h.hold_id,
        placed_at=timestamp(h.placed_at),
        until=timestamp(h.until),
        released_at=timestamp(h.released_at),
        reference=h.reference,
        placed_by=h.placed_by,
        cleared_at=timestamp(h.cleared_at),
        cleared_by=h.cleared_by,
    )


def action_to_proto(a: Action) -> pb.Action:
    return pb.Action(
        action_id=a.action_id,
        type=enum_to_proto(a.type),  # type: ignore[arg-type]
        occurred_at=timestamp(a.occurred_at),
        actor=a.actor,
        note=a.note,
        moved_to_country=a.moved_to_country,
    )


def item_to_proto(item: Item) -> pb.Item:
    return pb.Item(
        item_id=item.item_id,
        url=item.url,
        host=item.host,
        state=enum_to_proto(item.state),  # type: ignore[arg-type]
        assigned_node=item.assigned_node,
        known_content=item.known_content,
        assessment=_assessment_to_proto(item.assessment) if item.assessment else None,
        hosting=_hosting_to_proto(item.hosting) if item.hosting else None,
        route=enum_to_proto(item.route),  # type: ignore[arg-type]
        referred_to=item.referred_to,
        hashes=[content_hash_to_proto(h, item.provenance_of(h)) for h in item.hashes],
        report_count=item.report_count,
        first_reported_at=timestamp(item.first_reported_at),
        lea_notified_at=timestamp(item.lea_notified_at),
        ntd_sent_at=timestamp(item.ntd_sent_at),
        deadline_at=timestamp(item.deadline_at),
        closed_at=timestamp(item.closed_at),
        active_hold=_hold_to_proto(item.active_hold) if item.active_hold else None,
        escalated=item.escalated_at is not None,
        actions=[action_to_proto(a) for a in item.actions],
        origin_node=item.origin_node,
        origin_item_id=item.origin_item_id,
    )


_EVENT_KIND_NUMBERS: dict[EventKind, int] = {kind: pb.EventKind.Value(proto_name(kind)) for kind in EventKind}
_EVENT_KINDS: dict[int, EventKind] = {number: kind for kind, number in _EVENT_KIND_NUMBERS.items()}


def event_to_proto(event: Event) -> pb.Event:
    return pb.Event(
        cursor=encode_token("e", str(event.seq)),
        event_id=event.event_id,
        kind=event.kind,
        item_id=event.item_id,
        report_id=event.report_id,
        occurred_at=timestamp(event.occurred_at),
        state=enum_to_proto(event.state),  # type: ignore[arg-type]
        detail=event.detail,
        event_kind=_EVENT_KIND_NUMBERS[event.kind],  # type: ignore[arg-type]
        **details_to_proto(event.details),
    )


def event_kinds_from_proto(numbers: Iterable[int], *, field: str) -> frozenset[EventKind] | None:
    """The kinds a request asks for; None when it names none (every kind). EVENT_KIND_UNSPECIFIED, or a
    number this node does not know, is refused, naming the field and its index."""
    kinds = set()
    for i, number in enumerate(numbers):
        kind = _EVENT_KINDS.get(number)
        if kind is None:
            raise InvalidArgument(
                f"{number} is not a kind of event this node emits (EVENT_KIND_UNSPECIFIED is none)",
                field=f"{field}[{i}]",
            )
        kinds.add(kind)
    return frozenset(kinds) if kinds else None


def _duration_to_proto(d: DurationSummary) -> pb.DurationSummary:
    return pb.DurationSummary(count=d.count, median_seconds=d.median_seconds, p90_seconds=d.p90_seconds)


def statistics_to_proto(s: Statistics) -> pb.Statistics:
    return pb.Statistics(
        hosting_country=s.hosting_country,
        item_count=s.item_count,
        by_state=[pb.CountEntry(key=f"ITEM_STATE_{k}", count=v) for k, v in s.by_state.items()],
        by_classification=[
            pb.CountEntry(key="CLASSIFICATION_UNSPECIFIED" if k == "UNASSESSED" else f"CLASSIFICATION_{k}", count=v)
            for k, v in s.by_classification.items()
        ],
        report_to_lea=_duration_to_proto(s.report_to_lea),
        report_to_ntd=_duration_to_proto(s.report_to_ntd),
        report_to_removal=_duration_to_proto(s.report_to_removal),
        removed_count=s.removed_count,
        removed_within_72h_count=s.removed_within_72h_count,
        removed_within_72h_share=s.removed_within_72h_share,
        illegal_count=s.illegal_count,
        removed_within_72h_share_of_removed=s.removed_within_72h_share_of_removed,
    )


def token_to_proto(token: StoredToken) -> admin_pb.TokenInfo:
    return admin_pb.TokenInfo(
        token_id=token.token_id,
        name=token.name,
        roles=sorted(enum_to_proto(r) for r in token.roles),  # type: ignore[misc]
        created_at=timestamp(token.created_at),
        revoked_at=timestamp(token.revoked_at),
        expires_at=timestamp(token.expires_at),
        last_used_at=timestamp(token.last_used_at),
        group=token.group,
        previous_secret_valid_until=timestamp(token.previous_valid_until),
    )
