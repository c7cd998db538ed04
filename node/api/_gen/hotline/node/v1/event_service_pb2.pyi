import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.api._gen.hotline.node.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamEventsRequest(_message.Message):
    __slots__ = ("after_cursor", "kinds")
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    after_cursor: str
    kinds: _containers.RepeatedScalarFieldContainer[_types_pb2.EventKind]
    def __init__(self, after_cursor: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[_types_pb2.EventKind, str]]] = ...) -> None: ...

class StreamEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.Event
    def __init__(self, event: _Optional[_Union[_types_pb2.Event, _Mapping]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_types_pb2.Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_types_pb2.Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetStatisticsRequest(_message.Message):
    __slots__ = ("period_start", "period_end", "hosting_country")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    HOSTING_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    hosting_country: str
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hosting_country: _Optional[str] = ...) -> None: ...

class GetStatisticsResponse(_message.Message):
    __slots__ = ("overall", "by_hosting_country", "peer_opinions")
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    BY_HOSTING_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PEER_OPINIONS_FIELD_NUMBER: _ClassVar[int]
    overall: _types_pb2.Statistics
    by_hosting_country: _containers.RepeatedCompositeFieldContainer[_types_pb2.Statistics]
    peer_opinions: _containers.RepeatedCompositeFieldContainer[PeerOpinions]
    def __init__(self, overall: _Optional[_Union[_types_pb2.Statistics, _Mapping]] = ..., by_hosting_country: _Optional[_Iterable[_Union[_types_pb2.Statistics, _Mapping]]] = ..., peer_opinions: _Optional[_Iterable[_Union[PeerOpinions, _Mapping]]] = ...) -> None: ...

class PeerOpinions(_message.Message):
    __slots__ = ("peer_node", "agreements", "disagreements")
    PEER_NODE_FIELD_NUMBER: _ClassVar[int]
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    DISAGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    peer_node: str
    agreements: int
    disagreements: int
    def __init__(self, peer_node: _Optional[str] = ..., agreements: _Optional[int] = ..., disagreements: _Optional[int] = ...) -> None: ...
