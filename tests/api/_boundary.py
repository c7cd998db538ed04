"""Helpers of the error-boundary tests: call any integrator RPC by name with any request (or raw bytes), and
read every google.rpc detail of the status it ends with."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from node.api._gen.hotline.node.v1 import (
    admin_service_pb2,
    case_service_pb2,
    event_service_pb2,
    federation_admin_service_pb2,
    intake_service_pb2,
    lea_service_pb2,
)
from node.api.auth import METHOD_ROLES
from tests.conftest import Served

__all__ = ["RPCS", "Outcome", "call", "fail_in_database", "request_class", "role_for", "string_paths", "with_value"]

SERVICES = (
    intake_service_pb2,
    case_service_pb2,
    lea_service_pb2,
    event_service_pb2,
    admin_service_pb2,
    federation_admin_service_pb2,
)
RPCS: list[tuple[str, MethodDescriptor]] = [
    (f"/{service.full_name}/{method.name}", method)
    for module in SERVICES
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
]
_DETAILS = {
    "google.rpc.BadRequest": error_details_pb2.BadRequest,
    "google.rpc.PreconditionFailure": error_details_pb2.PreconditionFailure,
    "google.rpc.ResourceInfo": error_details_pb2.ResourceInfo,
    "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
    "google.rpc.RetryInfo": error_details_pb2.RetryInfo,
    "google.rpc.RequestInfo": error_details_pb2.RequestInfo,
}


@dataclass
class Outcome:
    """How a call ended: OK, or a code with its message and its google.rpc details by type name."""

    code: grpc.StatusCode
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # everything the caller was told, for leak checks

    @property
    def field(self) -> str:
        bad = self.details.get("google.rpc.BadRequest")
        return str(bad.field_violations[0].field) if bad is not None else ""

    @property
    def reason(self) -> str:
        info = self.details.get("google.rpc.ErrorInfo")
        return str(info.reason) if info is not None else ""

    @property
    def reference(self) -> str:
        info = self.details.get("google.rpc.RequestInfo")
        return str(info.request_id) if info is not None else ""


def request_class(method: MethodDescriptor) -> Any:
    for module in SERVICES:
        for name in dir(module):
            candidate = getattr(module, name)
            if getattr(candidate, "DESCRIPTOR", None) is method.input_type:
                return candidate
    raise LookupError(method.input_type.full_name)


def role_for(full_name: str) -> Any:
    return sorted(METHOD_ROLES[full_name])[0]


async def call(served: Served, full_name: str, request: Message | bytes, *, token: str | None = "role") -> Outcome:
    """Call `full_name` with `request` (a message, or raw bytes sent as they are) as a caller holding a role
    the RPC allows (token="role"), no token (None), or the given bearer token."""
    method = next(m for n, m in RPCS if n == full_name)
    bearer = served.tokens[role_for(full_name)] if token == "role" else token
    metadata = (("authorization", f"Bearer {bearer}"),) if bearer else ()
    serialize = (lambda b: b) if isinstance(request, bytes) else type(request).SerializeToString
    channel = served.anonymous.channel
    try:
        if method.server_streaming:
            stream = channel.unary_stream(full_name, request_serializer=serialize, response_deserializer=bytes)
            responses = stream(request, metadata=metadata)
            try:
                async with asyncio.timeout(1.0):
                    async for _ in responses:
                        pass
            except TimeoutError:  # a stream that stays open was accepted
                responses.cancel()
                return Outcome(grpc.StatusCode.OK)
        else:
            unary = channel.unary_unary(full_name, request_serializer=serialize, response_deserializer=bytes)
            await unary(request, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return _outcome(error)
    return Outcome(grpc.StatusCode.OK)


def _outcome(error: grpc.aio.AioRpcError) -> Outcome:
    details: dict[str, Any] = {}
    status = rpc_status.from_call(error)
    for any_detail in status.details if status is not None else ():
        kind = _DETAILS[any_detail.TypeName()]()
        any_detail.Unpack(kind)
        details[any_detail.TypeName()] = kind
    text = " ".join([error.details() or "", *(str(d) for d in details.values())])
    return Outcome(error.code(), error.details() or "", details, text)


def string_paths(descriptor: Descriptor, prefix: str = "", depth: int = 0) -> Iterator[str]:
    """Every string field of a request, nested ones too, as the path the node names it by (`urls[0].url`)."""
    for one in descriptor.fields:
        index = "[0]" if one.is_repeated else ""
        path = f"{prefix}{one.name}{index}"
        if one.type == FieldDescriptor.TYPE_STRING:
            yield path
        elif (
            one.type == FieldDescriptor.TYPE_MESSAGE and depth < 3 and one.message_type.full_name.startswith("hotline")
        ):
            yield from string_paths(one.message_type, path + ".", depth + 1)


def with_value(message: Message, path: str, value: str) -> Message:
    """`message` with the string field at `path` set to `value` (repeated fields get one element)."""
    target: Any = message
    parts = path.split(".")
    for part in parts[:-1]:
        name = part.removesuffix("[0]")
        target = getattr(target, name).add() if part.endswith("[0]") else getattr(target, name)
    last = parts[-1]
    if last.endswith("[0]"):
        getattr(target, last.removesuffix("[0]")).append(value)
    else:
        setattr(target, last, value)
    return message


def fail_in_database(tx: Any, **values: str) -> None:
    """Run a statement that the database refuses, with `values` as its parameters: SQLAlchemy's error text
    would quote them, as it quoted a whole intake batch's reporters before the engine hid parameters."""
    from sqlalchemy import text

    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    tx.c.execute(text(f"INSERT INTO no_such_table ({columns}) VALUES ({marks})"), values)
