"""gRPC server metrics, named as gRPC's own Prometheus conventions name them (go-grpc-prometheus): calls
handled by service, method and status code, and how long they took. A server interceptor, placed first so
that it also counts the calls the authentication interceptor refuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import grpc
from grpc import aio
from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["GrpcServerMetrics"]

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
_LABELS = ("grpc_type", "grpc_service", "grpc_method")
# Seconds: from a fast read (a millisecond) to a large intake batch or a slow peer.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GrpcServerMetrics(aio.ServerInterceptor):
    """One instance per node, shared by the integrator API's server and the exchange server."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by status code.",
            [*_LABELS, "grpc_code"],
            registry=registry,
        )
        self._seconds = Histogram(
            "grpc_server_handling_seconds",
            "How long the server took to complete an RPC, whatever its status code.",
            _LABELS,
            buckets=_BUCKETS,
            registry=registry,
        )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")
        return self._wrap(handler, service, method)

    @contextmanager
    def _measured(self, labels: tuple[str, str, str], context: aio.ServicerContext[Any, Any]) -> Iterator[None]:
        """Time the call in the block and count it under the code it ends with."""
        started, code = time.perf_counter(), grpc.StatusCode.UNKNOWN
        try:
            yield
            code = _code(context, grpc.StatusCode.OK)
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = _code(context, grpc.StatusCode.UNKNOWN)
            raise
        finally:
            self._seconds.labels(*labels).observe(time.perf_counter() - started)
            self._handled.labels(*labels, code.name).inc()

    def _wrap(self, handler: Any, service: str, method: str) -> Handler:
        unary_request = not handler.request_streaming
        if handler.response_streaming:
            kind = "server_stream" if unary_request else "bidi_stream"
            streaming: Any = handler.unary_stream or handler.stream_stream
            labels = (kind, service, method)

            async def stream(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                with self._measured(labels, context):
                    async for response in streaming(request, context):
                        yield response

            make = grpc.unary_stream_rpc_method_handler if unary_request else grpc.stream_stream_rpc_method_handler
            return make(stream, handler.request_deserializer, handler.response_serializer)
        kind = "unary" if unary_request else "client_stream"
        single: Any = handler.unary_unary or handler.stream_unary
        labels = (kind, service, method)

        async def unary(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            with self._measured(labels, context):
                return await single(request, context)

        make = grpc.unary_unary_rpc_method_handler if unary_request else grpc.stream_unary_rpc_method_handler
        return make(unary, handler.request_deserializer, handler.response_serializer)


def _code(context: aio.ServicerContext[Any, Any], default: grpc.StatusCode) -> grpc.StatusCode:
    """The code the call ends with: what the servicer set or aborted with, else `default` (OK when it returned,
    UNKNOWN when it raised, as gRPC answers an exception it was not told the code of)."""
    code: Any = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):
        return next((c for c in grpc.StatusCode if c.value[0] == code), default)
    return default
