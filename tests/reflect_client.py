"""A generic gRPC client that learns a server's API from the server itself (server reflection), as grpcurl does:
no generated stubs and nothing of the project imported. Requests and answers are plain dicts in the protobuf
JSON mapping, with the proto field names (`item_id`, not `itemId`).

The descriptors go into a pool of their own: the default pool may hold the project's compiled copies of the same
files (when pytest has loaded them for other tests), and adding a second copy there would conflict.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

__all__ = ["ReflectClient"]


class ReflectClient:
    """Unary calls on `channel`, each with `metadata` (e.g. the bearer token)."""

    def __init__(self, channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = ()) -> None:
        self._channel = channel
        self._metadata = metadata
        self._pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        self._calls: dict[str, tuple[Any, type[Message]]] = {}

    def services(self) -> list[str]:
        """The services the server lists."""
        database = ProtoReflectionDescriptorDatabase(self._channel)
        return sorted(database.get_services())

    def call(self, method: str, request: dict[str, Any] | None = None, *, timeout: float = 30) -> dict[str, Any]:
        """Call `method` ("package.Service/Method") with `request` (the JSON mapping); the answer likewise.
        A refused call raises grpc.RpcError, as a stub's would."""
        stub, request_class = self._stub(method)
        message = json_format.ParseDict(request or {}, request_class())
        answer = stub(message, metadata=self._metadata, timeout=timeout)
        return json_format.MessageToDict(answer, preserving_proto_field_name=True)

    def _stub(self, method: str) -> tuple[Any, type[Message]]:
        if method not in self._calls:
            service_name, method_name = method.rsplit("/", 1)
            found = self._pool.FindServiceByName(service_name).FindMethodByName(method_name)
            if found is None:
                raise LookupError(f"{service_name} has no method {method_name}")
            request_class = message_factory.GetMessageClass(found.input_type)
            answer_class = message_factory.GetMessageClass(found.output_type)
            stub = self._channel.unary_unary(
                f"/{service_name}/{method_name}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=answer_class.FromString,
            )
            self._calls[method] = (stub, request_class)
        return self._calls[method]
