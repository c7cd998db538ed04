"""The stored form (JSON) of an event's typed details (node.cases.model: ActionDetails ... HostingDetails), and
those types again for importers. The proto Event serves them as its `details` oneof (node.api.event_details).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from node.cases.model import (
    ActionDetails,
    ActionType,
    AssessmentDetails,
    Classification,
    DeadlineDetails,
    EventDetails,
    HoldDetails,
    HostingDetails,
    KnownHashDetails,
    MessageDetails,
    NoticeDetails,
    OpinionDetails,
    RosterDetails,
    Route,
    RoutingDetails,
)

__all__ = [
    "ActionDetails",
    "AssessmentDetails",
    "DeadlineDetails",
    "EventDetails",
    "HoldDetails",
    "HostingDetails",
    "KnownHashDetails",
    "MessageDetails",
    "NoticeDetails",
    "OpinionDetails",
    "RosterDetails",
    "RoutingDetails",
    "details_from_json",
    "details_name",
    "details_to_json",
]


_TYPES: dict[str, type[Any]] = {
    "action": ActionDetails,
    "assessment": AssessmentDetails,
    "routing": RoutingDetails,
    "hold": HoldDetails,
    "deadline": DeadlineDetails,
    "message": MessageDetails,
    "notice": NoticeDetails,
    "hosting": HostingDetails,
    "known_hash": KnownHashDetails,
    "roster": RosterDetails,
    "opinion": OpinionDetails,
}
_NAMES = {cls: name for name, cls in _TYPES.items()}
_ENUMS: dict[str, type[Any]] = {"action": ActionType, "classification": Classification, "route": Route}
_TIMES = ("until", "deadline_at")


def details_name(details: EventDetails) -> str:
    """The name of the details' type: "action", "hold", ... (the stored "type", and the proto Event's oneof)."""
    return _NAMES[type(details)]


def details_to_json(details: EventDetails | None) -> str | None:
    if details is None:
        return None
    fields = {
        key: value.isoformat() if isinstance(value, datetime) else value for key, value in asdict(details).items()
    }
    return json.dumps({"type": details_name(details), **fields}, sort_keys=True)


def details_from_json(text: str | None) -> EventDetails | None:
    if not text:
        return None
    fields: dict[str, Any] = json.loads(text)
    cls = _TYPES[fields.pop("type")]
    for key, value in fields.items():
        if key in _ENUMS and value is not None:
            fields[key] = _ENUMS[key](value)
        elif key in _TIMES and value is not None:
            fields[key] = datetime.fromisoformat(value)
    details: EventDetails = cls(**fields)
    return details
