"""Protobuf <-> domain for hotline.node.v1.types: enums, timestamps, assessments and content hashes.

Both protocols travel these types: the integrator API (node.api.serde) and the node-to-node exchange
(node.exchange.codec). What each of them sends of a type is its own business; how a value is written in
the shared types is decided here, once. Enum values are checked on the way in, naming the field.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases import model as m
from node.errors import InvalidArgument, Reason
from node.hashes import ContentHash, HashAlgorithm, parse_hash

__all__ = [
    "assessment_from_proto",
    "content_hash_from_proto",
    "content_hash_to_proto",
    "enum_from_proto",
    "enum_to_proto",
    "timestamp",
    "timestamp_from_proto",
]

E = TypeVar("E", bound=enum.Enum)

# The domain enums that travel: each as the protobuf enum of its name, whose values are its names behind the
# enum's name in capitals (AgeGroup.ADULT: AGE_GROUP_ADULT).
_TRAVELLING: tuple[type[enum.Enum], ...] = (
    m.Classification,
    m.AgeGroup,
    m.Gender,
    m.ContentType,
    m.Commerciality,
    m.PaymentMethod,
    m.SiteType,
    m.ActionType,
    m.ItemState,
    m.Route,
    m.Role,
    HashAlgorithm,
    m.HashProvenance,
)
_PROTO_ENUMS: dict[type[enum.Enum], Any] = {domain: getattr(pb, domain.__name__) for domain in _TRAVELLING}
_PREFIX: dict[type[enum.Enum], str] = {
    domain: re.sub(r"(?<!^)(?=[A-Z])", "_", domain.__name__).upper() + "_" for domain in _TRAVELLING
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
        raise InvalidArgument("is required", field=field, reason=Reason.REQUIRED_FIELD)
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


def assessment_from_proto(message: pb.Assessment, *, field: str = "assessment") -> m.Assessment:
    return m.Assessment(
        classification=enum_from_proto(m.Classification, message.classification, field=f"{field}.classification"),
        age_group=enum_from_proto(
            m.AgeGroup, message.age_group, field=f"{field}.age_group", default=m.AgeGroup.UNDETERMINED
        ),
        gender=enum_from_proto(m.Gender, message.gender, field=f"{field}.gender", default=m.Gender.UNDETERMINED),
        content_type=enum_from_proto(
            m.ContentType, message.content_type, field=f"{field}.content_type", default=m.ContentType.OTHER
        ),
        site_type=enum_from_proto(
            m.SiteType, message.site_type, field=f"{field}.site_type", default=m.SiteType.UNDETERMINED
        ),
        commerciality=enum_from_proto(
            m.Commerciality,
            message.commerciality,
            field=f"{field}.commerciality",
            default=m.Commerciality.UNDETERMINED,
        ),
        payment_methods=frozenset(
            enum_from_proto(m.PaymentMethod, p, field=f"{field}.payment_methods[{i}]")
            for i, p in enumerate(message.payment_methods)
        ),
        virtual=message.virtual,
        child_modelling=message.child_modelling,
        user_generated=message.user_generated,
        note=message.note,
    )


def content_hash_to_proto(content_hash: ContentHash, provenance: m.HashProvenance | None = None) -> pb.ContentHash:
    """`provenance` only in the integrator API's Item; a peer is never told who asserted a hash here."""
    return pb.ContentHash(
        algorithm=enum_to_proto(content_hash.algorithm),  # type: ignore[arg-type]
        value=content_hash.hex,
        provenance=enum_to_proto(provenance),  # type: ignore[arg-type]
    )


def content_hash_from_proto(message: pb.ContentHash, *, field: str) -> ContentHash:
    """The validated hash; errors name `{field}.algorithm` or `{field}.value`."""
    algorithm = enum_from_proto(HashAlgorithm, message.algorithm, field=f"{field}.algorithm")
    return parse_hash(algorithm, message.value, field=field)
