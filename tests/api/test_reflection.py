"""Server reflection answers under grpc.reflection.v1 (what current grpcurl and grpc-js tools ask first) as well
as v1alpha, with no token, and serves the error reasons' enum too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from grpc_reflection.v1alpha import reflection_pb2 as messages

from node.api.servicers import API_SERVICES
from tests.conftest import Served


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_v1_and_v1alpha_list_the_services_and_serve_their_files(served: Served, version: str) -> None:
    # v1's messages are v1alpha's, field for field: the v1alpha classes encode a v1 request exactly.
    info = served.anonymous.channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=messages.ServerReflectionRequest.SerializeToString,
        response_deserializer=messages.ServerReflectionResponse.FromString,
    )

    async def requests() -> AsyncIterator[messages.ServerReflectionRequest]:
        yield messages.ServerReflectionRequest(list_services="")
        yield messages.ServerReflectionRequest(file_containing_symbol="hotline.node.v1.LeaService")
        yield messages.ServerReflectionRequest(file_containing_symbol="hotline.node.v1.ErrorReason")

    replies = [reply async for reply in info(requests())]
    names = {s.name for s in replies[0].list_services_response.service}
    assert set(API_SERVICES) | {"grpc.reflection.v1.ServerReflection", "grpc.health.v1.Health"} <= names
    assert replies[1].file_descriptor_response.file_descriptor_proto
    assert replies[2].file_descriptor_response.file_descriptor_proto, replies[2]
