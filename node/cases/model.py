"""Domain types of the case workflow. Plain dataclasses: no transport, no database."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from node.cases.event_kinds import EventKind
from node.hashes import ContentHash
from node.hosting import HostingFacts

__all__ = [
    "CLOSED_STATES",
    "Action",
    "ActionDetails",
    "ActionType",
    "AgeGroup",
    "Assessment",
    "AssessmentDetails",
    "Classification",
    "Commerciality",
    "ContentType",
    "DeadlineDetails",
    "Event",
    "EventDetails",
    "Gender",
    "HashProvenance",
    "Hold",
    "HoldDetails",
    "HostingDetails",
    "HostingRecord",
    "Item",
    "ItemState",
    "KnownHash",
    "KnownHashDetails",
    "MessageDetails",
    "NoticeDetails",
    "OpinionDetails",
    "OutboxMessage",
    "PaymentMethod",
    "Principal",
    "Report",
    "ReportedItem",
    "Reporter",
    "Role",
    "RosterDetails",
    "Route",
    "RoutingDetails",
    "SiteType",
]


class Classification(enum.StrEnum):
    BASELINE = "BASELINE"
    NATIONAL = "NATIONAL"
    DOUBTFUL = "DOUBTFUL"
    NOT_ILLEGAL = "NOT_ILLEGAL"


class AgeGroup(enum.StrEnum):
    UNDETERMINED = "UNDETERMINED"
    INFANT = "INFANT"
    PREPUBESCENT = "PREPUBESCENT"
    PUBESCENT = "PUBESCENT"


class Gender(enum.StrEnum):
    UNDETERMINED = "UNDETERMINED"
    FEMALE = "FEMALE"
    MALE = "MALE"
    BOTH = "BOTH"


class ContentType(enum.StrEnum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    LINK = "LINK"
    CONTAINER = "CONTAINER"
    TEXT = "TEXT"
    OTHER = "OTHER"


class Commerciality(enum.StrEnum):
    UNDETERMINED = "UNDETERMINED"
    COMMERCIAL = "COMMERCIAL"
    NON_COMMERCIAL = "NON_COMMERCIAL"


class PaymentMethod(enum.StrEnum):
    CARD = "CARD"
    BANK_TRANSFER = "BANK_TRANSFER"
    CRYPTOCURRENCY = "CRYPTOCURRENCY"
    E_WALLET = "E_WALLET"
    PREPAID_VOUCHER = "PREPAID_VOUCHER"
    OTHER = "OTHER"


class SiteType(enum.StrEnum):
    WEBSITE = "WEBSITE"
    FILE_HOST = "FILE_HOST"
    IMAGE_STORE = "IMAGE_STORE"
    IMAGE_BOARD = "IMAGE_BOARD"
    FORUM = "FORUM"
    BANNER_SITE = "BANNER_SITE"
    LINK_SITE = "LINK_SITE"
    SOCIAL_SITE = "SOCIAL_SITE"
    REDIRECTOR = "REDIRECTOR"
    WEB_ARCHIVE = "WEB_ARCHIVE"
    SEARCH_PROVIDER = "SEARCH_PROVIDER"
    IMAGE_HOST = "IMAGE_HOST"
    BLOG = "BLOG"
    WEBPAGE = "WEBPAGE"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    UNDETERMINED = "UNDETERMINED"


class ActionType(enum.StrEnum):
    LEA_NOTIFIED = "LEA_NOTIFIED"
    HP_NOTIFIED = "HP_NOTIFIED"
    CONTENT_REMOVED = "CONTENT_REMOVED"
    CONTENT_UNAVAILABLE = "CONTENT_UNAVAILABLE"
    MOVED = "MOVED"
    NOT_ILLEGAL = "NOT_ILLEGAL"


class ItemState(enum.StrEnum):
    AWAITING_ASSESSMENT = "AWAITING_ASSESSMENT"
    AWAITING_HOSTING = "AWAITING_HOSTING"
    AWAITING_LEA = "AWAITING_LEA"
    LEA_NOTIFIED = "LEA_NOTIFIED"
    NTD_SENT = "NTD_SENT"
    REFERRED = "REFERRED"
    CLOSED_REMOVED = "CLOSED_REMOVED"
    CLOSED_UNAVAILABLE = "CLOSED_UNAVAILABLE"
    CLOSED_NOT_ILLEGAL = "CLOSED_NOT_ILLEGAL"
    # The originating hotline withdrew its referral; work stopped.
    WITHDRAWN = "WITHDRAWN"


CLOSED_STATES = frozenset(
    {ItemState.CLOSED_REMOVED, ItemState.CLOSED_UNAVAILABLE, ItemState.CLOSED_NOT_ILLEGAL, ItemState.WITHDRAWN}
)


class Route(enum.StrEnum):
    DOMESTIC = "DOMESTIC"
    REFERRAL = "REFERRAL"
    FALLBACK_REFERRAL = "FALLBACK_REFERRAL"
    FALLBACK_DIRECT = "FALLBACK_DIRECT"


class Role(enum.StrEnum):
    INTAKE = "intake"
    ANALYST = "analyst"
    LEA = "lea"
    ADMIN = "admin"
    # The hotline's own hashing tool: it may submit reports, and the hashes it sends are trusted (HASHER).
    HASHER = "hasher"


class HashProvenance(enum.StrEnum):
    """Who asserted a hash: of an item's hash, who said the content at its URL has it; of a known hash, who
    said what it is. Only trusted provenance (node.cases.hash_trust) matches or teaches automatically."""

    CLAIMED = "CLAIMED"  # an intake caller said so: a hint for the analyst, never a fact
    HASHER = "HASHER"  # computed by the hotline's own tool (a token with the hasher role)
    ANALYST = "ANALYST"  # attested by an analyst assessing the item; of a known hash: learned from a verdict
    LIST = "LIST"  # imported from a named list (with its source and version)
    PEER = "PEER"  # came with a referral from a peer hotline (trusted only once item 4 says how)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: an integrator token."""

    token_id: str
    name: str
    roles: frozenset[Role]
    group: str = ""
    """The token's group ('' for none): an integration with several tokens, or an LEA agency. Tokens of one
    group read each other's reports; an LEA group may release each other's holds where the node allows it."""

    def owns(self, owner_name: str, owner_group: str) -> bool:
        """Whether what `owner_name` (a token name) of `owner_group` made is this caller's."""
        return owner_name == self.name or (bool(self.group) and owner_group == self.group)


