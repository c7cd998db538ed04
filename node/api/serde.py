"""The one place where protobuf messages and domain types are converted, and enum values are checked."""

from __future__ import annotations

import base64
import binascii
import enum
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from node.access import StoredToken
from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.model import (
    Action,
    ActionType,
    AgeGroup,
    Assessment,
    Classification,
    Commerciality,
    ContentType,
    Event,
    Gender,
    Hold,
    HostingRecord,
    Item,
    ItemState,
    PaymentMethod,
    Report,
    Reporter,
    Role,
    Route,
    SiteType,
)
from node.cases.requests import NewReport, NewUrl, RawHash
from node.cases.statistics import DurationSummary, Statistics
from node.errors import InvalidArgument
from node.hashes import HashAlgorithm
from node.hosting import HostingFacts

__all__ = [
    "assessment_from_proto",
    "decode_token",
    "encode_token",
    "enum_from_proto",
    "enum_to_proto",
    "event_to_proto",
    "hosting_from_proto",
    "item_to_proto",
    "report_request_from_proto",
    "report_to_proto",
    "statistics_to_proto",
    "timestamp",
    "timestamp_from_proto",
    "token_to_proto",
]

E = TypeVar("E", bound=enum.Enum)

# Each domain enum and the protobuf enum it travels as (values are PREFIX_NAME there).
_PROTO_ENUMS: dict[type[enum.Enum], Any] = {
    Classification: pb.Classification,
    AgeGroup: pb.AgeGroup,
    Gender: pb.Gender,
    ContentType: pb.ContentType,
    Commerciality: pb.Commerciality,
    PaymentMethod: pb.PaymentMethod,
    SiteType: pb.SiteType,
    ActionType: pb.ActionType,
    ItemState: pb.ItemState,
    Route: pb.Route,
    Role: pb.Role,
    HashAlgorithm: pb.HashAlgorithm,
}
_PREFIX: dict[type[enum.Enum], str] = {
    Classification: "CLASSIFICATION_",
    AgeGroup: "AGE_GROUP_",
    Gender: "GENDER_",
    ContentType: "CONTENT_TYPE_",
    Commerciality: "COMMERCIALITY_",
    PaymentMethod: "PAYMENT_METHOD_",
    SiteType: "SITE_TYPE_",
    ActionType: "ACTION_TYPE_",
    ItemState: "ITEM_STATE_",
    Route: "ROUTE_",
    Role: "ROLE_",
    HashAlgorithm: "HASH_ALGORITHM_",
}


def enum_from_proto(domain: type[E], value: int, *, field: str, default: E | None = None) -> E:
    """The domain value of a protobuf enum number. Unknown numbers are refused, naming the field."""
    wrapper = _PROTO_ENUMS[domain]
    try:
        name: str = wrapper.Name(value)
    except ValueError:
        raise InvalidArgument(f"unknown enum value {value}", field=field) from None
    short = name.removeprefix(_PREFIX[domain])
    if short == "UNSPECIFIED":
        if default is not None:
            return default
        raise InvalidArgument("is required", field=field)
    member: E = domain[short]
    return member


def enum_to_proto(value: enum.Enum | None) -> int:
    if value is None:
        return 0
    return int(_PROTO_ENUMS[type(value)].Value(_PREFIX[type(value)] + value.name))


def timestamp_from_proto(message: Any, name: str, *, field: str) -> datetime | None:
    if not message.HasField(name):
        return None
    ts: Timestamp = getattr(message, name)
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument("is not a valid timestamp", field=field) from None


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


# ---------------------------------------------------------------------- page tokens and cursors


def encode_token(kind: str, key: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}1:{key}".encode()).decode().rstrip("=")


def decode_token(token: str, kind: str, *, field: str = "page_token") -> str:
    """The key inside a page token or cursor of `kind`; an empty token gives ''."""
    if not token:
        return ""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("is not a token this node issued", field=field) from None
    prefix = f"{kind}1:"
    if not raw.startswith(prefix) or len(raw) > 200:
        raise InvalidArgument("is not a token this node issued", field=field)
    return raw[len(prefix) :]


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


def assessment_from_proto(message: pb.Assessment, *, field: str = "assessment") -> Assessment:
    return Assessment(
        classification=enum_from_proto(Classification, message.classification, field=f"{field}.classification"),
        age_group=enum_from_proto(
            AgeGroup, message.age_group, field=f"{field}.age_group", default=AgeGroup.UNDETERMINED
        ),
        gender=enum_from_proto(Gender, message.gender, field=f"{field}.gender", default=Gender.UNDETERMINED),
        content_type=enum_from_proto(
            ContentType, message.content_type, field=f"{field}.content_type", default=ContentType.OTHER
        ),
        site_type=enum_from_proto(
            SiteType, message.site_type, field=f"{field}.site_type", default=SiteType.UNDETERMINED
        ),
        commerciality=enum_from_proto(
            Commerciality,
            message.commerciality,
            field=f"{field}.commerciality",
            default=Commerciality.UNDETERMINED,
        ),
        payment_methods=frozenset(
            enum_from_proto(PaymentMethod, p, field=f"{field}.payment_methods[{i}]")
            for i, p in enumerate(message.payment_methods)
        ),
        virtual=message.virtual,
        child_modelling=message.child_modelling,
        user_generated=message.user_generated,
        note=message.note,
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


def report_to_proto(report: Report) -> pb.Report:
    return pb.Report(
        report_id=report.report_id,
        received_at=timestamp(report.received_at),
        referrer_url=report.referrer_url,
        anonymous=report.reporter.anonymous,
        items=[
            pb.ReportedItem(
                item_id=i.item_id,
                url=i.url,
                new_item=i.new_item,
                known_content=i.known_content,
                state=enum_to_proto(i.state),  # type: ignore[arg-type]
            )
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
    )


def _hold_to_proto(h: Hold) -> pb.Hold:
    return pb.Hold(
        hold_id=h.hold_id,
        placed_at=timestamp(h.placed_at),
        until=timestamp(h.until),
        released_at=timestamp(h.released_at),
        reference=h.reference,
        placed_by=h.placed_by,
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
        hashes=[
            pb.ContentHash(algorithm=enum_to_proto(h.algorithm), value=h.hex)  # type: ignore[arg-type]
            for h in item.hashes
        ],
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
    )


def _duration_to_proto(d: DurationSummary) -> pb.DurationSummary:
    return pb.DurationSummary(count=d.count, median_seconds=d.median_seconds, p90_seconds=d.p90_seconds)


def statistics_to_proto(s: Statistics) -> pb.Statistics:
    return pb.Statistics(
        hosting_country=s.hosting_country,
        item_count=s.item_count,
        by_state=[pb.CountEntry(key=k, count=v) for k, v in s.by_state.items()],
        by_classification=[pb.CountEntry(key=k, count=v) for k, v in s.by_classification.items()],
        report_to_lea=_duration_to_proto(s.report_to_lea),
        report_to_ntd=_duration_to_proto(s.report_to_ntd),
        report_to_removal=_duration_to_proto(s.report_to_removal),
        removed_count=s.removed_count,
        removed_within_72h_count=s.removed_within_72h_count,
        removed_within_72h_share=s.removed_within_72h_share,
    )


def token_to_proto(token: StoredToken) -> admin_pb.TokenInfo:
    return admin_pb.TokenInfo(
        token_id=token.token_id,
        name=token.name,
        roles=sorted(enum_to_proto(r) for r in token.roles),  # type: ignore[misc]
        created_at=timestamp(token.created_at),
        revoked_at=timestamp(token.revoked_at),
    )
