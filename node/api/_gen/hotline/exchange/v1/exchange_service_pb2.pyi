import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_ACCEPTED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DUPLICATE: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_REJECTED: _ClassVar[DeliveryStatus]
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_ACCEPTED: DeliveryStatus
DELIVERY_STATUS_DUPLICATE: DeliveryStatus
DELIVERY_STATUS_REJECTED: DeliveryStatus

class DeliverRequest(_message.Message):
    __slots__ = ("roster_version", "envelopes", "roster_digest")
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENVELOPES_FIELD_NUMBER: _ClassVar[int]
    ROSTER_DIGEST_FIELD_NUMBER: _ClassVar[int]
    roster_version: int
    envelopes: _containers.RepeatedScalarFieldContainer[bytes]
    roster_digest: bytes
    def __init__(self, roster_version: _Optional[int] = ..., envelopes: _Optional[_Iterable[bytes]] = ..., roster_digest: _Optional[bytes] = ...) -> None: ...

class DeliveryResult(_message.Message):
    __slots__ = ("message_id", "status", "reason_code", "reason", "receipt", "receiver_time")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    status: DeliveryStatus
    reason_code: str
    reason: str
    receipt: bytes
    receiver_time: _timestamp_pb2.Timestamp
    def __init__(self, message_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., receipt: _Optional[bytes] = ..., receiver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeliverResponse(_message.Message):
    __slots__ = ("roster_version", "results", "refusal")
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    roster_version: int
    results: _containers.RepeatedCompositeFieldContainer[DeliveryResult]
    refusal: bytes
    def __init__(self, roster_version: _Optional[int] = ..., results: _Optional[_Iterable[_Union[DeliveryResult, _Mapping]]] = ..., refusal: _Optional[bytes] = ...) -> None: ...

class GetRosterRequest(_message.Message):
    __slots__ = ("have_version",)
    HAVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    have_version: int
    def __init__(self, have_version: _Optional[int] = ...) -> None: ...

class GetRosterResponse(_message.Message):
    __slots__ = ("signed_rosters",)
    SIGNED_ROSTERS_FIELD_NUMBER: _ClassVar[int]
    signed_rosters: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, signed_rosters: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("envelope",)
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    def __init__(self, envelope: _Optional[bytes] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("envelope",)
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    def __init__(self, envelope: _Optional[bytes] = ...) -> None: ...
