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