@dataclass(frozen=True, slots=True)
class Reporter:
    anonymous: bool = True
    name: str = ""
    email: str = ""
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Assessment:
    classification: Classification
    age_group: AgeGroup = AgeGroup.UNDETERMINED
    gender: Gender = Gender.UNDETERMINED
    content_type: ContentType = ContentType.OTHER
    site_type: SiteType = SiteType.UNDETERMINED
    commerciality: Commerciality = Commerciality.UNDETERMINED
    payment_methods: frozenset[PaymentMethod] = frozenset()
    virtual: bool = False
    child_modelling: bool = False
    user_generated: bool = False
    note: str = ""
    # Filled by the service:
    jurisdiction: str = ""
    assessed_by: str = ""
    assessed_at: datetime | None = None
    automatic: bool = False
    known_hash_id: int | None = None  # the known-hash entry an automatic assessment came from

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Assessment:
        """An assessment from its fields' plain values, as a row or a JSON object keeps them: each enum by its
        value, the payment methods as an iterable of values. A field not given takes its default."""
        typed: dict[str, Any] = {n: _ASSESSMENT_ENUMS[n](v) if n in _ASSESSMENT_ENUMS else v for n, v in values.items()}
        if "payment_methods" in typed:
            typed["payment_methods"] = frozenset(PaymentMethod(p) for p in values["payment_methods"])
        return cls(**typed)


