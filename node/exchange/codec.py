"""Bodies of node-to-node messages: typed messages <-> protobuf bytes.

To send, an outbox row is read back as its typed message (node.cases.exchange_messages.from_outbox) and
built into protobuf from the domain types, serialised deterministically. Received bytes are decoded into the
same types, validating every field, so a peer's malformed body is rejected with a reason and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError

from node import proto_types
from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.exchange_messages import (
    KIND_HASH_VERDICTS,
    KIND_REFERRAL,
    KIND_STATUS_UPDATE,
    KIND_WITHDRAWAL,
    REFERRAL_MAX_HASHES,
    ExchangeMessage,
    HashVerdict,
    HashVerdicts,
    Referral,
    StatusUpdate,
    Withdrawal,
    from_outbox,
)
from node.cases.exchange_rules import MAX_VERDICTS_PER_MESSAGE, ExchangeRefusal, RefusalReason
from node.cases.fields import (
    LIMIT_EXCEEDED,
    MALFORMED_ID,
    MAX_SEQUENCE,
    check_country,
    check_integer,
    check_node_id,
    check_note,
    check_text,
    check_time,
    check_uuid,
)
from node.cases.model import ActionType, Assessment, Classification, ItemState
from node.cases.requests import check_hosting_facts
from node.cases.urls import normalise_url
from node.errors import InvalidArgument
from node.hosting import HostingFacts

__all__ = ["KINDS", "MAX_HASHES", "Incoming", "decode_body", "encode_body"]

Incoming = ExchangeMessage

# A referral carries at most this many hashes (the sender sends no more: node.cases.exchange_messages).
MAX_HASHES = REFERRAL_MAX_HASHES
_MAX_PAYMENT_METHODS = 32

KINDS: dict[str, int] = {
    KIND_REFERRAL: envelope_pb2.MESSAGE_KIND_REFERRAL,
    KIND_STATUS_UPDATE: envelope_pb2.MESSAGE_KIND_STATUS_UPDATE,
    KIND_WITHDRAWAL: envelope_pb2.MESSAGE_KIND_WITHDRAWAL,
    KIND_HASH_VERDICTS: envelope_pb2.MESSAGE_KIND_HASH_LIST,
}


def encode_body(kind: str, body_json: str) -> tuple[int, bytes]:
    """The envelope kind and the protobuf bytes of an outbox message's JSON body."""
    if kind not in KINDS:
        raise ValueError(f"no wire form for outbox kind {kind!r}")
    message = from_outbox(kind, body_json)
    wire: messages_pb2.Referral | messages_pb2.StatusUpdate | messages_pb2.Withdrawal | messages_pb2.HashVerdicts
    if isinstance(message, Referral):
        wire = _referral_to_proto(message)
    elif isinstance(message, StatusUpdate):
        wire = _status_to_proto(message)
    elif isinstance(message, HashVerdicts):
        wire = messages_pb2.HashVerdicts(verdicts=[_verdict_to_proto(v) for v in message.verdicts])
    else:
        wire = messages_pb2.Withdrawal(origin_item_id=message.origin_item_id, reason=message.reason)
    return KINDS[kind], wire.SerializeToString(deterministic=True)


def decode_body(
    kind: int,
    body: bytes,
    *,
    sender: str,
    now: datetime | None = None,
    is_member: Callable[[str], bool] | None = None,
) -> Incoming:
    """The domain form of a received body, every field checked at the boundary (node.cases.fields): ids in
    their formats, node ids of roster members (`is_member`), text bounded and free of control characters,
    URLs by the intake's rules, times within the protobuf range and a window around `now`, integers within
    their columns. Raises InvalidArgument naming the first bad field."""
    checks = _Checks(now, is_member or (lambda _node: True))
    try:
        if kind == envelope_pb2.MESSAGE_KIND_REFERRAL:
            return _referral_from_proto(messages_pb2.Referral.FromString(body), checks)
        if kind == envelope_pb2.MESSAGE_KIND_STATUS_UPDATE:
            return _status_from_proto(messages_pb2.StatusUpdate.FromString(body), checks)
        if kind == envelope_pb2.MESSAGE_KIND_WITHDRAWAL:
            w = messages_pb2.Withdrawal.FromString(body)
            origin_item_id = check_uuid(
                _required(w.origin_item_id, "withdrawal.origin_item_id"), field="withdrawal.origin_item_id"
            )
            return Withdrawal(sender, origin_item_id, check_note(w.reason, field="withdrawal.reason"))
        if kind == envelope_pb2.MESSAGE_KIND_HASH_LIST:
            return _verdicts_from_proto(messages_pb2.HashVerdicts.FromString(body))
    except DecodeError:
        raise InvalidArgument("the body is not valid protobuf", field="body") from None
    except RecursionError:  # protobuf's own nesting limit guards the C parser; the pure-Python one may recurse
        raise InvalidArgument("the body is nested too deeply", field="body") from None
    raise InvalidArgument(f"message kind {kind} carries no case body", field="kind")


