"""Bearer-token authentication and the role each RPC needs, enforced by one server interceptor, which also puts
every RPC inside the error boundary (node.api.boundary).

Every RPC of the integrator API must appear in METHOD_ROLES (a test checks it); a method missing from the
table is refused. Health checking and server reflection are open, as load balancers and tools expect.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from grpc import aio

from node.access import AccessService, token_id_of
from node.api.auth_guard import AUTH_THROTTLED, AuthGuard, peer_address
from node.api.boundary import Boundary
from node.cases.model import Principal, Role
from node.errors import PermissionDenied, Reason, ResourceExhausted, Unauthenticated

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler

__all__ = ["METHOD_ROLES", "OPEN_PREFIXES", "AuthInterceptor", "current_principal"]

_READ = frozenset({Role.ANALYST, Role.LEA})
_P = "/hotline.node.v1."
METHOD_ROLES: dict[str, frozenset[Role]] = {
    f"{_P}IntakeService/SubmitReport": frozenset({Role.INTAKE, Role.HASHER}),
    # Analysts read any report; intake callers only their own (or their group's): node.cases.queries.
    f"{_P}IntakeService/GetReport": frozenset({Role.INTAKE, Role.HASHER, Role.ANALYST}),
    f"{_P}CaseService/GetItem": _READ,
    f"{_P}CaseService/ListItems": _READ,
    f"{_P}CaseService/GetItemTimeline": _READ,
    f"{_P}CaseService/AssessItem": frozenset({Role.ANALYST}),
    f"{_P}CaseService/TraceHosting": frozenset({Role.ANALYST}),
    f"{_P}CaseService/OverrideHosting": frozenset({Role.ANALYST}),
    f"{_P}CaseService/RecordAction": frozenset({Role.ANALYST}),
    f"{_P}CaseService/WithdrawReferral": frozenset({Role.ANALYST}),
    f"{_P}CaseService/ListReceipts": _READ,
    f"{_P}CaseService/DisputeKnownMatch": frozenset({Role.ANALYST}),
    f"{_P}LeaService/PlaceHold": frozenset({Role.LEA}),
    f"{_P}LeaService/ReleaseHold": frozenset({Role.LEA}),
    f"{_P}LeaService/ClearRemoval": frozenset({Role.LEA}),
    f"{_P}EventService/StreamEvents": _READ,
    f"{_P}EventService/ListEvents": _READ,
    f"{_P}EventService/GetStatistics": _READ,
    f"{_P}AdminService/CreateToken": frozenset({Role.ADMIN}),
    f"{_P}AdminService/RevokeToken": frozenset({Role.ADMIN}),
    f"{_P}AdminService/RotateToken": frozenset({Role.ADMIN}),
    f"{_P}AdminService/ListTokens": frozenset({Role.ADMIN}),
    f"{_P}AdminService/ImportKnownHashes": frozenset({Role.ADMIN}),
    f"{_P}FederationAdminService/GetFederationStatus": frozenset({Role.ADMIN}),
    f"{_P}FederationAdminService/ResetPeerBackoff": frozenset({Role.ADMIN}),
    f"{_P}FederationAdminService/ListRejections": frozenset({Role.ADMIN}),
    f"{_P}FederationAdminService/ListOutbox": frozenset({Role.ADMIN}),
}
OPEN_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")


def current_principal() -> Principal:
    """The caller of the RPC being served. Set by AuthInterceptor before the handler runs."""
    return _principal.get()


class AuthInterceptor(aio.ServerInterceptor):
    """Puts every RPC inside the error boundary; an integrator RPC authenticates and authorises first."""

    def __init__(
        self,
        access: AccessService,
        run: Callable[..., Awaitable[Any]],
        boundary: Boundary,
        guard: AuthGuard | None = None,
    ) -> None:
        self._access = access
        self._run = run  # runs a blocking call off the event loop
        self._boundary = boundary
        self._guard = guard or AuthGuard()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if method.startswith(OPEN_PREFIXES):
            # Reflection is a bidirectional stream, left as it is; health is guarded like the rest.
            return handler if handler.stream_stream is not None else self._boundary.guard(handler, method)
        metadata = handler_call_details.invocation_metadata or ()

        async def enter(context: aio.ServicerContext[Any, Any]) -> None:
            _principal.set(await self._authorise(method, metadata, peer_address(context.peer() or "")))

        return self._boundary.guard(handler, method, enter)

    async def _authorise(self, method: str, metadata: Any, address: str) -> Principal:
        values = [v for k, v in metadata if k == "authorization"]
        if not values:
            raise Unauthenticated("missing 'authorization: Bearer <token>' metadata", reason=Reason.TOKEN_MISSING)
        header = values[0] if isinstance(values[0], str) else values[0].decode(errors="replace")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise Unauthenticated("the authorization metadata must read 'Bearer <token>'")
        presented = presented.strip()
        try:
            self._guard.admit(address)
        except ResourceExhausted:
            self._guard.failed(address, token_id_of(presented), AUTH_THROTTLED)
            raise
        try:
            principal = self._access.authenticate_cached(presented)
            if principal is None:
                principal = await self._run(self._access.authenticate, presented)
        except Unauthenticated as error:
            self._guard.failed(address, token_id_of(presented), str(error.reason or Reason.TOKEN_INVALID))
            raise
        needed = METHOD_ROLES.get(method)
        if needed is None:
            raise PermissionDenied(f"{method} is not open to integrators", reason=Reason.METHOD_NOT_OPEN)
        if not principal.roles & needed:
            wanted = " or ".join(sorted(needed))
            raise PermissionDenied(
                f"{method.rsplit('/', 1)[-1]} needs the role {wanted}",
                reason=Reason.ROLE_MISSING,
                metadata={"allowed_roles": ",".join(sorted(needed))},
            )
        return principal
