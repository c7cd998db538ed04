import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RejectionSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECTION_SIDE_UNSPECIFIED: _ClassVar[RejectionSide]
    REJECTION_SIDE_BY_PEER: _ClassVar[RejectionSide]
    REJECTION_SIDE_BY_NODE: _ClassVar[RejectionSide]

class OutboxState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTBOX_STATE_UNSPECIFIED: _ClassVar[OutboxState]
    OUTBOX_STATE_PENDING: _ClassVar[OutboxState]
    OUTBOX_STATE_ACKED: _ClassVar[OutboxState]
    OUTBOX_STATE_REJECTED: _ClassVar[OutboxState]
REJECTION_SIDE_UNSPECIFIED: RejectionSide
REJECTION_SIDE_BY_PEER: RejectionSide
REJECTION_SIDE_BY_NODE: RejectionSide
OUTBOX_STATE_UNSPECIFIED: OutboxState
OUTBOX_STATE_PENDING: OutboxState
OUTBOX_STATE_ACKED: OutboxState
OUTBOX_STATE_REJECTED: OutboxState

class GetFederationStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PeerLink(_message.Message):
    __slots__ = ("peer", "outbox_pending", "oldest_pending_at", "consecutive_failures", "next_attempt_at", "last_success_at", "last_error", "rejections", "refusal")
    PEER_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_PENDING_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PENDING_AT_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    peer: str
    outbox_pending: int
    oldest_pending_at: _timestamp_pb2.Timestamp
    consecutive_failures: int
    next_attempt_at: _timestamp_pb2.Timestamp
    last_success_at: _timestamp_pb2.Timestamp
    last_error: str
    rejections: int
    refusal: PeerRefusal
    def __init__(self, peer: _Optional[str] = ..., outbox_pending: _Optional[int] = ..., oldest_pending_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consecutive_failures: _Optional[int] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., rejections: _Optional[int] = ..., refusal: _Optional[_Union[PeerRefusal, _Mapping]] = ...) -> None: ...

class PeerRefusal(_message.Message):
    __slots__ = ("reason_code", "reason", "roster_version", "refused_at")
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    REFUSED_AT_FIELD_NUMBER: _ClassVar[int]
    reason_code: str
    reason: str
    roster_version: int
    refused_at: _timestamp_pb2.Timestamp
    def __init__(self, reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., roster_version: _Optional[int] = ..., refused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GivenWarning(_message.Message):
    __slots__ = ("warning", "code", "detail", "given_at")
    WARNING_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    GIVEN_AT_FIELD_NUMBER: _ClassVar[int]
    warning: str
    code: str
    detail: str
    given_at: _timestamp_pb2.Timestamp
    def __init__(self, warning: _Optional[str] = ..., code: _Optional[str] = ..., detail: _Optional[str] = ..., given_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetFederationStatusResponse(_message.Message):
    __slots__ = ("node_id", "roster_version", "roster_expires_at", "peers", "warnings")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROSTER_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    roster_version: int
    roster_expires_at: _timestamp_pb2.Timestamp
    peers: _containers.RepeatedCompositeFieldContainer[PeerLink]
    warnings: _containers.RepeatedCompositeFieldContainer[GivenWarning]
    def __init__(self, node_id: _Optional[str] = ..., roster_version: _Optional[int] = ..., roster_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., peers: _Optional[_Iterable[_Union[PeerLink, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[GivenWarning, _Mapping]]] = ...) -> None: ...

class ResetPeerBackoffRequest(_message.Message):
    __slots__ = ("peer",)
    PEER_FIELD_NUMBER: _ClassVar[int]
    peer: str
    def __init__(self, peer: _Optional[str] = ...) -> None: ...

class ResetPeerBackoffResponse(_message.Message):
    __slots__ = ("messages_due",)
    MESSAGES_DUE_FIELD_NUMBER: _ClassVar[int]
    messages_due: int
    def __init__(self, messages_due: _Optional[int] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("side", "peer", "message_id", "kind", "item_id", "reason_code", "reason", "at")
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    side: RejectionSide
    peer: str
    message_id: str
    kind: str
    item_id: str
    reason_code: str
    reason: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, side: _Optional[_Union[RejectionSide, str]] = ..., peer: _Optional[str] = ..., message_id: _Optional[str] = ..., kind: _Optional[str] = ..., item_id: _Optional[str] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRejectionsRequest(_message.Message):
    __slots__ = ("peer", "limit")
    PEER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    peer: str
    limit: int
    def __init__(self, peer: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListRejectionsResponse(_message.Message):
    __slots__ = ("rejections",)
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    rejections: _containers.RepeatedCompositeFieldContainer[Rejection]
    def __init__(self, rejections: _Optional[_Iterable[_Union[Rejection, _Mapping]]] = ...) -> None: ...

class OutboxMessage(_message.Message):
    __slots__ = ("message_id", "peer", "kind", "item_id", "state", "attempts", "created_at", "next_attempt_at", "acked_at", "last_error")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    ACKED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    peer: str
    kind: str
    item_id: str
    state: OutboxState
    attempts: int
    created_at: _timestamp_pb2.Timestamp
    next_attempt_at: _timestamp_pb2.Timestamp
    acked_at: _timestamp_pb2.Timestamp
    last_error: str
    def __init__(self, message_id: _Optional[str] = ..., peer: _Optional[str] = ..., kind: _Optional[str] = ..., item_id: _Optional[str] = ..., state: _Optional[_Union[OutboxState, str]] = ..., attempts: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ...) -> None: ...

class ListOutboxRequest(_message.Message):
    __slots__ = ("peer", "state", "limit")
    PEER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    peer: str
    state: OutboxState
    limit: int
    def __init__(self, peer: _Optional[str] = ..., state: _Optional[_Union[OutboxState, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class ListOutboxResponse(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[OutboxMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[OutboxMessage, _Mapping]]] = ...) -> None: ...