@dataclass(frozen=True, slots=True)
class _Checks:
    """What the field checks need of the receiver: its clock and its roster."""

    now: datetime | None
    is_member: Callable[[str], bool]

    def member(self, value: str, field: str) -> str:
        check_node_id(value, field=field)
        if not self.is_member(value):
            raise InvalidArgument("must be a member of the roster", field=field, reason=MALFORMED_ID)
        return value

    def time(self, message: Any, name: str, field: str) -> datetime | None:
        value = proto_types.timestamp_from_proto(message, name, field=field)
        return None if value is None else check_time(value, field=field, now=self.now)


def _referral_to_proto(r: Referral) -> messages_pb2.Referral:
    return messages_pb2.Referral(
        origin_node=r.origin_node,
        origin_item_id=r.origin_item_id,
        url=r.url,
        first_reported_at=proto_types.timestamp(r.first_reported_at),
        next_status_sequence=r.next_status_sequence,
        referred_by=r.referred_by,
        hashes=[proto_types.content_hash_to_proto(h) for h in r.hashes],
        assessment=None if r.assessment is None else _peer_assessment(r.assessment),
        hosting=None if r.hosting is None else _peer_hosting(r.hosting),
    )


# What a peer is sent of an assessment and of the hosting is deliberately a subset of the integrator API's
# forms (node.api.serde): the classification with its terms and the jurisdiction that made it, and where the
# content is hosted. No analyst name, note, assessment time, trace source or override detail leaves the node.


def _peer_assessment(a: Assessment) -> pb.Assessment:
    return pb.Assessment(
        classification=proto_types.enum_to_proto(a.classification),  # type: ignore[arg-type]
        jurisdiction=a.jurisdiction,
        age_group=proto_types.enum_to_proto(a.age_group),  # type: ignore[arg-type]
        gender=proto_types.enum_to_proto(a.gender),  # type: ignore[arg-type]
        content_type=proto_types.enum_to_proto(a.content_type),  # type: ignore[arg-type]
        site_type=proto_types.enum_to_proto(a.site_type),  # type: ignore[arg-type]
        commerciality=proto_types.enum_to_proto(a.commerciality),  # type: ignore[arg-type]
        # In the order of their names, as peers have always been sent them.
        payment_methods=[proto_types.enum_to_proto(p) for p in sorted(a.payment_methods)],  # type: ignore[misc]
        virtual=a.virtual,
        child_modelling=a.child_modelling,
        user_generated=a.user_generated,
    )


def _peer_hosting(h: HostingFacts) -> pb.HostingFacts:
    return pb.HostingFacts(
        ip=h.ip or "", country=h.country or "", asn=h.asn or 0, organisation=h.organisation or "", cdn=h.cdn
    )


def _referral_from_proto(r: messages_pb2.Referral, checks: _Checks) -> Referral:
    assessment: Assessment | None = None
    if r.HasField("assessment"):
        assessment = _assessment_from_peer(r.assessment, checks)
    hosting: HostingFacts | None = None
    if r.HasField("hosting"):
        hosting = _hosting_from_peer(r.hosting)
    if len(r.hashes) > MAX_HASHES:
        raise InvalidArgument(f"at most {MAX_HASHES} hashes", field="referral.hashes", reason=LIMIT_EXCEEDED)
    hashes = tuple(
        proto_types.content_hash_from_proto(h, field=f"referral.hashes[{i}]") for i, h in enumerate(r.hashes)
    )
    next_sequence = check_integer(
        r.next_status_sequence, field="referral.next_status_sequence", minimum=1, maximum=MAX_SEQUENCE
    )
    first = checks.time(r, "first_reported_at", "referral.first_reported_at")
    url = check_text(_required(r.url, "referral.url"), field="referral.url", limit=None)
    normalise_url(url, field="referral.url")  # the intake's rules; the case domain keeps the normalised form
    return Referral(
        origin_node=checks.member(_required(r.origin_node, "referral.origin_node"), "referral.origin_node"),
        origin_item_id=check_uuid(
            _required(r.origin_item_id, "referral.origin_item_id"), field="referral.origin_item_id"
        ),
        url=url,
        hashes=hashes,
        assessment=assessment,
        hosting=hosting,
        first_reported_at=first or datetime.now(UTC),
        next_status_sequence=next_sequence,
        referred_by=checks.member(r.referred_by, "referral.referred_by") if r.referred_by else "",
    )


def _assessment_from_peer(a: pb.Assessment, checks: _Checks) -> Assessment:
    """The peer's subset of an assessment (see _peer_assessment); what a peer never sends is checked like
    any field, then dropped."""
    field = "referral.assessment"
    if len(a.payment_methods) > _MAX_PAYMENT_METHODS:
        raise InvalidArgument(
            f"at most {_MAX_PAYMENT_METHODS} payment methods", field=f"{field}.payment_methods", reason=LIMIT_EXCEEDED
        )
    check_text(a.assessed_by, field=f"{field}.assessed_by")
    check_note(a.note, field=f"{field}.note")
    checks.time(a, "assessed_at", f"{field}.assessed_at")
    assessment = proto_types.assessment_from_proto(a, field=field)
    jurisdiction = check_country(a.jurisdiction, field=f"{field}.jurisdiction") if a.jurisdiction else ""
    return replace(assessment, jurisdiction=jurisdiction, note="")


