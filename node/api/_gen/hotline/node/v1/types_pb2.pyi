import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Classification(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLASSIFICATION_UNSPECIFIED: _ClassVar[Classification]
    CLASSIFICATION_BASELINE: _ClassVar[Classification]
    CLASSIFICATION_NATIONAL: _ClassVar[Classification]
    CLASSIFICATION_DOUBTFUL: _ClassVar[Classification]
    CLASSIFICATION_NOT_ILLEGAL: _ClassVar[Classification]

class AgeGroup(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGE_GROUP_UNSPECIFIED: _ClassVar[AgeGroup]
    AGE_GROUP_UNDETERMINED: _ClassVar[AgeGroup]
    AGE_GROUP_INFANT: _ClassVar[AgeGroup]
    AGE_GROUP_PREPUBESCENT: _ClassVar[AgeGroup]
    AGE_GROUP_PUBESCENT: _ClassVar[AgeGroup]

class Gender(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENDER_UNSPECIFIED: _ClassVar[Gender]
    GENDER_UNDETERMINED: _ClassVar[Gender]
    GENDER_FEMALE: _ClassVar[Gender]
    GENDER_MALE: _ClassVar[Gender]
    GENDER_BOTH: _ClassVar[Gender]

class ContentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENT_TYPE_UNSPECIFIED: _ClassVar[ContentType]
    CONTENT_TYPE_IMAGE: _ClassVar[ContentType]
    CONTENT_TYPE_VIDEO: _ClassVar[ContentType]
    CONTENT_TYPE_LINK: _ClassVar[ContentType]
    CONTENT_TYPE_CONTAINER: _ClassVar[ContentType]
    CONTENT_TYPE_TEXT: _ClassVar[ContentType]
    CONTENT_TYPE_OTHER: _ClassVar[ContentType]

class Commerciality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMERCIALITY_UNSPECIFIED: _ClassVar[Commerciality]
    COMMERCIALITY_UNDETERMINED: _ClassVar[Commerciality]
    COMMERCIALITY_COMMERCIAL: _ClassVar[Commerciality]
    COMMERCIALITY_NON_COMMERCIAL: _ClassVar[Commerciality]

class PaymentMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_METHOD_UNSPECIFIED: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CARD: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_BANK_TRANSFER: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CRYPTOCURRENCY: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_E_WALLET: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_PREPAID_VOUCHER: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_OTHER: _ClassVar[PaymentMethod]

class SiteType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SITE_TYPE_UNSPECIFIED: _ClassVar[SiteType]
    SITE_TYPE_WEBSITE: _ClassVar[SiteType]
    SITE_TYPE_FILE_HOST: _ClassVar[SiteType]
    SITE_TYPE_IMAGE_STORE: _ClassVar[SiteType]
    SITE_TYPE_IMAGE_BOARD: _ClassVar[SiteType]
    SITE_TYPE_FORUM: _ClassVar[SiteType]
    SITE_TYPE_BANNER_SITE: _ClassVar[SiteType]
    SITE_TYPE_LINK_SITE: _ClassVar[SiteType]
    SITE_TYPE_SOCIAL_SITE: _ClassVar[SiteType]
    SITE_TYPE_REDIRECTOR: _ClassVar[SiteType]
    SITE_TYPE_WEB_ARCHIVE: _ClassVar[SiteType]
    SITE_TYPE_SEARCH_PROVIDER: _ClassVar[SiteType]
    SITE_TYPE_IMAGE_HOST: _ClassVar[SiteType]
    SITE_TYPE_BLOG: _ClassVar[SiteType]
    SITE_TYPE_WEBPAGE: _ClassVar[SiteType]
    SITE_TYPE_NOT_APPLICABLE: _ClassVar[SiteType]
    SITE_TYPE_UNDETERMINED: _ClassVar[SiteType]

class ActionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_TYPE_UNSPECIFIED: _ClassVar[ActionType]
    ACTION_TYPE_LEA_NOTIFIED: _ClassVar[ActionType]
    ACTION_TYPE_HP_NOTIFIED: _ClassVar[ActionType]
    ACTION_TYPE_CONTENT_REMOVED: _ClassVar[ActionType]
    ACTION_TYPE_CONTENT_UNAVAILABLE: _ClassVar[ActionType]
    ACTION_TYPE_MOVED: _ClassVar[ActionType]
    ACTION_TYPE_NOT_ILLEGAL: _ClassVar[ActionType]

class ItemState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_STATE_UNSPECIFIED: _ClassVar[ItemState]
    ITEM_STATE_AWAITING_ASSESSMENT: _ClassVar[ItemState]
    ITEM_STATE_AWAITING_HOSTING: _ClassVar[ItemState]
    ITEM_STATE_AWAITING_LEA: _ClassVar[ItemState]
    ITEM_STATE_LEA_NOTIFIED: _ClassVar[ItemState]
    ITEM_STATE_NTD_SENT: _ClassVar[ItemState]
    ITEM_STATE_REFERRED: _ClassVar[ItemState]
    ITEM_STATE_CLOSED_REMOVED: _ClassVar[ItemState]
    ITEM_STATE_CLOSED_UNAVAILABLE: _ClassVar[ItemState]
    ITEM_STATE_CLOSED_NOT_ILLEGAL: _ClassVar[ItemState]
    ITEM_STATE_WITHDRAWN: _ClassVar[ItemState]

class HostingTraceOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOSTING_TRACE_OUTCOME_UNSPECIFIED: _ClassVar[HostingTraceOutcome]
    HOSTING_TRACE_OUTCOME_LOCATED: _ClassVar[HostingTraceOutcome]
    HOSTING_TRACE_OUTCOME_NOT_RESOLVED: _ClassVar[HostingTraceOutcome]
    HOSTING_TRACE_OUTCOME_COUNTRY_UNKNOWN: _ClassVar[HostingTraceOutcome]
    HOSTING_TRACE_OUTCOME_FAILED: _ClassVar[HostingTraceOutcome]

class HashAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HASH_ALGORITHM_UNSPECIFIED: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_SHA256: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_SHA1: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_MD5: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_PDQ: _ClassVar[HashAlgorithm]

class Route(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTE_UNSPECIFIED: _ClassVar[Route]
    ROUTE_DOMESTIC: _ClassVar[Route]
    ROUTE_REFERRAL: _ClassVar[Route]
    ROUTE_FALLBACK_REFERRAL: _ClassVar[Route]
    ROUTE_FALLBACK_DIRECT: _ClassVar[Route]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_INTAKE: _ClassVar[Role]
    ROLE_ANALYST: _ClassVar[Role]
    ROLE_LEA: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]
    ROLE_HASHER: _ClassVar[Role]

class HashProvenance(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HASH_PROVENANCE_UNSPECIFIED: _ClassVar[HashProvenance]
    HASH_PROVENANCE_CLAIMED: _ClassVar[HashProvenance]
    HASH_PROVENANCE_HASHER: _ClassVar[HashProvenance]
    HASH_PROVENANCE_ANALYST: _ClassVar[HashProvenance]
    HASH_PROVENANCE_LIST: _ClassVar[HashProvenance]
    HASH_PROVENANCE_PEER: _ClassVar[HashProvenance]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_REPORT_RECEIVED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_CREATED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_REPEAT_REPORT: _ClassVar[EventKind]
    EVENT_KIND_ITEM_KNOWN_MATCH: _ClassVar[EventKind]
    EVENT_KIND_ITEM_KNOWN_HASH_HINT: _ClassVar[EventKind]
    EVENT_KIND_ITEM_HASHES_ATTESTED: _ClassVar[EventKind]
    EVENT_KIND_KNOWN_HASH_CONFLICT: _ClassVar[EventKind]
    EVENT_KIND_ITEM_ASSESSED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_HOSTING_TRACED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_HOSTING_OVERRIDDEN: _ClassVar[EventKind]
    EVENT_KIND_ITEM_ROUTED: _ClassVar[EventKind]
    EVENT_KIND_ACTION_RECORDED: _ClassVar[EventKind]
    EVENT_KIND_HOLD_PLACED: _ClassVar[EventKind]
    EVENT_KIND_HOLD_RELEASED: _ClassVar[EventKind]
    EVENT_KIND_DEADLINE_ESCALATED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_CLOSED: _ClassVar[EventKind]
    EVENT_KIND_NOTICE_QUEUED: _ClassVar[EventKind]
    EVENT_KIND_NOTICE_NOT_SENT: _ClassVar[EventKind]
    EVENT_KIND_NOTICE_SENT: _ClassVar[EventKind]
    EVENT_KIND_NOTICE_ATTEMPT_FAILED: _ClassVar[EventKind]
    EVENT_KIND_NOTICE_FAILING: _ClassVar[EventKind]
    EVENT_KIND_NOTICE_FAILED: _ClassVar[EventKind]
    EVENT_KIND_OUTBOX_QUEUED: _ClassVar[EventKind]
    EVENT_KIND_REFERRAL_RECEIVED: _ClassVar[EventKind]
    EVENT_KIND_STATUS_APPLIED: _ClassVar[EventKind]
    EVENT_KIND_STATUS_BUFFERED: _ClassVar[EventKind]
    EVENT_KIND_DELIVERY_REJECTED: _ClassVar[EventKind]
    EVENT_KIND_EXCHANGE_REJECTED: _ClassVar[EventKind]
    EVENT_KIND_EXCHANGE_HELD_REFUSED: _ClassVar[EventKind]
    EVENT_KIND_EXCHANGE_HELD_EXPIRED: _ClassVar[EventKind]
    EVENT_KIND_ROSTER_INSTALLED: _ClassVar[EventKind]
    EVENT_KIND_ROSTER_EXPIRING: _ClassVar[EventKind]
    EVENT_KIND_ROSTER_EXPIRED: _ClassVar[EventKind]
    EVENT_KIND_ROSTER_FILE_REFUSED: _ClassVar[EventKind]
    EVENT_KIND_ROSTER_STORED_REFUSED: _ClassVar[EventKind]
    EVENT_KIND_RECONCILE_UNREPAIRABLE: _ClassVar[EventKind]
    EVENT_KIND_HOLD_CLEARED: _ClassVar[EventKind]
    EVENT_KIND_HOLD_REMOVAL_OBSERVED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_MATCH_DISPUTED: _ClassVar[EventKind]
    EVENT_KIND_KNOWN_HASH_DISPUTED: _ClassVar[EventKind]
    EVENT_KIND_KNOWN_HASH_SUSPENDED: _ClassVar[EventKind]
    EVENT_KIND_KNOWN_HASH_CONFIRMED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_PEER_OPINION: _ClassVar[EventKind]
    EVENT_KIND_KNOWN_HASH_PUBLISHED: _ClassVar[EventKind]
    EVENT_KIND_KNOWN_HASH_WITHDRAWN: _ClassVar[EventKind]
    EVENT_KIND_KNOWN_HASH_PEER_VERDICTS: _ClassVar[EventKind]
    EVENT_KIND_KEYS_EXPIRING: _ClassVar[EventKind]
    EVENT_KIND_KEYS_EXPIRED: _ClassVar[EventKind]
    EVENT_KIND_ITEM_REROUTED: _ClassVar[EventKind]
    EVENT_KIND_EXCHANGE_REFUSED_BY_PEER: _ClassVar[EventKind]
    EVENT_KIND_REFERRAL_RECOVERED: _ClassVar[EventKind]
CLASSIFICATION_UNSPECIFIED: Classification
CLASSIFICATION_BASELINE: Classification
CLASSIFICATION_NATIONAL: Classification
CLASSIFICATION_DOUBTFUL: Classification
CLASSIFICATION_NOT_ILLEGAL: Classification
AGE_GROUP_UNSPECIFIED: AgeGroup
AGE_GROUP_UNDETERMINED: AgeGroup
AGE_GROUP_INFANT: AgeGroup
AGE_GROUP_PREPUBESCENT: AgeGroup
AGE_GROUP_PUBESCENT: AgeGroup
GENDER_UNSPECIFIED: Gender
GENDER_UNDETERMINED: Gender
GENDER_FEMALE: Gender
GENDER_MALE: Gender
GENDER_BOTH: Gender
CONTENT_TYPE_UNSPECIFIED: ContentType
CONTENT_TYPE_IMAGE: ContentType
CONTENT_TYPE_VIDEO: ContentType
CONTENT_TYPE_LINK: ContentType
CONTENT_TYPE_CONTAINER: ContentType
CONTENT_TYPE_TEXT: ContentType
CONTENT_TYPE_OTHER: ContentType
COMMERCIALITY_UNSPECIFIED: Commerciality
COMMERCIALITY_UNDETERMINED: Commerciality
COMMERCIALITY_COMMERCIAL: Commerciality
COMMERCIALITY_NON_COMMERCIAL: Commerciality
PAYMENT_METHOD_UNSPECIFIED: PaymentMethod
PAYMENT_METHOD_CARD: PaymentMethod
PAYMENT_METHOD_BANK_TRANSFER: PaymentMethod
PAYMENT_METHOD_CRYPTOCURRENCY: PaymentMethod
PAYMENT_METHOD_E_WALLET: PaymentMethod
PAYMENT_METHOD_PREPAID_VOUCHER: PaymentMethod
PAYMENT_METHOD_OTHER: PaymentMethod
SITE_TYPE_UNSPECIFIED: SiteType
SITE_TYPE_WEBSITE: SiteType
SITE_TYPE_FILE_HOST: SiteType
SITE_TYPE_IMAGE_STORE: SiteType
SITE_TYPE_IMAGE_BOARD: SiteType
SITE_TYPE_FORUM: SiteType
SITE_TYPE_BANNER_SITE: SiteType
SITE_TYPE_LINK_SITE: SiteType
SITE_TYPE_SOCIAL_SITE: SiteType
SITE_TYPE_REDIRECTOR: SiteType
SITE_TYPE_WEB_ARCHIVE: SiteType
SITE_TYPE_SEARCH_PROVIDER: SiteType
SITE_TYPE_IMAGE_HOST: SiteType
SITE_TYPE_BLOG: SiteType
SITE_TYPE_WEBPAGE: SiteType
SITE_TYPE_NOT_APPLICABLE: SiteType
SITE_TYPE_UNDETERMINED: SiteType
ACTION_TYPE_UNSPECIFIED: ActionType
ACTION_TYPE_LEA_NOTIFIED: ActionType
ACTION_TYPE_HP_NOTIFIED: ActionType
ACTION_TYPE_CONTENT_REMOVED: ActionType
ACTION_TYPE_CONTENT_UNAVAILABLE: ActionType
ACTION_TYPE_MOVED: ActionType
ACTION_TYPE_NOT_ILLEGAL: ActionType
ITEM_STATE_UNSPECIFIED: ItemState
ITEM_STATE_AWAITING_ASSESSMENT: ItemState
ITEM_STATE_AWAITING_HOSTING: ItemState
ITEM_STATE_AWAITING_LEA: ItemState
ITEM_STATE_LEA_NOTIFIED: ItemState
ITEM_STATE_NTD_SENT: ItemState
ITEM_STATE_REFERRED: ItemState
ITEM_STATE_CLOSED_REMOVED: ItemState
ITEM_STATE_CLOSED_UNAVAILABLE: ItemState
ITEM_STATE_CLOSED_NOT_ILLEGAL: ItemState
ITEM_STATE_WITHDRAWN: ItemState
HOSTING_TRACE_OUTCOME_UNSPECIFIED: HostingTraceOutcome
HOSTING_TRACE_OUTCOME_LOCATED: HostingTraceOutcome
HOSTING_TRACE_OUTCOME_NOT_RESOLVED: HostingTraceOutcome
HOSTING_TRACE_OUTCOME_COUNTRY_UNKNOWN: HostingTraceOutcome
HOSTING_TRACE_OUTCOME_FAILED: HostingTraceOutcome
HASH_ALGORITHM_UNSPECIFIED: HashAlgorithm
HASH_ALGORITHM_SHA256: HashAlgorithm
HASH_ALGORITHM_SHA1: HashAlgorithm
HASH_ALGORITHM_MD5: HashAlgorithm
HASH_ALGORITHM_PDQ: HashAlgorithm
ROUTE_UNSPECIFIED: Route
ROUTE_DOMESTIC: Route
ROUTE_REFERRAL: Route
ROUTE_FALLBACK_REFERRAL: Route
ROUTE_FALLBACK_DIRECT: Route
ROLE_UNSPECIFIED: Role
ROLE_INTAKE: Role
ROLE_ANALYST: Role
ROLE_LEA: Role
ROLE_ADMIN: Role
ROLE_HASHER: Role
HASH_PROVENANCE_UNSPECIFIED: HashProvenance
HASH_PROVENANCE_CLAIMED: HashProvenance
HASH_PROVENANCE_HASHER: HashProvenance
HASH_PROVENANCE_ANALYST: HashProvenance
HASH_PROVENANCE_LIST: HashProvenance
HASH_PROVENANCE_PEER: HashProvenance
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_REPORT_RECEIVED: EventKind
EVENT_KIND_ITEM_CREATED: EventKind
EVENT_KIND_ITEM_REPEAT_REPORT: EventKind
EVENT_KIND_ITEM_KNOWN_MATCH: EventKind
EVENT_KIND_ITEM_KNOWN_HASH_HINT: EventKind
EVENT_KIND_ITEM_HASHES_ATTESTED: EventKind
EVENT_KIND_KNOWN_HASH_CONFLICT: EventKind
EVENT_KIND_ITEM_ASSESSED: EventKind
EVENT_KIND_ITEM_HOSTING_TRACED: EventKind
EVENT_KIND_ITEM_HOSTING_OVERRIDDEN: EventKind
EVENT_KIND_ITEM_ROUTED: EventKind
EVENT_KIND_ACTION_RECORDED: EventKind
EVENT_KIND_HOLD_PLACED: EventKind
EVENT_KIND_HOLD_RELEASED: EventKind
EVENT_KIND_DEADLINE_ESCALATED: EventKind
EVENT_KIND_ITEM_CLOSED: EventKind
EVENT_KIND_NOTICE_QUEUED: EventKind
EVENT_KIND_NOTICE_NOT_SENT: EventKind
EVENT_KIND_NOTICE_SENT: EventKind
EVENT_KIND_NOTICE_ATTEMPT_FAILED: EventKind
EVENT_KIND_NOTICE_FAILING: EventKind
EVENT_KIND_NOTICE_FAILED: EventKind
EVENT_KIND_OUTBOX_QUEUED: EventKind
EVENT_KIND_REFERRAL_RECEIVED: EventKind
EVENT_KIND_STATUS_APPLIED: EventKind
EVENT_KIND_STATUS_BUFFERED: EventKind
EVENT_KIND_DELIVERY_REJECTED: EventKind
EVENT_KIND_EXCHANGE_REJECTED: EventKind
EVENT_KIND_EXCHANGE_HELD_REFUSED: EventKind
EVENT_KIND_EXCHANGE_HELD_EXPIRED: EventKind
EVENT_KIND_ROSTER_INSTALLED: EventKind
EVENT_KIND_ROSTER_EXPIRING: EventKind
EVENT_KIND_ROSTER_EXPIRED: EventKind
EVENT_KIND_ROSTER_FILE_REFUSED: EventKind
EVENT_KIND_ROSTER_STORED_REFUSED: EventKind
EVENT_KIND_RECONCILE_UNREPAIRABLE: EventKind
EVENT_KIND_HOLD_CLEARED: EventKind
EVENT_KIND_HOLD_REMOVAL_OBSERVED: EventKind
EVENT_KIND_ITEM_MATCH_DISPUTED: EventKind
EVENT_KIND_KNOWN_HASH_DISPUTED: EventKind
EVENT_KIND_KNOWN_HASH_SUSPENDED: EventKind
EVENT_KIND_KNOWN_HASH_CONFIRMED: EventKind
EVENT_KIND_ITEM_PEER_OPINION: EventKind
EVENT_KIND_KNOWN_HASH_PUBLISHED: EventKind
EVENT_KIND_KNOWN_HASH_WITHDRAWN: EventKind
EVENT_KIND_KNOWN_HASH_PEER_VERDICTS: EventKind
EVENT_KIND_KEYS_EXPIRING: EventKind
EVENT_KIND_KEYS_EXPIRED: EventKind
EVENT_KIND_ITEM_REROUTED: EventKind
EVENT_KIND_EXCHANGE_REFUSED_BY_PEER: EventKind
EVENT_KIND_REFERRAL_RECOVERED: EventKind

class ContentHash(_message.Message):
    __slots__ = ("algorithm", "value", "provenance")
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    algorithm: HashAlgorithm
    value: str
    provenance: HashProvenance
    def __init__(self, algorithm: _Optional[_Union[HashAlgorithm, str]] = ..., value: _Optional[str] = ..., provenance: _Optional[_Union[HashProvenance, str]] = ...) -> None: ...

class Reporter(_message.Message):
    __slots__ = ("anonymous", "name", "email", "reference")
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    anonymous: bool
    name: str
    email: str
    reference: str
    def __init__(self, anonymous: _Optional[bool] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class Assessment(_message.Message):
    __slots__ = ("classification", "age_group", "gender", "content_type", "site_type", "commerciality", "payment_methods", "virtual", "child_modelling", "user_generated", "jurisdiction", "assessed_by", "assessed_at", "note", "automatic")
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    AGE_GROUP_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SITE_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMERCIALITY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHODS_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_FIELD_NUMBER: _ClassVar[int]
    CHILD_MODELLING_FIELD_NUMBER: _ClassVar[int]
    USER_GENERATED_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    ASSESSED_BY_FIELD_NUMBER: _ClassVar[int]
    ASSESSED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    classification: Classification
    age_group: AgeGroup
    gender: Gender
    content_type: ContentType
    site_type: SiteType
    commerciality: Commerciality
    payment_methods: _containers.RepeatedScalarFieldContainer[PaymentMethod]
    virtual: bool
    child_modelling: bool
    user_generated: bool
    jurisdiction: str
    assessed_by: str
    assessed_at: _timestamp_pb2.Timestamp
    note: str
    automatic: bool
    def __init__(self, classification: _Optional[_Union[Classification, str]] = ..., age_group: _Optional[_Union[AgeGroup, str]] = ..., gender: _Optional[_Union[Gender, str]] = ..., content_type: _Optional[_Union[ContentType, str]] = ..., site_type: _Optional[_Union[SiteType, str]] = ..., commerciality: _Optional[_Union[Commerciality, str]] = ..., payment_methods: _Optional[_Iterable[_Union[PaymentMethod, str]]] = ..., virtual: _Optional[bool] = ..., child_modelling: _Optional[bool] = ..., user_generated: _Optional[bool] = ..., jurisdiction: _Optional[str] = ..., assessed_by: _Optional[str] = ..., assessed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., automatic: _Optional[bool] = ...) -> None: ...

class HostingFacts(_message.Message):
    __slots__ = ("ip", "country", "asn", "organisation", "cdn", "source", "overridden", "override_reason", "traced_at", "trace_outcome")
    IP_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    CDN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_REASON_FIELD_NUMBER: _ClassVar[int]
    TRACED_AT_FIELD_NUMBER: _ClassVar[int]
    TRACE_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ip: str
    country: str
    asn: int
    organisation: str
    cdn: bool
    source: str
    overridden: bool
    override_reason: str
    traced_at: _timestamp_pb2.Timestamp
    trace_outcome: HostingTraceOutcome
    def __init__(self, ip: _Optional[str] = ..., country: _Optional[str] = ..., asn: _Optional[int] = ..., organisation: _Optional[str] = ..., cdn: _Optional[bool] = ..., source: _Optional[str] = ..., overridden: _Optional[bool] = ..., override_reason: _Optional[str] = ..., traced_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trace_outcome: _Optional[_Union[HostingTraceOutcome, str]] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("hold_id", "placed_at", "until", "released_at", "reference", "placed_by", "cleared_at", "cleared_by")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PLACED_BY_FIELD_NUMBER: _ClassVar[int]
    CLEARED_AT_FIELD_NUMBER: _ClassVar[int]
    CLEARED_BY_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    placed_at: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    released_at: _timestamp_pb2.Timestamp
    reference: str
    placed_by: str
    cleared_at: _timestamp_pb2.Timestamp
    cleared_by: str
    def __init__(self, hold_id: _Optional[str] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., released_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., placed_by: _Optional[str] = ..., cleared_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cleared_by: _Optional[str] = ...) -> None: ...

class Action(_message.Message):
    __slots__ = ("action_id", "type", "occurred_at", "actor", "note", "moved_to_country")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    MOVED_TO_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    type: ActionType
    occurred_at: _timestamp_pb2.Timestamp
    actor: str
    note: str
    moved_to_country: str
    def __init__(self, action_id: _Optional[str] = ..., type: _Optional[_Union[ActionType, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., note: _Optional[str] = ..., moved_to_country: _Optional[str] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("item_id", "url", "host", "state", "assigned_node", "known_content", "assessment", "hosting", "route", "referred_to", "hashes", "report_count", "first_reported_at", "lea_notified_at", "ntd_sent_at", "deadline_at", "closed_at", "active_hold", "escalated", "actions", "origin_node", "origin_item_id")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_NODE_FIELD_NUMBER: _ClassVar[int]
    KNOWN_CONTENT_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    HOSTING_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    REFERRED_TO_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    REPORT_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    LEA_NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    NTD_SENT_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_HOLD_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_NODE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    url: str
    host: str
    state: ItemState
    assigned_node: str
    known_content: bool
    assessment: Assessment
    hosting: HostingFacts
    route: Route
    referred_to: str
    hashes: _containers.RepeatedCompositeFieldContainer[ContentHash]
    report_count: int
    first_reported_at: _timestamp_pb2.Timestamp
    lea_notified_at: _timestamp_pb2.Timestamp
    ntd_sent_at: _timestamp_pb2.Timestamp
    deadline_at: _timestamp_pb2.Timestamp
    closed_at: _timestamp_pb2.Timestamp
    active_hold: Hold
    escalated: bool
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    origin_node: str
    origin_item_id: str
    def __init__(self, item_id: _Optional[str] = ..., url: _Optional[str] = ..., host: _Optional[str] = ..., state: _Optional[_Union[ItemState, str]] = ..., assigned_node: _Optional[str] = ..., known_content: _Optional[bool] = ..., assessment: _Optional[_Union[Assessment, _Mapping]] = ..., hosting: _Optional[_Union[HostingFacts, _Mapping]] = ..., route: _Optional[_Union[Route, str]] = ..., referred_to: _Optional[str] = ..., hashes: _Optional[_Iterable[_Union[ContentHash, _Mapping]]] = ..., report_count: _Optional[int] = ..., first_reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lea_notified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ntd_sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_hold: _Optional[_Union[Hold, _Mapping]] = ..., escalated: _Optional[bool] = ..., actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., origin_node: _Optional[str] = ..., origin_item_id: _Optional[str] = ...) -> None: ...

class ReportedItem(_message.Message):
    __slots__ = ("item_id", "url", "new_item", "known_content", "state")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    NEW_ITEM_FIELD_NUMBER: _ClassVar[int]
    KNOWN_CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    url: str
    new_item: bool
    known_content: bool
    state: ItemState
    def __init__(self, item_id: _Optional[str] = ..., url: _Optional[str] = ..., new_item: _Optional[bool] = ..., known_content: _Optional[bool] = ..., state: _Optional[_Union[ItemState, str]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("report_id", "received_at", "items", "referrer_url", "anonymous")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    REFERRER_URL_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    received_at: _timestamp_pb2.Timestamp
    items: _containers.RepeatedCompositeFieldContainer[ReportedItem]
    referrer_url: str
    anonymous: bool
    def __init__(self, report_id: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., items: _Optional[_Iterable[_Union[ReportedItem, _Mapping]]] = ..., referrer_url: _Optional[str] = ..., anonymous: _Optional[bool] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("cursor", "event_id", "kind", "item_id", "report_id", "occurred_at", "state", "detail", "event_kind", "action", "assessment", "routing", "hold", "deadline", "message", "notice", "hosting", "known_hash", "roster", "opinion")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    EVENT_KIND_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    HOSTING_FIELD_NUMBER: _ClassVar[int]
    KNOWN_HASH_FIELD_NUMBER: _ClassVar[int]
    ROSTER_FIELD_NUMBER: _ClassVar[int]
    OPINION_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    event_id: str
    kind: str
    item_id: str
    report_id: str
    occurred_at: _timestamp_pb2.Timestamp
    state: ItemState
    detail: str
    event_kind: EventKind
    action: EventActionDetails
    assessment: EventAssessmentDetails
    routing: EventRoutingDetails
    hold: EventHoldDetails
    deadline: EventDeadlineDetails
    message: EventMessageDetails
    notice: EventNoticeDetails
    hosting: EventHostingDetails
    known_hash: EventKnownHashDetails
    roster: EventRosterDetails
    opinion: EventOpinionDetails
    def __init__(self, cursor: _Optional[str] = ..., event_id: _Optional[str] = ..., kind: _Optional[str] = ..., item_id: _Optional[str] = ..., report_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[ItemState, str]] = ..., detail: _Optional[str] = ..., event_kind: _Optional[_Union[EventKind, str]] = ..., action: _Optional[_Union[EventActionDetails, _Mapping]] = ..., assessment: _Optional[_Union[EventAssessmentDetails, _Mapping]] = ..., routing: _Optional[_Union[EventRoutingDetails, _Mapping]] = ..., hold: _Optional[_Union[EventHoldDetails, _Mapping]] = ..., deadline: _Optional[_Union[EventDeadlineDetails, _Mapping]] = ..., message: _Optional[_Union[EventMessageDetails, _Mapping]] = ..., notice: _Optional[_Union[EventNoticeDetails, _Mapping]] = ..., hosting: _Optional[_Union[EventHostingDetails, _Mapping]] = ..., known_hash: _Optional[_Union[EventKnownHashDetails, _Mapping]] = ..., roster: _Optional[_Union[EventRosterDetails, _Mapping]] = ..., opinion: _Optional[_Union[EventOpinionDetails, _Mapping]] = ...) -> None: ...

class EventActionDetails(_message.Message):
    __slots__ = ("action", "actor", "moved_to_country")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    MOVED_TO_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    action: ActionType
    actor: str
    moved_to_country: str
    def __init__(self, action: _Optional[_Union[ActionType, str]] = ..., actor: _Optional[str] = ..., moved_to_country: _Optional[str] = ...) -> None: ...

class EventAssessmentDetails(_message.Message):
    __slots__ = ("classification", "automatic")
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    classification: Classification
    automatic: bool
    def __init__(self, classification: _Optional[_Union[Classification, str]] = ..., automatic: _Optional[bool] = ...) -> None: ...

class EventRoutingDetails(_message.Message):
    __slots__ = ("route", "country", "peer_node")
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PEER_NODE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    country: str
    peer_node: str
    def __init__(self, route: _Optional[_Union[Route, str]] = ..., country: _Optional[str] = ..., peer_node: _Optional[str] = ...) -> None: ...

class EventHoldDetails(_message.Message):
    __slots__ = ("hold_id", "until")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    until: _timestamp_pb2.Timestamp
    def __init__(self, hold_id: _Optional[str] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EventDeadlineDetails(_message.Message):
    __slots__ = ("deadline_at", "overdue_seconds")
    DEADLINE_AT_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    deadline_at: _timestamp_pb2.Timestamp
    overdue_seconds: int
    def __init__(self, deadline_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overdue_seconds: _Optional[int] = ...) -> None: ...

class EventMessageDetails(_message.Message):
    __slots__ = ("peer", "message_id", "message_kind", "reason_code", "sequence")
    PEER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    peer: str
    message_id: str
    message_kind: str
    reason_code: str
    sequence: int
    def __init__(self, peer: _Optional[str] = ..., message_id: _Optional[str] = ..., message_kind: _Optional[str] = ..., reason_code: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class EventNoticeDetails(_message.Message):
    __slots__ = ("notice_id", "notice_kind", "channel", "attempts", "error")
    NOTICE_ID_FIELD_NUMBER: _ClassVar[int]
    NOTICE_KIND_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    notice_id: str
    notice_kind: str
    channel: str
    attempts: int
    error: str
    def __init__(self, notice_id: _Optional[str] = ..., notice_kind: _Optional[str] = ..., channel: _Optional[str] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class EventKnownHashDetails(_message.Message):
    __slots__ = ("known_hash_id", "algorithm", "source", "classification", "disputes", "count")
    KNOWN_HASH_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    DISPUTES_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    known_hash_id: int
    algorithm: str
    source: str
    classification: Classification
    disputes: int
    count: int
    def __init__(self, known_hash_id: _Optional[int] = ..., algorithm: _Optional[str] = ..., source: _Optional[str] = ..., classification: _Optional[_Union[Classification, str]] = ..., disputes: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class EventRosterDetails(_message.Message):
    __slots__ = ("code", "version", "subject")
    CODE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    code: str
    version: int
    subject: str
    def __init__(self, code: _Optional[str] = ..., version: _Optional[int] = ..., subject: _Optional[str] = ...) -> None: ...

class EventOpinionDetails(_message.Message):
    __slots__ = ("peer", "agrees", "classification")
    PEER_FIELD_NUMBER: _ClassVar[int]
    AGREES_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    peer: str
    agrees: bool
    classification: Classification
    def __init__(self, peer: _Optional[str] = ..., agrees: _Optional[bool] = ..., classification: _Optional[_Union[Classification, str]] = ...) -> None: ...

class EventHostingDetails(_message.Message):
    __slots__ = ("country", "overridden")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    country: str
    overridden: bool
    def __init__(self, country: _Optional[str] = ..., overridden: _Optional[bool] = ...) -> None: ...

class DurationSummary(_message.Message):
    __slots__ = ("count", "median_seconds", "p90_seconds")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P90_SECONDS_FIELD_NUMBER: _ClassVar[int]
    count: int
    median_seconds: float
    p90_seconds: float
    def __init__(self, count: _Optional[int] = ..., median_seconds: _Optional[float] = ..., p90_seconds: _Optional[float] = ...) -> None: ...

class CountEntry(_message.Message):
    __slots__ = ("key", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    count: int
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class Statistics(_message.Message):
    __slots__ = ("hosting_country", "item_count", "by_state", "by_classification", "report_to_lea", "report_to_ntd", "report_to_removal", "removed_count", "removed_within_72h_count", "removed_within_72h_share", "illegal_count", "removed_within_72h_share_of_removed")
    HOSTING_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    BY_STATE_FIELD_NUMBER: _ClassVar[int]
    BY_CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    REPORT_TO_LEA_FIELD_NUMBER: _ClassVar[int]
    REPORT_TO_NTD_FIELD_NUMBER: _ClassVar[int]
    REPORT_TO_REMOVAL_FIELD_NUMBER: _ClassVar[int]
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_WITHIN_72H_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_WITHIN_72H_SHARE_FIELD_NUMBER: _ClassVar[int]
    ILLEGAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_WITHIN_72H_SHARE_OF_REMOVED_FIELD_NUMBER: _ClassVar[int]
    hosting_country: str
    item_count: int
    by_state: _containers.RepeatedCompositeFieldContainer[CountEntry]
    by_classification: _containers.RepeatedCompositeFieldContainer[CountEntry]
    report_to_lea: DurationSummary
    report_to_ntd: DurationSummary
    report_to_removal: DurationSummary
    removed_count: int
    removed_within_72h_count: int
    removed_within_72h_share: float
    illegal_count: int
    removed_within_72h_share_of_removed: float
    def __init__(self, hosting_country: _Optional[str] = ..., item_count: _Optional[int] = ..., by_state: _Optional[_Iterable[_Union[CountEntry, _Mapping]]] = ..., by_classification: _Optional[_Iterable[_Union[CountEntry, _Mapping]]] = ..., report_to_lea: _Optional[_Union[DurationSummary, _Mapping]] = ..., report_to_ntd: _Optional[_Union[DurationSummary, _Mapping]] = ..., report_to_removal: _Optional[_Union[DurationSummary, _Mapping]] = ..., removed_count: _Optional[int] = ..., removed_within_72h_count: _Optional[int] = ..., removed_within_72h_share: _Optional[float] = ..., illegal_count: _Optional[int] = ..., removed_within_72h_share_of_removed: _Optional[float] = ...) -> None: ...
