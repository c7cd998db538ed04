"""gRPC health of the integrator API, following the store: when a call finds the database unreachable every
service turns NOT_SERVING, and a probe that asks the database every few seconds turns them SERVING again as
soon as it answers. Health/List is served too (the stock asyncio servicer leaves it unimplemented)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from grpc import aio
from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio

__all__ = ["NodeHealth"]

_log = structlog.get_logger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class NodeHealth(health_aio.HealthServicer):  # type: ignore[misc]
    """`probe` is an async call that returns when the store answers and raises when it does not."""

    def __init__(
        self, services: Iterable[str], probe: Callable[[], Awaitable[None]], probe_seconds: float = 2.0
    ) -> None:
        super().__init__()
        self._services = ["", *services]
        self._probe = probe
        self._probe_seconds = probe_seconds
        self._probing: asyncio.Task[None] | None = None

    async def serving(self) -> None:
        await self._set_all(SERVING)

    def store_unavailable(self) -> None:
        """A call found the store unreachable (runs on the event loop): NOT_SERVING until a probe succeeds."""
        if self._probing is None or self._probing.done():
            self._probing = asyncio.get_running_loop().create_task(self._recover())

    async def stop(self) -> None:
        if self._probing is not None:
            self._probing.cancel()
            await asyncio.gather(self._probing, return_exceptions=True)

    async def List(self, request: health_pb2.HealthListRequest, context: aio.ServicerContext[Any, Any]) -> Any:
        return health_pb2.HealthListResponse(
            statuses={name: health_pb2.HealthCheckResponse(status=s) for name, s in self._server_status.items()}
        )

    async def _recover(self) -> None:
        _log.warning("health.not_serving", cause="store unavailable")
        await self._set_all(NOT_SERVING)
        while True:
            await asyncio.sleep(self._probe_seconds)
            try:
                await self._probe()
            except Exception:  # still down: the next probe tries again
                _log.debug("health.probe_failed")
            else:
                await self._set_all(SERVING)
                _log.info("health.serving", cause="store answers again")
                return

    async def _set_all(self, status: Any) -> None:
        for name in self._services:
            await self.set(name, status)