_ASSESSMENT_ENUMS: dict[str, type[enum.Enum]] = {
    "classification": Classification,
    "age_group": AgeGroup,
    "gender": Gender,
    "content_type": ContentType,
    "site_type": SiteType,
    "commerciality": Commerciality,
}


@dataclass(frozen=True, slots=True)
class HostingRecord:
    facts: HostingFacts
    traced_at: datetime
    overridden: bool = False
    override_reason: str = ""
    actor: str = ""


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    item_id: str
    placed_at: datetime
    until: datetime | None
    reference: str
    placed_by: str
    released_at: datetime | None = None
    placed_by_group: str = ""
    """The placing token's group (its agency): another token of it may release the hold where the node allows."""
    cleared_at: datetime | None = None
    """When the LEA cleared removal: the content may be removed (and the item closed) while the hold stands."""
    cleared_by: str = ""

    def active_at(self, now: datetime) -> bool:
        if self.released_at is not None:
            return False
        return self.until is None or now < self.until


@dataclass(frozen=True, slots=True)
class Action:
    action_id: str
    item_id: str
    type: ActionType
    occurred_at: datetime
    actor: str
    note: str = ""
    moved_to_country: str = ""


@dataclass(slots=True)
class Item:
    """One reported URL and its case. Mutated only through node.cases.workflow."""

    item_id: str
    url: str
    host: str
    state: ItemState
    assigned_node: str
    first_reported_at: datetime
    created_at: datetime
    report_count: int = 1
    known_content: bool = False
    route: Route | None = None
    referred_to: str = ""
    assessment: Assessment | None = None
    hosting: HostingRecord | None = None
    hashes: list[ContentHash] = field(default_factory=list)
    # Who asserted each of `hashes`; a hash missing here counts as CLAIMED.
    hash_provenance: dict[ContentHash, HashProvenance] = field(default_factory=dict)
    lea_notified_at: datetime | None = None
    ntd_sent_at: datetime | None = None
    deadline_at: datetime | None = None
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    active_hold: Hold | None = None
    actions: list[Action] = field(default_factory=list)
    # Federation: the hotline that referred the item here and its item id ('' for this hotline's own items),
    # and the last status update sequence sent (as assignee) or applied (as originator).
    origin_node: str = ""
    origin_item_id: str = ""
    status_sequence: int = 0
    referred_by: str = ""
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    @property
    def hosting_country(self) -> str | None:
        return self.hosting.facts.country if self.hosting else None

    @property
    def classification(self) -> Classification | None:
        return self.assessment.classification if self.assessment else None

    def provenance_of(self, content_hash: ContentHash) -> HashProvenance:
        return self.hash_provenance.get(content_hash, HashProvenance.CLAIMED)


@dataclass(frozen=True, slots=True)
class ReportedItem:
    item_id: str
    url: str
    new_item: bool
    known_content: bool
    state: ItemState


@dataclass(frozen=True, slots=True)
class Report:
    report_id: str
    received_at: datetime
    items: tuple[ReportedItem, ...]
    referrer_url: str = ""
    reporter: Reporter = Reporter()
    submitted_by: str = ""
    """The submitting token's name, and its group: who may read the report besides the analysts."""
    submitted_group: str = ""


@dataclass(frozen=True, slots=True)
class KnownHash:
    """One source's word on a hash. Sources keep their own entries side by side: an imported list (its name),
    or what this node's analysts taught it ("learned", "learned-not-illegal")."""

    known_hash_id: int
    hash: ContentHash
    classification: Classification
    source: str
    assessment: Assessment | None = None
    provenance: HashProvenance = HashProvenance.LIST
    version: str = ""  # an imported list's version
    learned_from_item: str = ""  # the item whose assessment taught a learned entry
    disputes: int = 0  # analysts' disputes of its matches since it was last confirmed


# The typed details of an event, for programs: what an action, an assessment, a route, a hold, a deadline, a
# message between nodes, a notice or a hosting trace was (Event.detail stays a human summary). Stored as JSON
# (node.cases.event_details), served as the proto Event's `details` oneof.


