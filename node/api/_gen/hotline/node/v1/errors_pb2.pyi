from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    INVALID_FIELD: _ClassVar[ErrorReason]
    REQUIRED_FIELD: _ClassVar[ErrorReason]
    FORBIDDEN_CHARACTER: _ClassVar[ErrorReason]
    LIMIT_EXCEEDED: _ClassVar[ErrorReason]
    MALFORMED_ID: _ClassVar[ErrorReason]
    MALFORMED_REQUEST: _ClassVar[ErrorReason]
    TIMESTAMP_OUT_OF_RANGE: _ClassVar[ErrorReason]
    NAME_TAKEN: _ClassVar[ErrorReason]
    UNKNOWN_ITEM: _ClassVar[ErrorReason]
    UNKNOWN_REPORT: _ClassVar[ErrorReason]
    UNKNOWN_TOKEN: _ClassVar[ErrorReason]
    WRONG_STATE: _ClassVar[ErrorReason]
    ALREADY_CLOSED: _ClassVar[ErrorReason]
    NOT_ASSIGNED: _ClassVar[ErrorReason]
    HOLD_ACTIVE: _ClassVar[ErrorReason]
    NO_ACTIVE_HOLD: _ClassVar[ErrorReason]
    BASELINE_FINAL: _ClassVar[ErrorReason]
    REQUEST_ID_REUSED: _ClassVar[ErrorReason]
    CONCURRENT_CHANGE: _ClassVar[ErrorReason]
    TOKEN_MISSING: _ClassVar[ErrorReason]
    TOKEN_INVALID: _ClassVar[ErrorReason]
    TOKEN_REVOKED: _ClassVar[ErrorReason]
    TOKEN_EXPIRED: _ClassVar[ErrorReason]
    ROLE_MISSING: _ClassVar[ErrorReason]
    METHOD_NOT_OPEN: _ClassVar[ErrorReason]
    NOT_OWNER: _ClassVar[ErrorReason]
    RATE_LIMITED: _ClassVar[ErrorReason]
    STORE_UNAVAILABLE: _ClassVar[ErrorReason]
    INTERNAL_ERROR: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
INVALID_FIELD: ErrorReason
REQUIRED_FIELD: ErrorReason
FORBIDDEN_CHARACTER: ErrorReason
LIMIT_EXCEEDED: ErrorReason
MALFORMED_ID: ErrorReason
MALFORMED_REQUEST: ErrorReason
TIMESTAMP_OUT_OF_RANGE: ErrorReason
NAME_TAKEN: ErrorReason
UNKNOWN_ITEM: ErrorReason
UNKNOWN_REPORT: ErrorReason
UNKNOWN_TOKEN: ErrorReason
WRONG_STATE: ErrorReason
ALREADY_CLOSED: ErrorReason
NOT_ASSIGNED: ErrorReason
HOLD_ACTIVE: ErrorReason
NO_ACTIVE_HOLD: ErrorReason
BASELINE_FINAL: ErrorReason
REQUEST_ID_REUSED: ErrorReason
CONCURRENT_CHANGE: ErrorReason
TOKEN_MISSING: ErrorReason
TOKEN_INVALID: ErrorReason
TOKEN_REVOKED: ErrorReason
TOKEN_EXPIRED: ErrorReason
ROLE_MISSING: ErrorReason
METHOD_NOT_OPEN: ErrorReason
NOT_OWNER: ErrorReason
RATE_LIMITED: ErrorReason
STORE_UNAVAILABLE: ErrorReason
INTERNAL_ERROR: ErrorReason
