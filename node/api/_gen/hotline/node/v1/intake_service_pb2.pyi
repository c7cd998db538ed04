import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.api._gen.hotline.node.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportedUrl(_message.Message):
    __slots__ = ("url", "hashes")
    URL_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    url: str
    hashes: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContentHash]
    def __init__(self, url: _Optional[str] = ..., hashes: _Optional[_Iterable[_Union[_types_pb2.ContentHash, _Mapping]]] = ...) -> None: ...

class SubmitReportRequest(_message.Message):
    __slots__ = ("request_id", "urls", "referrer_url", "reporter", "received_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    REFERRER_URL_FIELD_NUMBER: _ClassVar[int]
    REPORTER_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    urls: _containers.RepeatedCompositeFieldContainer[ReportedUrl]
    referrer_url: str
    reporter: _types_pb2.Reporter
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., urls: _Optional[_Iterable[_Union[ReportedUrl, _Mapping]]] = ..., referrer_url: _Optional[str] = ..., reporter: _Optional[_Union[_types_pb2.Reporter, _Mapping]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _types_pb2.Report
    def __init__(self, report: _Optional[_Union[_types_pb2.Report, _Mapping]] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("report_id",)
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    def __init__(self, report_id: _Optional[str] = ...) -> None: ...

class GetReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _types_pb2.Report
    def __init__(self, report: _Optional[_Union[_types_pb2.Report, _Mapping]] = ...) -> None: ...
