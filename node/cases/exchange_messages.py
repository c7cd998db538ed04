"""The messages a case exchanges with other nodes, as domain types, and their outbox JSON form.

The outbox keeps each message as canonical JSON, written in the same transaction as the change that caused
it. The exchange layer reads it back with `from_outbox`, turns it into the protobuf body, then signs and
seals it at send time. The JSON text is stored (and read by the simulator): its form must not change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from node.cases.model import (
    ActionType,
    Assessment,
    Classification,
    HashProvenance,
    Item,
    ItemState,
)
from node.hashes import ContentHash, parse_hash
from node.hosting import HostingFacts

__all__ = [
    "KIND_HASH_VERDICTS",
    "KIND_REFERRAL",
    "KIND_STATUS_UPDATE",
    "KIND_WITHDRAWAL",
    "REFERRAL_MAX_HASHES",
    "ExchangeMessage",
    "HashVerdict",
    "HashVerdicts",
    "Referral",
    "StatusUpdate",
    "Withdrawal",
    "dump_body",
    "from_outbox",
]

KIND_REFERRAL = "referral"
KIND_STATUS_UPDATE = "status_update"
KIND_WITHDRAWAL = "withdrawal"
KIND_HASH_VERDICTS = "hash_verdicts"


# A referral carries at most this many of the item's hashes (peers refuse more: node.exchange.codec). An item
# can hold more (repeat reports add theirs): those the hotline's own tools or analysts vouched for go first,
# then the rest in the order they came.
REFERRAL_MAX_HASHES = 16


def _referred_hashes(item: Item) -> tuple[ContentHash, ...]:
    trusted = (HashProvenance.HASHER, HashProvenance.ANALYST)
    ranked = sorted(item.hashes, key=lambda h: item.provenance_of(h) not in trusted)  # stable: keeps the order
    return tuple(ranked[:REFERRAL_MAX_HASHES])


@dataclass(frozen=True, slots=True)
class Referral:
    """An item handed to the hotline of its hosting country: metadata only, never content. Only the
    originator sends it, after a move too (node.cases.exchange_rules): a receiver refuses one whose
    `referred_by` names another node, the form an assignee once used to pass an item on itself."""

    kind: ClassVar[str] = KIND_REFERRAL

    origin_node: str
    origin_item_id: str
    url: str
    hashes: tuple[ContentHash, ...]
    assessment: Assessment | None
    hosting: HostingFacts | None
    first_reported_at: datetime
    next_status_sequence: int = 1
    referred_by: str = ""

    @classmethod
    def of_item(cls, item: Item, *, node_id: str) -> Referral:
        """The referral of `item` by this node (`node_id`): its own item, or one referred here that it
        passes on (then the origin stays the originator's, and this node is the one that referred it)."""
        referred_in = bool(item.origin_node)
        return cls(
            origin_node=item.origin_node if referred_in else node_id,
            origin_item_id=item.origin_item_id if referred_in else item.item_id,
            url=item.url,
            hashes=_referred_hashes(item),
            assessment=item.assessment,
            hosting=item.hosting.facts if item.hosting else None,
            first_reported_at=item.first_reported_at,
            next_status_sequence=item.status_sequence + 1,
            referred_by=node_id if referred_in else "",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "origin_node": self.origin_node,
            "origin_item_id": self.origin_item_id,
            "referred_by": self.referred_by,
            "next_status_sequence": self.next_status_sequence,
            "url": self.url,
            "first_reported_at": self.first_reported_at.isoformat(),
            "hashes": [{"algorithm": str(h.algorithm), "value": h.hex} for h in self.hashes],
            "assessment": None if self.assessment is None else _assessment_to_json(self.assessment),
            "hosting": None if self.hosting is None else _hosting_to_json(self.hosting),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Referral:
        return cls(
            origin_node=data["origin_node"],
            origin_item_id=data["origin_item_id"],
            url=data["url"],
            hashes=tuple(parse_hash(h["algorithm"], h["value"]) for h in data["hashes"]),
            assessment=_assessment_from_json(data["assessment"]) if data["assessment"] else None,
            hosting=_hosting_from_json(data["hosting"]) if data["hosting"] else None,
            first_reported_at=datetime.fromisoformat(data["first_reported_at"]),
            next_status_sequence=int(data["next_status_sequence"]),
            referred_by=data["referred_by"],
        )


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    kind: ClassVar[str] = KIND_STATUS_UPDATE

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
    kind: ClassVar[str] = KIND_WITHDRAWAL

    origin_node: str
    origin_item_id: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"origin_node": self.origin_node, "origin_item_id": self.origin_item_id, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Withdrawal:
        return cls(origin_node=data["origin_node"], origin_item_id=data["origin_item_id"], reason=data["reason"])


@dataclass(frozen=True, slots=True)
class HashVerdict:
    """One node's word on a hash, shared with a peer: the hash, its classification, who asserted it (this
    node's analysts: ANALYST) and when. `withdrawn`: a tombstone, the sender takes its word back. No content,
    no URL, no item."""

    hash: ContentHash
    classification: Classification
    provenance: str
    decided_at: datetime
    withdrawn: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": str(self.hash.algorithm),
            "value": self.hash.hex,
            "classification": self.classification.value,
            "provenance": self.provenance,
            "decided_at": self.decided_at.isoformat(),
            "withdrawn": self.withdrawn,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HashVerdict:
        return cls(
            hash=parse_hash(data["algorithm"], data["value"]),
            classification=Classification(data["classification"]),
            provenance=data["provenance"],
            decided_at=datetime.fromisoformat(data["decided_at"]),
            withdrawn=bool(data["withdrawn"]),
        )


@dataclass(frozen=True, slots=True)
class HashVerdicts:
    """A batch of hash verdicts (or tombstones) a node publishes to a peer that opted in."""

    kind: ClassVar[str] = KIND_HASH_VERDICTS

    verdicts: tuple[HashVerdict, ...]

    def to_json(self) -> dict[str, Any]:
        return {"verdicts": [v.to_json() for v in self.verdicts]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HashVerdicts:
        return cls(tuple(HashVerdict.from_json(v) for v in data["verdicts"]))


ExchangeMessage = Referral | StatusUpdate | Withdrawal | HashVerdicts

_BY_KIND: dict[str, type[Referral] | type[StatusUpdate] | type[Withdrawal] | type[HashVerdicts]] = {
    KIND_REFERRAL: Referral,
    KIND_STATUS_UPDATE: StatusUpdate,
    KIND_WITHDRAWAL: Withdrawal,
    KIND_HASH_VERDICTS: HashVerdicts,
}


def from_outbox(kind: str, body_json: str) -> ExchangeMessage:
    """The typed message of an outbox row (its kind and its JSON body)."""
    message_type = _BY_KIND.get(kind)
    if message_type is None:
        raise ValueError(f"no message of outbox kind {kind!r}")
    return message_type.from_json(json.loads(body_json))


def dump_body(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


# The assessment and the hosting facts travel as the peer subset: the classification and its terms, the
# jurisdiction that made it, and where the content is hosted. No analyst name, note, assessment time or
# override detail (who, why) leaves the node; the receiving hotline re-assesses under its own law.


_PEER_TERMS = (
    "classification",
    "age_group",
    "gender",
    "content_type",
    "site_type",
    "commerciality",
    "payment_methods",
    "virtual",
    "child_modelling",
    "user_generated",
    "jurisdiction",
)


def _assessment_to_json(a: Assessment) -> dict[str, Any]:
    return {name: _plain(getattr(a, name)) for name in _PEER_TERMS}


def _plain(value: Any) -> Any:
    """A JSON value: an enum by its value, a set of them as a sorted list."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset):
        return sorted(p.value for p in value)
    return value


def _assessment_from_json(data: dict[str, Any]) -> Assessment:
    return Assessment.from_values({name: data[name] for name in _PEER_TERMS})


def _hosting_to_json(h: HostingFacts) -> dict[str, Any]:
    return {"ip": h.ip, "country": h.country, "asn": h.asn, "organisation": h.organisation, "cdn": h.cdn}


def _hosting_from_json(data: dict[str, Any]) -> HostingFacts:
    # The facts as a referral brings them; which resolver traced them stays with the sender.
    return HostingFacts(data["ip"], data["country"], data["asn"], data["organisation"], data["cdn"], "referral")
