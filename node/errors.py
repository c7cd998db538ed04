"""Errors the domain raises. The API layer maps each class to one canonical gRPC status code.

Every error names the field (or resource) it is about, so an integrator can tell what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypedDict, Unpack

__all__ = [
    "Aborted",
    "AlreadyExists",
    "DomainError",
    "ErrorDetails",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Reason",
    "ResourceExhausted",
    "StoreUnavailable",
    "Unauthenticated",
]


class Reason(StrEnum):
    """Why a request failed: the stable value of google.rpc.ErrorInfo.reason that a client branches on.

    The same names, with a comment each, are the enum hotline.node.v1.ErrorReason (proto/hotline/node/v1/
    errors.proto); tests/api/test_error_reasons.py keeps the two equal. A name is never reused for another
    meaning; new ones may be added. ErrorInfo.metadata holds the details each reason names (see the proto)."""

    # INVALID_ARGUMENT: the request itself is wrong, whatever the node's state.
    INVALID_FIELD = "INVALID_FIELD"
    REQUIRED_FIELD = "REQUIRED_FIELD"
    FORBIDDEN_CHARACTER = "FORBIDDEN_CHARACTER"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    MALFORMED_ID = "MALFORMED_ID"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    TIMESTAMP_OUT_OF_RANGE = "TIMESTAMP_OUT_OF_RANGE"
    NAME_TAKEN = "NAME_TAKEN"
    # NOT_FOUND
    UNKNOWN_ITEM = "UNKNOWN_ITEM"
    UNKNOWN_REPORT = "UNKNOWN_REPORT"
    UNKNOWN_TOKEN = "UNKNOWN_TOKEN"  # noqa: S105 - a reason, not a secret
    # FAILED_PRECONDITION: well-formed, but the item's state forbids it.
    WRONG_STATE = "WRONG_STATE"
    ALREADY_CLOSED = "ALREADY_CLOSED"
    NOT_ASSIGNED = "NOT_ASSIGNED"
    HOLD_ACTIVE = "HOLD_ACTIVE"
    NO_ACTIVE_HOLD = "NO_ACTIVE_HOLD"
    BASELINE_FINAL = "BASELINE_FINAL"
    # ALREADY_EXISTS
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    # ABORTED
    CONCURRENT_CHANGE = "CONCURRENT_CHANGE"
    # UNAUTHENTICATED
    TOKEN_MISSING = "TOKEN_MISSING"  # noqa: S105 - a reason, not a secret
    TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105 - a reason, not a secret
    TOKEN_REVOKED = "TOKEN_REVOKED"  # noqa: S105 - a reason, not a secret
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 - a reason, not a secret
    # PERMISSION_DENIED
    ROLE_MISSING = "ROLE_MISSING"
    METHOD_NOT_OPEN = "METHOD_NOT_OPEN"
    NOT_OWNER = "NOT_OWNER"
    # RESOURCE_EXHAUSTED
    RATE_LIMITED = "RATE_LIMITED"
    # UNAVAILABLE and INTERNAL (raised by the API's error boundary, never by the domain)
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ErrorDetails(TypedDict, total=False):
    """The keywords of DomainError after its message, for a subclass that adds its own."""

    field: str | None
    reason: Reason | None
    metadata: Mapping[str, str] | None


class DomainError(Exception):
    """Base class: a request that cannot be carried out. Nothing was written.

    `reason` is the failure's stable name (Reason; each class has a default) and `metadata` its details for a
    program (google.rpc.ErrorInfo.metadata: "state", "allowed_states", "limit", ...), never a caller's value."""

    default_reason: Reason | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: Reason | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason: Reason | None = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidArgument(DomainError):
    """A field's value is malformed, whatever the state of the node (INVALID_ARGUMENT)."""

    default_reason = Reason.INVALID_FIELD


class NotFound(DomainError):
    """The named resource does not exist on this node (NOT_FOUND)."""

    default_reason = Reason.UNKNOWN_ITEM


class FailedPrecondition(DomainError):
    """The request is well-formed but the item's state forbids it (FAILED_PRECONDITION)."""

    default_reason = Reason.WRONG_STATE


class AlreadyExists(DomainError):
    """A request id was reused for a different request (ALREADY_EXISTS)."""

    default_reason = Reason.REQUEST_ID_REUSED


class PermissionDenied(DomainError):
    """The caller is known but lacks the role for this call (PERMISSION_DENIED)."""

    default_reason = Reason.ROLE_MISSING


class Unauthenticated(DomainError):
    """The caller presented no valid credential (UNAUTHENTICATED)."""

    default_reason = Reason.TOKEN_INVALID


class ResourceExhausted(DomainError):
    """A size or rate limit was exceeded (RESOURCE_EXHAUSTED). `retry_after` (seconds), when set, is sent as
    google.rpc.RetryInfo: the caller may try again after that long."""

    default_reason = Reason.LIMIT_EXCEEDED

    def __init__(self, message: str, *, retry_after: float | None = None, **details: Unpack[ErrorDetails]) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class Aborted(DomainError):
    """A concurrent change conflicted; the caller may retry with the same request id (ABORTED)."""

    default_reason = Reason.CONCURRENT_CHANGE


class StoreUnavailable(Exception):
    """The node's database did not answer (refused, dropped or timed out a connection). Not a DomainError: the
    request may be fine, and whether it was written is not known; retrying with the same request id is safe.
    The message never names the database's host, port or name."""
