"""A small client for the integrator API: one channel, the bearer token on every call, typed stubs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from grpc import aio

from node.api._gen.hotline.node.v1 import admin_service_pb2_grpc as admin_grpc
from node.api._gen.hotline.node.v1 import case_service_pb2_grpc as case_grpc
from node.api._gen.hotline.node.v1 import event_service_pb2_grpc as event_grpc
from node.api._gen.hotline.node.v1 import federation_admin_service_pb2_grpc as fa_grpc
from node.api._gen.hotline.node.v1 import intake_service_pb2_grpc as intake_grpc
from node.api._gen.hotline.node.v1 import lea_service_pb2_grpc as lea_grpc

__all__ = ["NodeClient"]


def _with_bearer(details: aio.ClientCallDetails, metadata: tuple[tuple[str, str], ...]) -> aio.ClientCallDetails:
    return aio.ClientCallDetails(
        details.method,
        details.timeout,
        aio.Metadata(*(details.metadata or ()), *metadata),
        details.credentials,
        details.wait_for_ready,
    )


# grpc.aio files an interceptor under the first call type it implements only, so each type has its own class.
class _UnaryBearer(aio.UnaryUnaryClientInterceptor):
    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(_with_bearer(details, self._metadata), request)


class _StreamBearer(aio.UnaryStreamClientInterceptor):
    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    async def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(_with_bearer(details, self._metadata), request)


class NodeClient:
    """Use as `async with NodeClient("127.0.0.1:50051", token) as client: await client.intake.SubmitReport(...)`."""

    def __init__(
        self,
        target: str,
        token: str | None,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        channel: Any = None,
    ) -> None:
        """`channel`: a channel made elsewhere (node.api.in_process.InProcessChannel), used as it is."""
        interceptors: list[Any] = [_UnaryBearer(token), _StreamBearer(token)] if token else []
        if channel is not None:
            self.channel = channel
        elif credentials is None:
            self.channel = aio.insecure_channel(target, interceptors=interceptors)
        else:
            self.channel = aio.secure_channel(target, credentials, interceptors=interceptors)
        self.intake = intake_grpc.IntakeServiceStub(self.channel)
        self.cases = case_grpc.CaseServiceStub(self.channel)
        self.lea = lea_grpc.LeaServiceStub(self.channel)
        self.events = event_grpc.EventServiceStub(self.channel)
        self.admin = admin_grpc.AdminServiceStub(self.channel)
        self.federation = fa_grpc.FederationAdminServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> NodeClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()
