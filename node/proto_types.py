"""Protobuf <-> domain for hotline.node.v1.types: enums, timestamps, assessments and content hashes.

Both protocols travel these types: the integrator API (node.api.serde) and the node-to-node exchange
(node.exchange.codec). What each of them sends of a type is its own business; how a value is written in
the shared types is decided here, once. Enum values are checked on the way in, naming the field.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.model import (
    ActionType,
    AgeGroup,
    Assessment,
    Classification,
    Commerciality,
    ContentType,
    Gender,
    HashProvenance,
    ItemState,
    PaymentMethod,
    Role,
    Route,
    SiteType,
)
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
    HashProvenance: pb.HashProvenance,
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
    HashProvenance: "HASH_PROVENANCE_",
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


def content_hash_to_proto(content_hash: ContentHash, provenance: HashProvenance | None = None) -> pb.ContentHash:
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
