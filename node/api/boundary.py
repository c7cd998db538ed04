"""The one error boundary of the integrator API. Every RPC runs inside it, in this order: the caller is
authenticated (before its bytes are even decoded, so a stranger's garbage is UNAUTHENTICATED), the request is
decoded (undecodable bytes are INVALID_ARGUMENT, never protobuf's text), every string field is checked
(node.api.validation), and the servicer is called. Whatever fails on the way, or later in the servicer or its
stream, ends the call with a canonical code and google.rpc details (node.api.errors) and a reference that the
node's log records with the failure; the exception's own text never reaches the caller.

The log keeps the method, the code, the field and the reference of a refusal, never its message (which may
quote the value). A fault is logged with its type, text and stack; a database error with its SQL (no values:
the engine hides parameters) and SQLSTATE instead of the driver's text (a constraint's DETAIL quotes values).
"""

from __future__ import annotations

import inspect
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import structlog
from grpc import aio

from node.api.errors import MALFORMED_REQUEST, internal_status, to_grpc_status, unavailable_status
from node.api.validation import check_request
from node.errors import DomainError, InvalidArgument, Reason, ResourceExhausted, StoreUnavailable

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler

__all__ = ["Boundary", "GuardAll"]

_log = structlog.get_logger(__name__)
Context = aio.ServicerContext[Any, Any]


class _Undecodable:
    """What the lenient deserializer hands on when the bytes are not the request message."""


_UNDECODABLE = _Undecodable()


class _Oversized:
    """What the deserializer hands on, undecoded, for a request longer than the node accepts."""

    def __init__(self, size: int) -> None:
        self.size = size


class Boundary:
    """`max_message_bytes`: a longer request is RESOURCE_EXHAUSTED with reason LIMIT_EXCEEDED and the limit in
    its metadata (gRPC's own refusal, bare, is only for what exceeds the server's receive limit)."""

    def __init__(
        self, on_store_unavailable: Callable[[], None] | None = None, max_message_bytes: int | None = None
    ) -> None:
        self._on_store_unavailable = on_store_unavailable
        self._max_message_bytes = max_message_bytes

    def guard(
        self,
        handler: Any,
        method: str,
        enter: Callable[[Context], Awaitable[None]] | None = None,
        *,
        check: bool = True,
    ) -> Handler:
        """`handler` inside the boundary. `enter` runs first (authentication, given the call's context);
        `check` validates the request's string fields."""
        deserializer = handler.request_deserializer

        def decode(raw: bytes) -> Any:
            if self._max_message_bytes is not None and len(raw) > self._max_message_bytes:
                return _Oversized(len(raw))
            try:
                return deserializer(raw) if deserializer is not None else raw
            except Exception:  # any parse failure: the call answers INVALID_ARGUMENT once it is authenticated
                return _UNDECODABLE

        async def admit(request: Any, context: Context) -> Any:
            if enter is not None:
                await enter(context)
            if isinstance(request, _Oversized):
                limit = self._max_message_bytes
                raise ResourceExhausted(
                    f"the request is {request.size} bytes; the node accepts at most {limit}",
                    field="request",
                    reason=Reason.LIMIT_EXCEEDED,
                    metadata={"limit": str(limit), "unit": "bytes"},
                )
            if request is _UNDECODABLE:
                name = method.rsplit("/", 1)[-1]
                raise InvalidArgument(
                    f"the bytes are not a {name} request in protobuf encoding (string fields must be valid UTF-8)",
                    field="request",
                    reason=MALFORMED_REQUEST,
                )
            if check:
                check_request(request)
            return request

        inner: Any = handler.unary_unary or handler.unary_stream
        if inner is None:
            raise TypeError("the boundary guards only unary and server-streaming RPCs")

        async def once(request: Any, context: Context) -> Any:
            """A unary call, or a stream its handler writes with context.write (as Health/Watch does)."""
            try:
                return await inner(await admit(request, context), context)
            except aio.AbortError:
                raise
            except Exception as error:
                await context.abort_with_status(self.status_of(error, method))

        async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
            try:
                async for response in inner(await admit(request, context), context):
                    yield response
            except aio.AbortError:
                raise
            except Exception as error:
                await context.abort_with_status(self.status_of(error, method))

        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(once, decode, handler.response_serializer)
        behaviour = stream if inspect.isasyncgenfunction(inner) else once
        return grpc.unary_stream_rpc_method_handler(behaviour, decode, handler.response_serializer)

    def status_of(self, error: Exception, method: str) -> grpc.Status:
        """The status that ends a call failed by `error`; logs it under a new reference."""
        reference = uuid.uuid4().hex[:12]
        if isinstance(error, DomainError):
            code = type(error).__name__
            _log.info("rpc.refused", method=method, code=code, field=error.field, reference=reference)
            return to_grpc_status(error, reference)
        if isinstance(error, StoreUnavailable):
            _log.warning("rpc.store_unavailable", method=method, reference=reference, cause=_describe(error))
            if self._on_store_unavailable is not None:
                self._on_store_unavailable()
            return unavailable_status(reference)
        _log.error(
            "rpc.internal_error",
            method=method,
            reference=reference,
            error=_describe(error),
            stack="".join(traceback.format_tb(error.__traceback__)),
        )
        return internal_status(reference)


class GuardAll(aio.ServerInterceptor):
    """Every unary call of a server inside the boundary, without the integrator API's authentication or string
    checks: the node-to-node server (its peers are authenticated by mutual TLS, and the exchange checks each
    field itself). Undecodable bytes are INVALID_ARGUMENT, a fault INTERNAL with a reference, never its text."""

    def __init__(self, boundary: Boundary) -> None:
        self._boundary = boundary

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return self._boundary.guard(handler, handler_call_details.method, check=False)


def _describe(error: BaseException) -> str:
    """The error's type, and for a database error its SQLSTATE and SQL, without values or the driver's text."""
    outage = isinstance(error, StoreUnavailable) and error.__cause__ is not None
    cause = error.__cause__ if outage and error.__cause__ is not None else error
    described = type(cause).__name__
    orig = getattr(cause, "orig", None)
    if orig is not None:
        described += f" ({type(orig).__module__}.{type(orig).__name__}"
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        described += f" {sqlstate})" if sqlstate else ")"
        if outage:  # a connection failure's text holds no one's data: where the database is, and why it failed
            described += f" {' '.join(str(orig).split())[:300]}"
    statement = getattr(cause, "statement", None)
    if statement:
        described += f": {' '.join(str(statement).split())[:500]}"
    elif orig is None:  # not from the database: a bug of the node, whose own text is for its operator
        described += f": {str(cause)[:300]}"
    return described
