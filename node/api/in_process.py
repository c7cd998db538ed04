"""The integrator API without sockets: an in-process server that holds the same servicers behind the same
interceptors (authentication, the error boundary), and a channel for the generated stubs that calls them.

Requests and responses go through the stubs' serializers and the handlers' deserializers, so a call sees the
same protobuf encoding, validation, authorisation and error statuses as over gRPC; a refusal reaches the
caller as the `grpc.aio.AioRpcError` a socket would give. The simulator's deterministic mode uses it, so
that its case systems drive the real API on virtual time.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import grpc
from grpc import aio

__all__ = ["InProcessChannel", "InProcessServer"]

Metadata = tuple[tuple[str, str], ...]


class _CallDetails(grpc.HandlerCallDetails):
    def __init__(self, method: str, metadata: Metadata) -> None:
        self.method = method
        self.invocation_metadata = metadata


class _Aborted(aio.AbortError):
    def __init__(self, status: grpc.Status) -> None:
        super().__init__(status.details)
        self.status = status


class _Context:
    """The part of grpc.aio.ServicerContext the servicers and the boundary use."""

    def __init__(self, metadata: Metadata) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        """Every in-process caller is one source to the authentication throttle."""
        return "in-process"

    async def abort_with_status(self, status: grpc.Status) -> None:
        raise _Aborted(status)

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Metadata = ()) -> None:
        raise _Aborted(_Status(code, details, trailing_metadata))

    async def write(self, _message: Any) -> None:
        raise NotImplementedError("context.write streams are served over gRPC only")


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Metadata) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def _error(status: grpc.Status) -> aio.AioRpcError:
    return aio.AioRpcError(
        status.code, aio.Metadata(), aio.Metadata(*(status.trailing_metadata or ())), details=status.details
    )


def _unavailable(details: str) -> aio.AioRpcError:
    return aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, aio.Metadata(), aio.Metadata(), details=details)


class InProcessServer:
    """Stands in for grpc.aio.Server where `add_*Servicer_to_server` registers servicers."""

    def __init__(self, interceptors: Sequence[aio.ServerInterceptor] = ()) -> None:
        self._interceptors = list(interceptors)
        self._generic: list[grpc.GenericRpcHandler] = []
        self._streams: set[asyncio.Task[None]] = set()
        self._resolved: dict[tuple[str, Metadata], Any] = {}  # (method, metadata) -> the guarded handler
        self.closed = False

    def close(self) -> None:
        """The node stopped: new calls fail UNAVAILABLE and streams under way end so, as a closed connection
        would end them."""
        self.closed = True
        for stream in list(self._streams):
            stream.cancel()

    def serve_stream(self, stream: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a stream's handler as a task of its own, ended by `close`."""
        task = asyncio.create_task(stream)
        self._streams.add(task)
        task.add_done_callback(self._streams.discard)
        return task

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._generic.extend(handlers)
        self._resolved.clear()

    async def resolve(self, method: str, metadata: Metadata) -> Any:
        """`handler` for a call of `method` with `metadata`, resolved once per pair: what the interceptors
        build holds no state of one call (the authentication runs inside it, at every call)."""
        key = (method, metadata)
        found = self._resolved.get(key)
        if found is None:
            found = await self.handler(_CallDetails(method, metadata))
            if found is not None:
                self._resolved[key] = found
        return found

    def add_registered_method_handlers(self, _service: str, _handlers: dict[str, Any]) -> None:
        """The generic handlers registered alongside already serve these methods."""

    async def handler(self, details: grpc.HandlerCallDetails, index: int = 0) -> Any:
        """The method's handler, through every interceptor in order, as grpc.aio's server resolves it."""
        if index < len(self._interceptors):
            return await self._interceptors[index].intercept_service(
                lambda d: self.handler(d, index + 1),
                details,
            )
        for generic in self._generic:
            found = generic.service(details)
            if found is not None:
                return found
        return None


class InProcessChannel:
    """Stands in for grpc.aio.Channel under the generated stubs. `server` gives the server to call, or None
    while the node is down (calls then fail UNAVAILABLE, as a refused connection would)."""

    def __init__(self, server: Callable[[], InProcessServer | None], metadata: Metadata = ()) -> None:
        self._server = server
        self._metadata = metadata

    async def _resolve(self, method: str) -> tuple[InProcessServer, Any]:
        server = self._server()
        if server is None or server.closed:
            raise _unavailable("the node is not running")
        handler = await server.resolve(method, self._metadata)
        if handler is None:
            raise aio.AioRpcError(grpc.StatusCode.UNIMPLEMENTED, aio.Metadata(), aio.Metadata(), details=method)
        return server, handler

    def unary_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes],
        response_deserializer: Callable[[bytes], Any],
        **_: Any,
    ) -> Callable[..., Any]:
        async def serve(request: Any) -> Any:
            _, handler = await self._resolve(method)
            try:
                response = await handler.unary_unary(
                    handler.request_deserializer(request_serializer(request)), _Context(self._metadata)
                )
            except _Aborted as aborted:
                raise _error(aborted.status) from None
            return response_deserializer(handler.response_serializer(response))

        async def call(request: Any, **_options: Any) -> Any:
            # A context of its own, as a server's call has: the caller's principal never leaks into the client.
            return await asyncio.create_task(serve(request), context=contextvars.copy_context())

        return call

    def unary_stream(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes],
        response_deserializer: Callable[[bytes], Any],
        **_: Any,
    ) -> Callable[..., AsyncIterator[Any]]:
        async def call(request: Any, **_options: Any) -> AsyncIterator[Any]:
            server, handler = await self._resolve(method)
            queue: asyncio.Queue[tuple[Any, Exception | None]] = asyncio.Queue()
            decoded = handler.request_deserializer(request_serializer(request))

            async def pump() -> None:
                try:
                    async for response in handler.unary_stream(decoded, _Context(self._metadata)):
                        queue.put_nowait((handler.response_serializer(response), None))
                    queue.put_nowait((None, None))
                except _Aborted as aborted:
                    queue.put_nowait((None, _error(aborted.status)))
                except asyncio.CancelledError:
                    queue.put_nowait((None, _unavailable("the node stopped")))
                    raise

            task = server.serve_stream(pump())
            try:
                while True:
                    raw, error = await queue.get()
                    if error is not None:
                        raise error
                    if raw is None:
                        return
                    yield response_deserializer(raw)
            finally:
                task.cancel()

        return call

    async def close(self) -> None:
        """Nothing to close: no connection was opened."""