@dataclass(frozen=True, slots=True)
class ActionDetails:
    action: ActionType
    actor: str
    moved_to_country: str = ""


@dataclass(frozen=True, slots=True)
class AssessmentDetails:
    classification: Classification
    automatic: bool  # by a known-hash match, or the origin's for a referral


@dataclass(frozen=True, slots=True)
class RoutingDetails:
    route: Route
    country: str  # "" when unknown
    peer_node: str = ""  # the node referred to


@dataclass(frozen=True, slots=True)
class HoldDetails:
    hold_id: str
    until: datetime | None  # None: until released


@dataclass(frozen=True, slots=True)
class DeadlineDetails:
    deadline_at: datetime
    overdue_seconds: int


@dataclass(frozen=True, slots=True)
class MessageDetails:
    """A message between nodes: the peer (the authenticated one, for a refused message), its id and kind,
    and the refusal's reason code if any."""

    peer: str
    message_id: str = ""
    message_kind: str = ""
    reason_code: str = ""
    sequence: int = 0  # of a status update


@dataclass(frozen=True, slots=True)
class NoticeDetails:
    notice_id: str
    notice_kind: str  # LEA or NTD
    channel: str
    attempts: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class KnownHashDetails:
    """A known-hash entry (or, for a batch, a source and how many): matches, hints, conflicts, disputes,
    published and banked verdicts."""

    known_hash_id: int = 0
    algorithm: str = ""
    source: str = ""
    classification: Classification | None = None
    disputes: int = 0
    count: int = 0

    @classmethod
    def of(cls, entry: KnownHash, *, count: int = 0) -> KnownHashDetails:
        return cls(
            entry.known_hash_id, str(entry.hash.algorithm), entry.source, entry.classification, entry.disputes, count
        )


@dataclass(frozen=True, slots=True)
class RosterDetails:
    """The roster and the node's keys: a reason code (INSTALLED, ROSTER_EXPIRING, a refusal's reason,
    KEY_EXPIRED, ...), the roster version it concerns, and what (a roster's source, a key kind)."""

    code: str
    version: int = 0
    subject: str = ""


@dataclass(frozen=True, slots=True)
class OpinionDetails:
    """The receiving hotline's classification of a referral, against the origin's."""

    peer: str
    agrees: bool
    classification: Classification


@dataclass(frozen=True, slots=True)
class HostingDetails:
    country: str  # "" when unknown
    overridden: bool


EventDetails = (
    ActionDetails
    | AssessmentDetails
    | RoutingDetails
    | HoldDetails
    | DeadlineDetails
    | MessageDetails
    | NoticeDetails
    | HostingDetails
    | KnownHashDetails
    | RosterDetails
    | OpinionDetails
)


@dataclass(frozen=True, slots=True)
class Event:
    """A state change, for integrators to stream. `seq` orders events and is the resume cursor."""

    event_id: str
    kind: EventKind
    occurred_at: datetime
    item_id: str = ""
    report_id: str = ""
    state: ItemState | None = None
    detail: str = ""
    seq: int = 0
    details: EventDetails | None = None  # typed, for programs (node.cases.event_details)

    @classmethod
    def new(
        cls,
        kind: EventKind,
        occurred_at: datetime,
        *,
        item: Item | None = None,
        item_id: str = "",
        report_id: str = "",
        detail: str = "",
        details: EventDetails | None = None,
    ) -> Event:
        """A new event, with a fresh id: about `item` (its id, and its state now), or about `item_id` alone."""
        state = item.state if item is not None else None
        item_id = item.item_id if item is not None else item_id
        return cls(str(uuid.uuid4()), kind, occurred_at, item_id, report_id, state, detail, details=details)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message for another node, written in the same transaction as the change that caused it.

    The exchange layer signs and seals it at send time; the body holds metadata only, never content.
    """

    message_id: str
    peer_node: str
    kind: str
    item_id: str
    body: str  # canonical JSON
    created_at: datetime
