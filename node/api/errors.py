"""Domain errors become gRPC statuses with google.rpc details: BadRequest for INVALID_ARGUMENT,
PreconditionFailure for FAILED_PRECONDITION, ResourceInfo for NOT_FOUND."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
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
    ResourceExhausted,
    Unauthenticated,
)

__all__ = ["GRPC_CODES", "to_grpc_status"]

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


def to_grpc_status(error: DomainError) -> grpc.Status:
    _, code = GRPC_CODES[type(error)]
    detail = any_pb2.Any()
    if isinstance(error, InvalidArgument):
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=error.field or "", description=error.message)
                ]
            )
        )
    elif isinstance(error, FailedPrecondition | AlreadyExists):
        detail.Pack(
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=type(error).__name__, subject=error.field or "", description=error.message
                    )
                ]
            )
        )
    elif isinstance(error, NotFound):
        detail.Pack(error_details_pb2.ResourceInfo(resource_name=error.field or "", description=error.message))
    else:
        detail.Pack(error_details_pb2.ErrorInfo(reason=type(error).__name__, domain="hotline.node.v1"))
    status = status_pb2.Status(code=code, message=str(error), details=[detail])
    return rpc_status.to_status(status)  # type: ignore[no-any-return]
