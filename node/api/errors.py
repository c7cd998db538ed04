"""Every failure of an integrator RPC as a gRPC status with google.rpc details, never an exception's text.

A domain error keeps its message and gets its typed detail first (BadRequest for INVALID_ARGUMENT,
PreconditionFailure for FAILED_PRECONDITION and ALREADY_EXISTS, whose violation type is the reason, ResourceInfo
for NOT_FOUND), then an ErrorInfo: its reason (node.errors.Reason, listed as hotline.node.v1.ErrorReason in
proto/hotline/node/v1/errors.proto), domain "hotline.node.v1", and in metadata the field and the error's
details. An unreachable store is UNAVAILABLE with ErrorInfo STORE_UNAVAILABLE and RetryInfo; anything else is
INTERNAL with ErrorInfo INTERNAL_ERROR. Every status ends with a RequestInfo whose request_id is the reference
under which the node's log recorded it.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from node.errors import (
    Aborted,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Reason,
    ResourceExhausted,
    Unauthenticated,
)

__all__ = [
    "DOMAIN",
    "GRPC_CODES",
    "INTERNAL_ERROR",
    "MALFORMED_REQUEST",
    "STORE_UNAVAILABLE",
    "internal_status",
    "to_grpc_status",
    "unavailable_status",
]

DOMAIN = "hotline.node.v1"
STORE_UNAVAILABLE = Reason.STORE_UNAVAILABLE
"""The node's database did not answer: retry later (with the same request id), as RetryInfo suggests."""
INTERNAL_ERROR = Reason.INTERNAL_ERROR
"""A fault of the node; its log holds the details under the reference."""
MALFORMED_REQUEST = Reason.MALFORMED_REQUEST
"""The request's bytes are not the RPC's message in protobuf encoding (a string field must be valid UTF-8)."""
RETRY_AFTER_SECONDS = 1

GRPC_CODES: dict[type[DomainError], tuple[grpc.StatusCode, int]] = {
    InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    NotFound: (grpc.StatusCode.NOT_FOUND, code_pb2.NOT_FOUND),
    FailedPrecondition: (grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, code_pb2.ALREADY_EXISTS),
    PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, code_pb2.PERMISSION_DENIED),
    Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, code_pb2.UNAUTHENTICATED),
    ResourceExhausted: (grpc.StatusCode.RESOURCE_EXHAUSTED, code_pb2.RESOURCE_EXHAUSTED),
    Aborted: (grpc.StatusCode.ABORTED, code_pb2.ABORTED),
}


def to_grpc_status(error: DomainError, reference: str = "") -> grpc.Status:
    _, code = GRPC_CODES[type(error)]
    reason = error.reason or Reason.INVALID_FIELD
    details: list[Message] = []
    if isinstance(error, InvalidArgument):
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=error.field or "", description=error.message)
                ]
            )
        )
    elif isinstance(error, FailedPrecondition | AlreadyExists):
        details.append(
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=str(reason), subject=error.field or "", description=error.message
                    )
                ]
            )
        )
    elif isinstance(error, NotFound):
        details.append(error_details_pb2.ResourceInfo(resource_name=error.field or "", description=error.message))
    metadata = {"field": error.field} if error.field else {}
    metadata.update(error.metadata)
    details.append(error_details_pb2.ErrorInfo(reason=str(reason), domain=DOMAIN, metadata=metadata))
    if isinstance(error, ResourceExhausted) and error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(max(1, round(error.retry_after * 1e9)))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    return _status(code, str(error), details, reference)


def unavailable_status(reference: str) -> grpc.Status:
    """The store did not answer. Nothing about the database (host, port, name) is in the answer."""
    return _status(
        code_pb2.UNAVAILABLE,
        f"the node's database is not answering; retry later (the node's log has reference {reference})",
        [
            error_details_pb2.ErrorInfo(reason=STORE_UNAVAILABLE, domain=DOMAIN),
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=RETRY_AFTER_SECONDS)),
        ],
        reference,
    )


def internal_status(reference: str) -> grpc.Status:
    return _status(
        code_pb2.INTERNAL,
        f"internal error; the node's log has reference {reference}",
        [error_details_pb2.ErrorInfo(reason=INTERNAL_ERROR, domain=DOMAIN)],
        reference,
    )


def _status(code: int, message: str, details: list[Message], reference: str) -> grpc.Status:
    if reference:
        details = [*details, error_details_pb2.RequestInfo(request_id=reference)]
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=packed))  # type: ignore[no-any-return]
