import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.api._gen.hotline.node.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetItemRequest(_message.Message):
    __slots__ = ("item_id",)
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    def __init__(self, item_id: _Optional[str] = ...) -> None: ...

class GetItemResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class ListItemsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state", "hosting_country", "origin_node", "updated_since")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOSTING_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_NODE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_SINCE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: _types_pb2.ItemState
    hosting_country: str
    origin_node: str
    updated_since: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[_types_pb2.ItemState, str]] = ..., hosting_country: _Optional[str] = ..., origin_node: _Optional[str] = ..., updated_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListItemsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_types_pb2.Item]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[_types_pb2.Item, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetItemTimelineRequest(_message.Message):
    __slots__ = ("item_id",)
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    def __init__(self, item_id: _Optional[str] = ...) -> None: ...

class GetItemTimelineResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_types_pb2.Event]
    def __init__(self, events: _Optional[_Iterable[_Union[_types_pb2.Event, _Mapping]]] = ...) -> None: ...

class AssessItemRequest(_message.Message):
    __slots__ = ("request_id", "item_id", "assessment", "attested_hashes")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    ATTESTED_HASHES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item_id: str
    assessment: _types_pb2.Assessment
    attested_hashes: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContentHash]
    def __init__(self, request_id: _Optional[str] = ..., item_id: _Optional[str] = ..., assessment: _Optional[_Union[_types_pb2.Assessment, _Mapping]] = ..., attested_hashes: _Optional[_Iterable[_Union[_types_pb2.ContentHash, _Mapping]]] = ...) -> None: ...

class AssessItemResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class TraceHostingRequest(_message.Message):
    __slots__ = ("item_id", "request_id")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    request_id: str
    def __init__(self, item_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class TraceHostingResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class OverrideHostingRequest(_message.Message):
    __slots__ = ("request_id", "item_id", "hosting", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTING_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item_id: str
    hosting: _types_pb2.HostingFacts
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., item_id: _Optional[str] = ..., hosting: _Optional[_Union[_types_pb2.HostingFacts, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class OverrideHostingResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class RecordActionRequest(_message.Message):
    __slots__ = ("request_id", "item_id", "type", "note", "moved_to_country")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    MOVED_TO_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item_id: str
    type: _types_pb2.ActionType
    note: str
    moved_to_country: str
    def __init__(self, request_id: _Optional[str] = ..., item_id: _Optional[str] = ..., type: _Optional[_Union[_types_pb2.ActionType, str]] = ..., note: _Optional[str] = ..., moved_to_country: _Optional[str] = ...) -> None: ...

class RecordActionResponse(_message.Message):
    __slots__ = ("item", "action")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    action: _types_pb2.Action
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ..., action: _Optional[_Union[_types_pb2.Action, _Mapping]] = ...) -> None: ...

class WithdrawReferralRequest(_message.Message):
    __slots__ = ("request_id", "item_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., item_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WithdrawReferralResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class DisputeKnownMatchRequest(_message.Message):
    __slots__ = ("request_id", "item_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., item_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DisputeKnownMatchResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class ListReceiptsRequest(_message.Message):
    __slots__ = ("item_id",)
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    def __init__(self, item_id: _Optional[str] = ...) -> None: ...

class DeliveryReceipt(_message.Message):
    __slots__ = ("message_id", "peer_node", "accepted_at", "signed_receipt")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_NODE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNED_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    peer_node: str
    accepted_at: _timestamp_pb2.Timestamp
    signed_receipt: str
    def __init__(self, message_id: _Optional[str] = ..., peer_node: _Optional[str] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signed_receipt: _Optional[str] = ...) -> None: ...

class ListReceiptsResponse(_message.Message):
    __slots__ = ("receipts",)
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    receipts: _containers.RepeatedCompositeFieldContainer[DeliveryReceipt]
    def __init__(self, receipts: _Optional[_Iterable[_Union[DeliveryReceipt, _Mapping]]] = ...) -> None: ...
