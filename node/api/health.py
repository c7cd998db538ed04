"""gRPC health of the node, per service, following what it depends on:
- every service, and the server as a whole (""), is NOT_SERVING while the store is unreachable: a call that
  finds the database down turns them so, and so does the probe that asks the database every few seconds
  (an idle node notices too); the probe turns them SERVING again as soon as the database answers;
- the exchange service (with an [exchange] section) is also NOT_SERVING while the trusted roster has expired
  (the node then accepts and sends nothing until a newer one is applied); the integrator services stay SERVING.
Health/List is served too (the stock asyncio servicer leaves it unimplemented)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from grpc import aio
from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio

__all__ = ["NodeHealth", "RosterWatch"]

_log = structlog.get_logger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
RosterWatch = tuple[str, Callable[[], bool]]
"""The exchange's service name and a check that tells whether the trusted roster has expired."""


class NodeHealth(health_aio.HealthServicer):  # type: ignore[misc]
    """`probe` is an async call that returns when the store answers and raises when it does not. With
    `exchange`, the roster check runs every `probe_seconds` too."""

    def __init__(
        self,
        services: Iterable[str],
        probe: Callable[[], Awaitable[None]],
        probe_seconds: float = 2.0,
        *,
        exchange: RosterWatch | None = None,
    ) -> None:
        super().__init__()
        self._services = ["", *services]
        self._probe = probe
        self._probe_seconds = probe_seconds
        self._exchange = exchange
        self._store_up = True
        self._roster_expired = False
        self._probing: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._liveness: asyncio.Task[None] | None = None

    async def serving(self) -> None:
        loop = asyncio.get_running_loop()
        if self._exchange is not None:
            self._roster_expired = self._exchange[1]()
            self._watching = loop.create_task(self._watch_roster())
        self._liveness = loop.create_task(self._watch_store())
        await self._apply()

    def store_unavailable(self) -> None:
        """A call found the store unreachable (runs on the event loop): NOT_SERVING until a probe succeeds."""
        if self._probing is None or self._probing.done():
            self._probing = asyncio.get_running_loop().create_task(self._recover())

    async def stop(self) -> None:
        for task in (self._probing, self._watching, self._liveness):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def List(self, request: health_pb2.HealthListRequest, context: aio.ServicerContext[Any, Any]) -> Any:
        return health_pb2.HealthListResponse(
            statuses={name: health_pb2.HealthCheckResponse(status=s) for name, s in self._server_status.items()}
        )

    async def _recover(self) -> None:
        _log.warning("health.not_serving", cause="store unavailable")
        self._store_up = False
        await self._apply()
        while True:
            await asyncio.sleep(self._probe_seconds)
            try:
                await self._probe()
            except Exception:  # still down: the next probe tries again
                _log.debug("health.probe_failed")
            else:
                self._store_up = True
                await self._apply()
                _log.info("health.serving", cause="store answers again")
                return

    async def _watch_store(self) -> None:
        """While the store is up, ask it every `probe_seconds`: a database gone while no call came is noticed."""
        while True:
            await asyncio.sleep(self._probe_seconds)
            if not self._store_up:
                continue  # _recover probes it
            try:
                await self._probe()
            except Exception:  # unreachable (or failing): NOT_SERVING until it answers again
                self.store_unavailable()

    async def _watch_roster(self) -> None:
        assert self._exchange is not None
        service, expired = self._exchange
        while True:
            await asyncio.sleep(self._probe_seconds)
            now_expired = expired()
            if now_expired != self._roster_expired:
                self._roster_expired = now_expired
                if now_expired:
                    _log.warning("health.not_serving", service=service, cause="the trusted roster has expired")
                else:
                    _log.info("health.serving", service=service, cause="a current roster is trusted again")
                await self._apply()

    async def _apply(self) -> None:
        up = SERVING if self._store_up else NOT_SERVING
        for name in self._services:
            await self.set(name, up)
        if self._exchange is not None:
            exchanging = self._store_up and not self._roster_expired
            await self.set(self._exchange[0], SERVING if exchanging else NOT_SERVING)
