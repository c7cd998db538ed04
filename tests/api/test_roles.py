"""Authorisation over real gRPC: every RPC of the integrator API against every role, and against callers
without a valid token. The RPC list comes from the service descriptors, so a new RPC without a policy in
METHOD_ROLES fails here. Health checking and server reflection stay open."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from node.api._gen.hotline.node.v1 import (
    admin_service_pb2,
    case_service_pb2,
    event_service_pb2,
    federation_admin_service_pb2,
    intake_service_pb2,
    lea_service_pb2,
)
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.auth import METHOD_ROLES
from node.api.client import NodeClient
from node.app import Node
from node.cases.model import Role
from node.clock import ManualClock
from tests.conftest import Served, serving

SERVICE_MODULES = [
    intake_service_pb2,
    case_service_pb2,
    lea_service_pb2,
    event_service_pb2,
    admin_service_pb2,
    federation_admin_service_pb2,
]
SERVICES = [service for module in SERVICE_MODULES for service in module.DESCRIPTOR.services_by_name.values()]
RPCS: dict[str, MethodDescriptor] = {
    f"/{service.full_name}/{method.name}": method for service in SERVICES for method in service.methods
}
# Codes that show a call got past authentication and authorisation (an empty request may be refused for its
# content, or name nothing that exists; an empty stream just waits).
PAST_AUTH = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
}
# A well-formed token (hx_<16 hex>_<43 url-safe>) that the node never issued.
UNKNOWN_TOKEN = "hx_0123456789abcdef_" + "A" * 43
P = "/hotline.node.v1."


async def call_rpc(
    channel: grpc.aio.Channel, path: str, metadata: tuple[tuple[str, str], ...] = ()
) -> tuple[grpc.StatusCode, str]:
    """Call `path` with an empty request; the code it ends with and its message. A stream that stays open
    (it got past auth and waits for events) is read for a moment, then cancelled: OK."""
    method = RPCS[path]
    request = message_factory.GetMessageClass(method.input_type)()
    response_class = message_factory.GetMessageClass(method.output_type)
    if method.server_streaming:
        stream = channel.unary_stream(
            path, request_serializer=type(request).SerializeToString, response_deserializer=response_class.FromString
        )
        call = stream(request, metadata=metadata)
        try:
            async with asyncio.timeout(0.3):
                await call.read()
        except TimeoutError:
            pass
        except grpc.aio.AioRpcError as error:
            return error.code(), error.details() or ""
        finally:
            call.cancel()
        return grpc.StatusCode.OK, ""
    unary = channel.unary_unary(
        path, request_serializer=type(request).SerializeToString, response_deserializer=response_class.FromString
    )
    try:
        await unary(request, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def test_the_service_descriptors_list_the_six_services() -> None:
    assert sorted(s.full_name for s in SERVICES) == [
        "hotline.node.v1.AdminService",
        "hotline.node.v1.CaseService",
        "hotline.node.v1.EventService",
        "hotline.node.v1.FederationAdminService",
        "hotline.node.v1.IntakeService",
        "hotline.node.v1.LeaService",
    ]
    assert len(RPCS) >= 20


@pytest.mark.parametrize("path", sorted(RPCS), ids=lambda p: p.rsplit(".", 1)[-1])
def test_every_rpc_has_a_role_policy(path: str) -> None:
    assert path in METHOD_ROLES, f"{path} has no entry in METHOD_ROLES"
    assert METHOD_ROLES[path], f"{path} admits no role at all"
    assert METHOD_ROLES[path] <= set(Role)


def test_the_policy_table_names_only_rpcs_that_exist() -> None:
    assert set(METHOD_ROLES) - set(RPCS) == set()


def test_writes_need_the_role_that_owns_them() -> None:
    """Spot checks of the policy itself, so that a table that admitted everyone would fail."""
    assert METHOD_ROLES[f"{P}IntakeService/SubmitReport"] == {Role.INTAKE, Role.HASHER}
    assert METHOD_ROLES[f"{P}CaseService/AssessItem"] == {Role.ANALYST}
    assert METHOD_ROLES[f"{P}CaseService/RecordAction"] == {Role.ANALYST}
    assert METHOD_ROLES[f"{P}LeaService/PlaceHold"] == {Role.LEA}
    assert METHOD_ROLES[f"{P}EventService/StreamEvents"] == {Role.ANALYST, Role.LEA}
    for name in ("CreateToken", "RevokeToken", "ListTokens", "ImportKnownHashes"):
        assert METHOD_ROLES[f"{P}AdminService/{name}"] == {Role.ADMIN}
    for name in ("GetFederationStatus", "ResetPeerBackoff", "ListRejections", "ListOutbox"):
        assert METHOD_ROLES[f"{P}FederationAdminService/{name}"] == {Role.ADMIN}


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("path", sorted(RPCS), ids=lambda p: p.rsplit(".", 1)[-1])
async def test_each_rpc_admits_exactly_its_roles(served: Served, path: str, role: Role) -> None:
    code, message = await call_rpc(served.clients[role].channel, path)
    allowed = METHOD_ROLES[path]
    if role in allowed:
        assert code in PAST_AUTH, f"{role} is allowed {path} but got {code}: {message}"
        return
    assert code is grpc.StatusCode.PERMISSION_DENIED, f"{role} must be refused {path}, got {code}: {message}"
    assert path.rsplit("/", 1)[-1] in message
    for needed in allowed:
        assert str(needed) in message, f"the refusal should name the role {needed}: {message!r}"


async def test_a_refusal_carries_error_info_details(served: Served) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.intake.lea.PlaceHold(lea_service_pb2.PlaceHoldRequest(item_id="x"))
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "needs the role lea" in (caught.value.details() or "")
    status = rpc_status.from_call(caught.value)
    assert status is not None and status.details
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "ROLE_MISSING"


async def test_a_token_with_several_roles_gets_the_union(served: Served) -> None:
    created = await served.admin.admin.CreateToken(
        admin_service_pb2.CreateTokenRequest(name="multi", roles=[pb.ROLE_INTAKE, pb.ROLE_LEA])
    )
    async with NodeClient(served.target, created.secret) as client:
        for path, allowed in METHOD_ROLES.items():
            code, message = await call_rpc(client.channel, path)
            if allowed & {Role.INTAKE, Role.LEA}:
                assert code in PAST_AUTH, f"{path}: {code} {message}"
            else:
                assert code is grpc.StatusCode.PERMISSION_DENIED, f"{path}: {code} {message}"


# ---------------------------------------------------------------------------------------- no valid token


async def _assert_every_rpc_unauthenticated(
    channel: grpc.aio.Channel, label: str, metadata: tuple[tuple[str, str], ...] = ()
) -> None:
    for path in RPCS:
        code, message = await call_rpc(channel, path, metadata)
        assert code is grpc.StatusCode.UNAUTHENTICATED, f"{label}: {path} gave {code}: {message}"


async def test_no_token_is_unauthenticated_everywhere(served: Served) -> None:
    await _assert_every_rpc_unauthenticated(served.anonymous.channel, "no token")
    _, message = await call_rpc(served.anonymous.channel, f"{P}CaseService/GetItem")
    assert "authorization" in message


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "Bearer hx_short_secret", "Bearer " + UNKNOWN_TOKEN],
    ids=["malformed", "wrong-scheme", "empty-bearer", "bad-shape", "unknown"],
)
async def test_a_bad_authorization_header_is_unauthenticated_everywhere(served: Served, header: str) -> None:
    await _assert_every_rpc_unauthenticated(served.anonymous.channel, header, (("authorization", header),))


async def test_malformed_and_unknown_tokens_through_the_client(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    # Four bad tokens on every RPC, from one address: more failures than the default throttle allows.
    async with serving(make_node(sqlite_url, auth_failure_burst=1_000_000), clock) as served:
        admin = served.tokens[Role.ADMIN]
        wrong_secret = admin[:-1] + ("B" if admin[-1] != "B" else "C")
        for token in ("not-a-token", UNKNOWN_TOKEN, admin + "x", wrong_secret):
            async with NodeClient(served.target, token) as client:
                await _assert_every_rpc_unauthenticated(client.channel, token)


async def test_a_revoked_token_is_unauthenticated_and_the_others_still_work(served: Served) -> None:
    lea_token_id = served.tokens[Role.LEA].split("_")[1]
    # Used once before revocation, so the node has it cached.
    code, _ = await call_rpc(served.lea.channel, f"{P}EventService/ListEvents")
    assert code is grpc.StatusCode.OK
    revoked = await served.admin.admin.RevokeToken(admin_service_pb2.RevokeTokenRequest(token_id=lea_token_id))
    assert revoked.token.HasField("revoked_at")
    await _assert_every_rpc_unauthenticated(served.lea.channel, "revoked")
    _, message = await call_rpc(served.lea.channel, f"{P}EventService/ListEvents")
    assert "revoked" in message
    code, _ = await call_rpc(served.analyst.channel, f"{P}EventService/ListEvents")
    assert code is grpc.StatusCode.OK
    listed = await served.admin.admin.ListTokens(admin_service_pb2.ListTokensRequest())
    by_id = {t.token_id: t for t in listed.tokens}
    assert by_id[lea_token_id].HasField("revoked_at")
    assert not by_id[served.tokens[Role.ANALYST].split("_")[1]].HasField("revoked_at")


async def test_revoking_an_unknown_token_is_not_found(served: Served) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.admin.admin.RevokeToken(admin_service_pb2.RevokeTokenRequest(token_id="0123456789abcdef"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_new_token_works_at_once_with_its_roles(served: Served) -> None:
    created = await served.admin.admin.CreateToken(
        admin_service_pb2.CreateTokenRequest(name="form-2", roles=[pb.ROLE_INTAKE])
    )
    assert created.secret.startswith(f"hx_{created.token.token_id}_")
    async with NodeClient(served.target, created.secret) as client:
        code, message = await call_rpc(client.channel, f"{P}IntakeService/SubmitReport")
        assert code is grpc.StatusCode.INVALID_ARGUMENT, message  # past auth: an empty report is refused
        code, _ = await call_rpc(client.channel, f"{P}CaseService/ListItems")
        assert code is grpc.StatusCode.PERMISSION_DENIED


# ---------------------------------------------------------------------------------------- open services

SERVICE_NAMES = sorted(s.full_name for s in SERVICES)


async def test_health_check_needs_no_token_and_covers_every_service(served: Served) -> None:
    health = health_pb2_grpc.HealthStub(served.anonymous.channel)
    for name in ["", *SERVICE_NAMES]:
        response = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert response.status == health_pb2.HealthCheckResponse.SERVING, name
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health.Check(health_pb2.HealthCheckRequest(service="hotline.node.v1.NoSuchService"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_reflection_needs_no_token_and_lists_the_five_services(served: Served) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(served.anonymous.channel)

    async def requests() -> Any:
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        yield reflection_pb2.ServerReflectionRequest(file_containing_symbol="hotline.node.v1.CaseService")

    replies = [reply async for reply in stub.ServerReflectionInfo(requests())]
    assert len(replies) == 2
    names = {s.name for s in replies[0].list_services_response.service}
    assert set(SERVICE_NAMES) <= names
    assert "grpc.health.v1.Health" in names
    assert replies[1].HasField("file_descriptor_response")
    assert replies[1].file_descriptor_response.file_descriptor_proto
