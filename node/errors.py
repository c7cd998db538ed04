"""Errors the domain raises. The API layer maps each class to one canonical gRPC status code.

Every error names the field (or resource) it is about, so an integrator can tell what to fix.
"""

from __future__ import annotations

__all__ = [
    "Aborted",
    "AlreadyExists",
    "DomainError",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "StoreUnavailable",
    "Unauthenticated",
]


class DomainError(Exception):
    """Base class: a request that cannot be carried out. Nothing was written."""

    def __init__(self, message: str, *, field: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason
        """A stable UPPER_SNAKE_CASE name of the failure (google.rpc.ErrorInfo.reason); '' for the class's own."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidArgument(DomainError):
    """A field's value is malformed, whatever the state of the node (INVALID_ARGUMENT)."""


class NotFound(DomainError):
    """The named resource does not exist on this node (NOT_FOUND)."""


class FailedPrecondition(DomainError):
    """The request is well-formed but the item's state forbids it (FAILED_PRECONDITION)."""


class AlreadyExists(DomainError):
    """A request id was reused for a different request (ALREADY_EXISTS)."""


class PermissionDenied(DomainError):
    """The caller is known but lacks the role for this call (PERMISSION_DENIED)."""


class Unauthenticated(DomainError):
    """The caller presented no valid credential (UNAUTHENTICATED)."""


class ResourceExhausted(DomainError):
    """A size or rate limit was exceeded (RESOURCE_EXHAUSTED). `retry_after` (seconds), when set, is sent as
    google.rpc.RetryInfo: the caller may try again after that long."""

    def __init__(
        self, message: str, *, field: str | None = None, reason: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, field=field, reason=reason)
        self.retry_after = retry_after


class Aborted(DomainError):
    """A concurrent change conflicted; the caller may retry with the same request id (ABORTED)."""


class StoreUnavailable(Exception):
    """The node's database did not answer (refused, dropped or timed out a connection). Not a DomainError: the
    request may be fine, and whether it was written is not known; retrying with the same request id is safe.
    The message never names the database's host, port or name."""
