import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.api._gen.hotline.node.v1 import types_pb2 as _types_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlaceHoldRequest(_message.Message):
    __slots__ = ("request_id", "item_id", "until", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item_id: str
    until: _timestamp_pb2.Timestamp
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., item_id: _Optional[str] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class PlaceHoldResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class ReleaseHoldRequest(_message.Message):
    __slots__ = ("item_id", "request_id")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    request_id: str
    def __init__(self, item_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReleaseHoldResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...

class ClearRemovalRequest(_message.Message):
    __slots__ = ("request_id", "item_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item_id: str
    def __init__(self, request_id: _Optional[str] = ..., item_id: _Optional[str] = ...) -> None: ...

class ClearRemovalResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: _types_pb2.Item
    def __init__(self, item: _Optional[_Union[_types_pb2.Item, _Mapping]] = ...) -> None: ...
