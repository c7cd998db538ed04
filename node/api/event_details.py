"""An event's typed details (node.cases.event_details) as the proto Event's `details` oneof.

Each details type has the proto message of its name ("hold": Event.hold, an EventHoldDetails), whose fields are
the type's fields by name: enums are sent as the proto enum, times as Timestamps, the rest as they are."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.event_details import EventDetails, details_name
from node.proto_types import enum_to_proto, timestamp

__all__ = ["details_to_proto"]

# The oneof's name -> its message class (the type of the field's default message).
_MESSAGES: dict[str, Any] = {
    field.name: type(getattr(pb.Event(), field.name)) for field in pb.Event.DESCRIPTOR.oneofs_by_name["details"].fields
}


def details_to_proto(details: EventDetails | None) -> dict[str, Any]:
    """The keyword for pb.Event: {"action": EventActionDetails(...)}, or {} for an event without details."""
    if details is None:
        return {}
    name = details_name(details)
    message = _MESSAGES[name]
    by_name = message.DESCRIPTOR.fields_by_name
    return {name: message(**{f.name: _value(by_name[f.name], getattr(details, f.name)) for f in fields(details)})}


def _value(field: Any, value: Any) -> Any:
    """A FieldDescriptor's value: an enum as the proto enum, a Timestamp from a datetime, the rest as it is."""
    if field.enum_type is not None:
        return enum_to_proto(value)
    if field.message_type is not None:
        return timestamp(value)
    return value
