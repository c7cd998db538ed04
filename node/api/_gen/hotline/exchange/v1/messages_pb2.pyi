import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.api._gen.hotline.node.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Referral(_message.Message):
    __slots__ = ("origin_node", "origin_item_id", "url", "hashes", "assessment", "hosting", "first_reported_at", "next_status_sequence", "referred_by")
    ORIGIN_NODE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    HOSTING_FIELD_NUMBER: _ClassVar[int]
    FIRST_REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_STATUS_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    REFERRED_BY_FIELD_NUMBER: _ClassVar[int]
    origin_node: str
    origin_item_id: str
    url: str
    hashes: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContentHash]
    assessment: _types_pb2.Assessment
    hosting: _types_pb2.HostingFacts
    first_reported_at: _timestamp_pb2.Timestamp
    next_status_sequence: int
    referred_by: str
    def __init__(self, origin_node: _Optional[str] = ..., origin_item_id: _Optional[str] = ..., url: _Optional[str] = ..., hashes: _Optional[_Iterable[_Union[_types_pb2.ContentHash, _Mapping]]] = ..., assessment: _Optional[_Union[_types_pb2.Assessment, _Mapping]] = ..., hosting: _Optional[_Union[_types_pb2.HostingFacts, _Mapping]] = ..., first_reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_status_sequence: _Optional[int] = ..., referred_by: _Optional[str] = ...) -> None: ...

class StatusUpdate(_message.Message):
    __slots__ = ("origin_item_id", "sequence", "assigned_node", "action", "occurred_at", "state", "classification", "moved_to_country", "reassigned_to")
    ORIGIN_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_NODE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    MOVED_TO_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REASSIGNED_TO_FIELD_NUMBER: _ClassVar[int]
    origin_item_id: str
    sequence: int
    assigned_node: str
    action: _types_pb2.ActionType
    occurred_at: _timestamp_pb2.Timestamp
    state: _types_pb2.ItemState
    classification: _types_pb2.Classification
    moved_to_country: str
    reassigned_to: str
    def __init__(self, origin_item_id: _Optional[str] = ..., sequence: _Optional[int] = ..., assigned_node: _Optional[str] = ..., action: _Optional[_Union[_types_pb2.ActionType, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[_types_pb2.ItemState, str]] = ..., classification: _Optional[_Union[_types_pb2.Classification, str]] = ..., moved_to_country: _Optional[str] = ..., reassigned_to: _Optional[str] = ...) -> None: ...

class Withdrawal(_message.Message):
    __slots__ = ("origin_item_id", "reason")
    ORIGIN_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    origin_item_id: str
    reason: str
    def __init__(self, origin_item_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class HashVerdicts(_message.Message):
    __slots__ = ("verdicts",)
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    verdicts: _containers.RepeatedCompositeFieldContainer[HashVerdict]
    def __init__(self, verdicts: _Optional[_Iterable[_Union[HashVerdict, _Mapping]]] = ...) -> None: ...

class HashVerdict(_message.Message):
    __slots__ = ("hash", "classification", "provenance", "decided_at", "withdrawn")
    HASH_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    hash: _types_pb2.ContentHash
    classification: _types_pb2.Classification
    provenance: str
    decided_at: _timestamp_pb2.Timestamp
    withdrawn: bool
    def __init__(self, hash: _Optional[_Union[_types_pb2.ContentHash, _Mapping]] = ..., classification: _Optional[_Union[_types_pb2.Classification, str]] = ..., provenance: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., withdrawn: _Optional[bool] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("message_id", "sender", "recipient", "accepted_at", "signed_message_sha256")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNED_MESSAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    sender: str
    recipient: str
    accepted_at: _timestamp_pb2.Timestamp
    signed_message_sha256: bytes
    def __init__(self, message_id: _Optional[str] = ..., sender: _Optional[str] = ..., recipient: _Optional[str] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signed_message_sha256: _Optional[bytes] = ...) -> None: ...

class SharedItem(_message.Message):
    __slots__ = ("origin_node", "origin_item_id", "status_sequence", "first_reported_at", "withdrawn")
    ORIGIN_NODE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FIRST_REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    origin_node: str
    origin_item_id: str
    status_sequence: int
    first_reported_at: _timestamp_pb2.Timestamp
    withdrawn: bool
    def __init__(self, origin_node: _Optional[str] = ..., origin_item_id: _Optional[str] = ..., status_sequence: _Optional[int] = ..., first_reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., withdrawn: _Optional[bool] = ...) -> None: ...

class BucketDigest(_message.Message):
    __slots__ = ("start", "count", "root")
    START_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    count: int
    root: bytes
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ..., root: _Optional[bytes] = ...) -> None: ...

class ReconcileView(_message.Message):
    __slots__ = ("since", "until", "buckets", "detail_for", "items", "resent", "referral_copies")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FOR_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    RESENT_FIELD_NUMBER: _ClassVar[int]
    REFERRAL_COPIES_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    buckets: _containers.RepeatedCompositeFieldContainer[BucketDigest]
    detail_for: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    items: _containers.RepeatedCompositeFieldContainer[SharedItem]
    resent: int
    referral_copies: _containers.RepeatedCompositeFieldContainer[ReferralCopy]
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., buckets: _Optional[_Iterable[_Union[BucketDigest, _Mapping]]] = ..., detail_for: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ..., items: _Optional[_Iterable[_Union[SharedItem, _Mapping]]] = ..., resent: _Optional[int] = ..., referral_copies: _Optional[_Iterable[_Union[ReferralCopy, _Mapping]]] = ...) -> None: ...

class ReferralCopy(_message.Message):
    __slots__ = ("signed_referral", "receipt")
    SIGNED_REFERRAL_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    signed_referral: bytes
    receipt: bytes
    def __init__(self, signed_referral: _Optional[bytes] = ..., receipt: _Optional[bytes] = ...) -> None: ...

class MembershipRefusal(_message.Message):
    __slots__ = ("member", "reason_code", "reason", "roster_version", "refused_at")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    REFUSED_AT_FIELD_NUMBER: _ClassVar[int]
    member: str
    reason_code: str
    reason: str
    roster_version: int
    refused_at: _timestamp_pb2.Timestamp
    def __init__(self, member: _Optional[str] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., roster_version: _Optional[int] = ..., refused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
