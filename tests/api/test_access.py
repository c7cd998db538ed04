"""Every RPC against every role: a role the RPC does not admit gets PERMISSION_DENIED; one it admits gets past
authorisation (an empty request may then be refused for its content). No token, a malformed, an unknown or
a revoked token gets UNAUTHENTICATED."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from node.api._gen.hotline.node.v1 import (
    admin_service_pb2,
    case_service_pb2,
    event_service_pb2,
    federation_admin_service_pb2,
    intake_service_pb2,
    lea_service_pb2,
)
from node.api.auth import METHOD_ROLES
from node.api.client import NodeClient
from node.cases.model import Role
from tests.conftest import Served

SERVICES = [
    intake_service_pb2,
    case_service_pb2,
    lea_service_pb2,
    event_service_pb2,
    admin_service_pb2,
    federation_admin_service_pb2,
]
RPCS = [
    (f"/{service.full_name}/{method.name}", method)
    for module in SERVICES
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
]
ALL_ROLES = list(Role)


def test_every_rpc_has_a_role_policy_and_the_table_names_no_other() -> None:
    assert {name for name, _ in RPCS} == set(METHOD_ROLES)


async def _call(client: NodeClient, full_name: str, method: Any) -> grpc.StatusCode:
    """Call `full_name` with an empty request; the status code it ends with."""
    request_class = _message_class(method.input_type)
    if method.server_streaming:
        stream = client.channel.unary_stream(
            full_name, request_serializer=request_class.SerializeToString, response_deserializer=lambda b: b
        )
        call = stream(request_class())
        try:
            async with asyncio.timeout(0.5):
                async for _ in call:
                    break
        except TimeoutError:
            call.cancel()
            return grpc.StatusCode.OK
        except grpc.aio.AioRpcError as error:
            return error.code()
        call.cancel()
        return grpc.StatusCode.OK
    unary = client.channel.unary_unary(
        full_name, request_serializer=request_class.SerializeToString, response_deserializer=lambda b: b
    )
    try:
        await unary(request_class())
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _message_class(descriptor: Any) -> Any:
    for module in SERVICES:
        for name, message in module.DESCRIPTOR.message_types_by_name.items():
            if message is descriptor:
                return getattr(module, name)
    raise LookupError(descriptor.full_name)


@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
async def test_each_role_against_each_rpc(served: Served, role: Role) -> None:
    client = served.clients[role]
    for full_name, method in RPCS:
        code = await _call(client, full_name, method)
        if role in METHOD_ROLES[full_name]:
            assert code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED), (
                f"{role} should pass {full_name}, got {code}"
            )
        else:
            assert code is grpc.StatusCode.PERMISSION_DENIED, f"{role} should be refused {full_name}, got {code}"


async def test_a_refused_role_is_told_which_role_it_needs(served: Served) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.intake.lea.PlaceHold(lea_service_pb2.PlaceHoldRequest(item_id="x"))
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "needs the role lea" in (caught.value.details() or "")


async def test_without_a_valid_token_every_rpc_is_unauthenticated(served: Served) -> None:
    revoked_id = served.tokens[Role.LEA].split("_")[1]
    await served.admin.admin.RevokeToken(admin_service_pb2.RevokeTokenRequest(token_id=revoked_id))
    callers = {
        "no token": served.anonymous,
        "malformed": NodeClient(served.target, "not-a-token"),
        "unknown": NodeClient(served.target, "hx_0123456789abcdef_" + "A" * 43),
        "revoked": served.clients[Role.LEA],
    }
    try:
        for label, client in callers.items():
            for full_name, method in RPCS:
                code = await _call(client, full_name, method)
                assert code is grpc.StatusCode.UNAUTHENTICATED, f"{label}: {full_name} gave {code}"
    finally:
        for label in ("malformed", "unknown"):
            await callers[label].close()


async def test_health_and_reflection_need_no_token(served: Served) -> None:
    health = health_pb2_grpc.HealthStub(served.anonymous.channel)
    response = await health.Check(health_pb2.HealthCheckRequest(service="hotline.node.v1.IntakeService"))
    assert response.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(served.anonymous.channel)

    async def requests() -> Any:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: set[str] = set()
    async for reply in stub.ServerReflectionInfo(requests()):
        names = {s.name for s in reply.list_services_response.service}
    assert {
        "hotline.node.v1.IntakeService",
        "hotline.node.v1.CaseService",
        "hotline.node.v1.LeaService",
        "hotline.node.v1.EventService",
        "hotline.node.v1.AdminService",
        "hotline.node.v1.FederationAdminService",
        "grpc.health.v1.Health",
    } <= names
