"""The messages a case exchanges with other nodes, as domain types, and their outbox JSON form.

The outbox keeps each message as canonical JSON, written in the same transaction as the change that caused
it. The exchange layer turns that JSON into the protobuf body, then signs and seals it at send time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.cases.model import ActionType, Assessment, Classification, ItemState
from node.hashes import ContentHash
from node.hosting import HostingFacts

__all__ = [
    "KIND_REFERRAL",
    "KIND_STATUS_UPDATE",
    "KIND_WITHDRAWAL",
    "IncomingReferral",
    "StatusUpdate",
    "Withdrawal",
    "assessment_to_json",
    "dump_body",
]

KIND_REFERRAL = "referral"
KIND_STATUS_UPDATE = "status_update"
KIND_WITHDRAWAL = "withdrawal"


@dataclass(frozen=True, slots=True)
class IncomingReferral:
    origin_node: str
    origin_item_id: str
    url: str
    hashes: tuple[ContentHash, ...]
    assessment: Assessment | None
    hosting: HostingFacts | None
    first_reported_at: datetime
    next_status_sequence: int = 1
    referred_by: str = ""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    origin_item_id: str
    sequence: int
    assigned_node: str
    occurred_at: datetime
    state: ItemState
    # None: an assessment without an action.
    action: ActionType | None = None
    classification: Classification | None = None
    moved_to_country: str = ""
    reassigned_to: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "origin_item_id": self.origin_item_id,
            "sequence": self.sequence,
            "assigned_node": self.assigned_node,
            "occurred_at": self.occurred_at.isoformat(),
            "state": self.state.value,
            "action": self.action.value if self.action else None,
            "classification": self.classification.value if self.classification else None,
            "moved_to_country": self.moved_to_country,
            "reassigned_to": self.reassigned_to,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatusUpdate:
        return cls(
            origin_item_id=data["origin_item_id"],
            sequence=int(data["sequence"]),
            assigned_node=data["assigned_node"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            state=ItemState(data["state"]),
            action=ActionType(data["action"]) if data["action"] else None,
            classification=Classification(data["classification"]) if data["classification"] else None,
            moved_to_country=data["moved_to_country"],
            reassigned_to=data["reassigned_to"],
        )


@dataclass(frozen=True, slots=True)
class Withdrawal:
    origin_node: str
    origin_item_id: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"origin_node": self.origin_node, "origin_item_id": self.origin_item_id, "reason": self.reason}


def dump_body(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def assessment_to_json(a: Assessment) -> dict[str, Any]:
    return {
        "classification": a.classification.value,
        "age_group": a.age_group.value,
        "gender": a.gender.value,
        "content_type": a.content_type.value,
        "site_type": a.site_type.value,
        "commerciality": a.commerciality.value,
        "payment_methods": sorted(p.value for p in a.payment_methods),
        "virtual": a.virtual,
        "child_modelling": a.child_modelling,
        "user_generated": a.user_generated,
        "jurisdiction": a.jurisdiction,
    }