def _hosting_from_peer(h: pb.HostingFacts) -> HostingFacts:
    field = "referral.hosting"
    check_text(h.source, field=f"{field}.source")
    check_note(h.override_reason, field=f"{field}.override_reason")
    proto_types.timestamp_from_proto(h, "traced_at", field=f"{field}.traced_at")
    for name in ("ip", "country", "organisation"):
        check_text(getattr(h, name), field=f"{field}.{name}")
    facts = HostingFacts(h.ip or None, h.country or None, h.asn or None, h.organisation or None, h.cdn, "referral")
    return check_hosting_facts(facts, field=field)


def _status_to_proto(update: StatusUpdate) -> messages_pb2.StatusUpdate:
    return messages_pb2.StatusUpdate(
        origin_item_id=update.origin_item_id,
        sequence=update.sequence,
        assigned_node=update.assigned_node,
        action=proto_types.enum_to_proto(update.action),  # type: ignore[arg-type]
        occurred_at=proto_types.timestamp(update.occurred_at),
        state=proto_types.enum_to_proto(update.state),  # type: ignore[arg-type]
        classification=proto_types.enum_to_proto(update.classification),  # type: ignore[arg-type]
        moved_to_country=update.moved_to_country,
        reassigned_to=update.reassigned_to,
    )


def _status_from_proto(s: messages_pb2.StatusUpdate, checks: _Checks) -> StatusUpdate:
    sequence = check_integer(s.sequence, field="status_update.sequence", minimum=1, maximum=MAX_SEQUENCE)
    occurred = checks.time(s, "occurred_at", "status_update.occurred_at")
    if occurred is None:
        raise InvalidArgument("is required", field="status_update.occurred_at")
    action = proto_types.enum_from_proto(ActionType, s.action, field="status_update.action") if s.action else None
    classification = (
        proto_types.enum_from_proto(Classification, s.classification, field="status_update.classification")
        if s.classification
        else None
    )
    field = "status_update.origin_item_id"
    return StatusUpdate(
        origin_item_id=check_uuid(_required(s.origin_item_id, field), field=field),
        sequence=sequence,
        assigned_node=checks.member(
            _required(s.assigned_node, "status_update.assigned_node"), "status_update.assigned_node"
        ),
        occurred_at=occurred,
        state=proto_types.enum_from_proto(ItemState, s.state, field="status_update.state"),
        action=action,
        classification=classification,
        moved_to_country=(
            check_country(s.moved_to_country, field="status_update.moved_to_country") if s.moved_to_country else ""
        ),
        # Whether it names a member serving the new country is for the authority rules (MOVE_NOT_SERVING).
        reassigned_to=(check_node_id(s.reassigned_to, field="status_update.reassigned_to") if s.reassigned_to else ""),
    )


def _verdict_to_proto(v: HashVerdict) -> messages_pb2.HashVerdict:
    return messages_pb2.HashVerdict(
        hash=proto_types.content_hash_to_proto(v.hash),
        classification=proto_types.enum_to_proto(v.classification),  # type: ignore[arg-type]
        provenance=v.provenance,
        decided_at=proto_types.timestamp(v.decided_at),
        withdrawn=v.withdrawn,
    )


def _verdicts_from_proto(m: messages_pb2.HashVerdicts) -> HashVerdicts:
    if len(m.verdicts) > MAX_VERDICTS_PER_MESSAGE:
        raise ExchangeRefusal(
            RefusalReason.VERDICT_BATCH_TOO_LARGE,
            f"{len(m.verdicts)} hash verdicts in one message; at most {MAX_VERDICTS_PER_MESSAGE}",
            field="verdicts",
        )
    verdicts = []
    for i, v in enumerate(m.verdicts):
        field = f"verdicts[{i}]"
        try:
            content_hash = proto_types.content_hash_from_proto(v.hash, field=f"{field}.hash")
        except InvalidArgument as error:
            raise ExchangeRefusal(RefusalReason.UNKNOWN_HASH_FORMAT, str(error), field=f"{field}.hash") from None
        decided = proto_types.timestamp_from_proto(v, "decided_at", field=f"{field}.decided_at")
        if decided is None:
            raise InvalidArgument("is required", field=f"{field}.decided_at")
        classification = proto_types.enum_from_proto(Classification, v.classification, field=f"{field}.classification")
        verdicts.append(HashVerdict(content_hash, classification, v.provenance[:16], decided, v.withdrawn))
    return HashVerdicts(tuple(verdicts))


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument("is required", field=field)
    return value
