"""Server reflection, as grpcurl, Postman and grpc-js tools ask for it: both grpc.reflection.v1 and the older
grpc.reflection.v1alpha. grpcio-reflection implements only v1alpha; v1's messages are the same, field for field
(grpc/reflection/v1/reflection.proto), so one servicer answers both names."""

from __future__ import annotations

import grpc
from grpc import aio
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as messages

# Loaded so that reflection also serves hotline.node.v1.ErrorReason, which no service's file imports.
from node.api._gen.hotline.node.v1 import errors_pb2  # noqa: F401

__all__ = ["REFLECTION_SERVICES", "enable_reflection"]

V1 = "grpc.reflection.v1.ServerReflection"
REFLECTION_SERVICES = [V1, reflection.SERVICE_NAME]


def enable_reflection(server: aio.Server, service_names: list[str]) -> None:
    """Serve reflection of `service_names` (and of both reflection services) under v1 and v1alpha."""
    names = [*service_names, *REFLECTION_SERVICES]
    servicer = reflection.aio.ReflectionServicer(names)
    reflection.enable_server_reflection(names, server)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=messages.ServerReflectionRequest.FromString,
        response_serializer=messages.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(V1, {"ServerReflectionInfo": handler}),))
