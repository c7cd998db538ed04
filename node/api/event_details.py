"""An event's typed details (node.cases.event_details) as the proto Event's `details` oneof."""

from __future__ import annotations

from typing import Any

from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.event_details import (
    ActionDetails,
    AssessmentDetails,
    DeadlineDetails,
    EventDetails,
    HoldDetails,
    HostingDetails,
    KnownHashDetails,
    MessageDetails,
    NoticeDetails,
    OpinionDetails,
    RosterDetails,
    RoutingDetails,
)
from node.proto_types import enum_to_proto, timestamp

__all__ = ["details_to_proto"]


def details_to_proto(details: EventDetails | None) -> dict[str, Any]:
    """The keyword for pb.Event: {"action": EventActionDetails(...)}, or {} for an event without details."""
    match details:
        case None:
            return {}
        case ActionDetails(action, actor, moved_to_country):
            return {
                "action": pb.EventActionDetails(
                    action=enum_to_proto(action),  # type: ignore[arg-type]
                    actor=actor,
                    moved_to_country=moved_to_country,
                )
            }
        case AssessmentDetails(classification, automatic):
            return {
                "assessment": pb.EventAssessmentDetails(
                    classification=enum_to_proto(classification),  # type: ignore[arg-type]
                    automatic=automatic,
                )
            }
        case RoutingDetails(route, country, peer_node):
            return {
                "routing": pb.EventRoutingDetails(
                    route=enum_to_proto(route),  # type: ignore[arg-type]
                    country=country,
                    peer_node=peer_node,
                )
            }
        case HoldDetails(hold_id, until):
            return {"hold": pb.EventHoldDetails(hold_id=hold_id, until=timestamp(until))}
        case DeadlineDetails(deadline_at, overdue_seconds):
            return {
                "deadline": pb.EventDeadlineDetails(deadline_at=timestamp(deadline_at), overdue_seconds=overdue_seconds)
            }
        case MessageDetails(peer, message_id, message_kind, reason_code, sequence):
            return {
                "message": pb.EventMessageDetails(
                    peer=peer,
                    message_id=message_id,
                    message_kind=message_kind,
                    reason_code=reason_code,
                    sequence=sequence,
                )
            }
        case NoticeDetails(notice_id, notice_kind, channel, attempts, error):
            return {
                "notice": pb.EventNoticeDetails(
                    notice_id=notice_id, notice_kind=notice_kind, channel=channel, attempts=attempts, error=error
                )
            }
        case HostingDetails(country, overridden):
            return {"hosting": pb.EventHostingDetails(country=country, overridden=overridden)}
        case KnownHashDetails(known_hash_id, algorithm, source, classification, disputes, count):
            return {
                "known_hash": pb.EventKnownHashDetails(
                    known_hash_id=known_hash_id,
                    algorithm=algorithm,
                    source=source,
                    classification=enum_to_proto(classification),  # type: ignore[arg-type]
                    disputes=disputes,
                    count=count,
                )
            }
        case RosterDetails(code, version, subject):
            return {"roster": pb.EventRosterDetails(code=code, version=version, subject=subject)}
        case OpinionDetails(peer, agrees, classification):
            return {
                "opinion": pb.EventOpinionDetails(
                    peer=peer,
                    agrees=agrees,
                    classification=enum_to_proto(classification),  # type: ignore[arg-type]
                )
            }
    raise TypeError(f"no proto form for {type(details).__name__}")
