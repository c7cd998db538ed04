"""The running node: the components `build_node` wired, serving the integrator API and the exchange, and the
periodic jobs, until it stops."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc
import structlog
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine

from node.access import AccessService
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as exchange_pb
from node.api.auth import AuthInterceptor
from node.api.auth_guard import AuthGuard
from node.api.boundary import Boundary
from node.api.health import NodeHealth
from node.api.in_process import InProcessServer
from node.api.reflection import enable_reflection
from node.api.servicers import API_SERVICES, Backend, EventNotifier, add_servicers
from node.api.streams import CHECK_SECONDS, OpenStreams, StreamLimits
from node.app.audit import sign_audit_checkpoint
from node.cases.model import Principal, Role
from node.cases.service import CaseService
from node.clock import Clock, LoopClock
from node.config import NodeConfig
from node.errors import InvalidArgument, StoreUnavailable
from node.exchange.admin import FederationAdmin, RosterSummary, roster_summary
from node.exchange.node_exchange import NodeExchange
from node.grpc_ports import EXCLUSIVE_PORT, bind_port
from node.metrics.endpoint import NodeMetrics
from node.notices.dispatcher import NoticeDispatcher
from node.scheduler import LoopScheduler, NodeScheduler
from node.store.sql_store import SqlStore

__all__ = ["EXCHANGE_SERVICE", "SYSTEM", "Node"]

_log = structlog.get_logger(__name__)

EXCHANGE_SERVICE = exchange_pb.DESCRIPTOR.services_by_name["ExchangeService"].full_name
_OVERSIZE_FACTOR = 4
"""gRPC itself reads requests up to this many times max_message_bytes; the boundary refuses, with details, any
over max_message_bytes."""
_IN_PROCESS_CHECK = 86_400.0  # seconds: how often an idle in-process event stream re-checks its token

SYSTEM = Principal("system", "system", frozenset(Role))


@dataclass
class Node:
    """A built node. `start()` serves the integrator API; the services can also be called directly."""

    config: NodeConfig
    clock: Clock
    engine: Engine
    store: SqlStore
    cases: CaseService
    access: AccessService
    notifier: EventNotifier
    executor: Executor
    scheduler: NodeScheduler | LoopScheduler
    exchange: NodeExchange | None = None
    metrics: NodeMetrics | None = None  # with a [metrics] section
    notices: NoticeDispatcher | None = None  # with a [notices] section
    server: aio.Server | None = None
    health: NodeHealth | None = None
    port: int = 0
    service_names: list[str] = field(default_factory=list)
    health_probe_seconds: float = 2.0  # how often health asks a store that was down, and checks the roster
    # Without sockets (the simulator's deterministic mode): the integrator API is served in-process here.
    in_process: InProcessServer | None = None

    async def start(
        self, *, serve: bool = True, idle_poll_seconds: float | None = None, sole_writer: bool = False
    ) -> int:
        """Bind the gRPC server and start the scheduler. Returns the bound port.

        With serve=False no socket is opened: the integrator API is served through `in_process` (same
        interceptors, servicers and errors), and the exchange sends through the transport build_node was
        given; nothing serves metrics. Returns 0. `idle_poll_seconds` (default: 1 s for event streams, 0.2 s
        for the exchange) is how often idle loops look for work that no commit in this process announced:
        under virtual time, where every writer is in this process, the simulator sets it long. `sole_writer`:
        no other process writes this database (the simulator's deterministic mode), so no job watches it for
        other writers' events (the event watermark) or for roster versions `roster apply` stored."""
        if serve and self.metrics is not None and self.config.metrics is not None:
            self.metrics.serve(self.config.metrics.listen)  # first: a port in use fails before anything runs
        loop = asyncio.get_running_loop()
        self.notifier.bind(loop)
        # In process (the simulator's deterministic mode) there is no connection to keep alive or recycle: the
        # event streams neither send heartbeats nor end at an age.
        max_age = self.config.stream_max_age_seconds if serve else math.inf
        heartbeat = self.config.stream_heartbeat_seconds if serve else math.inf
        streams = OpenStreams(StreamLimits(self.config.streams_per_token, max_age))
        backend = Backend(self.cases, self.access, self.executor, self.notifier, self.federation_admin(), streams)
        guard = AuthGuard(
            self.config.auth_failure_burst,
            self.config.auth_failures_per_minute,
            self.metrics.auth.failed if self.metrics is not None else None,
            monotonic=self.clock.monotonic if isinstance(self.clock, LoopClock) else time.monotonic,
        )
        polls = {} if idle_poll_seconds is None else {"event_poll_seconds": idle_poll_seconds}
        if not serve:
            boundary = Boundary(max_message_bytes=self.config.max_message_bytes)
            self.in_process = InProcessServer([AuthInterceptor(self.access, backend.run, boundary, guard)])
            # An in-process stream's own timer finds no events (every commit here, and the event watermark for
            # any other writer, wakes it) and sends no heartbeat: it only re-checks the token, which the stream
            # does at every wake anyway. Daily is enough (an idle hour of 55 nodes cost 55 token reads).
            polls = {"event_poll_seconds": max(polls.get("event_poll_seconds", CHECK_SECONDS), _IN_PROCESS_CHECK)}
            self.service_names = add_servicers(self.in_process, backend, heartbeat, **polls)  # type: ignore[arg-type]
            await self._start_jobs(backend, idle_poll_seconds, sole_writer)
            _log.info("node.started", node_id=self.config.node_id, port=0, in_process=True)
            return 0
        exchange = self.exchange
        health = NodeHealth(
            API_SERVICES,
            functools.partial(backend.run, self.store.ping),
            self.health_probe_seconds,
            exchange=None if exchange is None else (EXCHANGE_SERVICE, exchange.roster_expired),
        )
        self.health = health
        counted: list[aio.ServerInterceptor] = [self.metrics.grpc] if self.metrics is not None else []
        server = aio.server(
            interceptors=[
                *counted,
                AuthInterceptor(
                    self.access,
                    backend.run,
                    Boundary(health.store_unavailable, self.config.max_message_bytes),
                    guard,
                ),
            ],
            options=[
                # The boundary refuses a request over max_message_bytes with google.rpc details; gRPC refuses
                # one over four times that itself, before reading it, without details.
                ("grpc.max_receive_message_length", _OVERSIZE_FACTOR * self.config.max_message_bytes),
                ("grpc.max_send_message_length", 16 * 1024 * 1024),
                # Clients' HTTP/2 keepalive pings are welcome down to one per min_client_ping_seconds, during a
                # call or not (gRPC's default, 5 minutes, ends a stream pinged every 10 s with GOAWAY).
                ("grpc.http2.min_ping_interval_without_data_ms", int(self.config.min_client_ping_seconds * 1000)),
                ("grpc.keepalive_permit_without_calls", 1),
                EXCLUSIVE_PORT,
            ],
        )
        self.service_names = add_servicers(server, backend, self.config.stream_heartbeat_seconds, **polls)
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        await health.serving()
        enable_reflection(server, [*self.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name])
        self.port = bind_port(server, self.config.listen, "node.listen", self._tls_credentials())
        await server.start()
        self.server = server
        await self._start_jobs(backend, idle_poll_seconds, sole_writer)
        _log.info("node.started", node_id=self.config.node_id, port=self.port)
        return self.port

    async def _start_jobs(self, backend: Backend, idle_poll_seconds: float | None, sole_writer: bool) -> None:
        """The exchange's loops and the periodic jobs."""
        loop = asyncio.get_running_loop()

        async def check_deadlines() -> None:
            escalated = await loop.run_in_executor(self.executor, self.cases.escalate_overdue)
            if self.metrics is not None:
                self.metrics.upkeep.escalated(len(escalated))

        async def purge_closed() -> None:
            await loop.run_in_executor(self.executor, self.cases.purge_closed, self.config.retention)

        if self.exchange is not None:
            if idle_poll_seconds is None:
                await self.exchange.start(backend.run)
            else:
                await self.exchange.start(backend.run, idle_poll_seconds)
            self.notifier.subscribe(self.exchange.committed)
            exchange, settings = self.exchange, self.config.exchange
            assert settings is not None

            async def check_roster() -> None:
                await loop.run_in_executor(
                    self.executor,
                    functools.partial(exchange.check_roster, stored_elsewhere=not sole_writer),
                    Path(settings.roster_file),
                    settings.roster_expiry_warning,
                    settings.roster_url,
                    settings.roster_url_ca,
                )

            self.scheduler.every(settings.roster_check_seconds, "roster-upkeep", check_roster)

            async def checkpoint_audit() -> None:
                await loop.run_in_executor(
                    self.executor, sign_audit_checkpoint, self.store, self.config.node_id, exchange.keys, self.clock
                )

            self.scheduler.every(settings.audit_checkpoint_seconds, "audit-checkpoint", checkpoint_audit)

            async def reconcile_peers() -> None:
                await exchange.reconcile_all(timedelta(days=settings.reconcile_window_days))

            # A node restored from a backup reconciles with every peer at once (and sends them nothing before).
            restored = bool(exchange.unreconciled)
            self.scheduler.every(settings.reconcile_seconds, "peer-reconciliation", reconcile_peers, now=restored)

        if self.notices is not None and self.config.notices is not None:
            dispatcher = self.notices

            async def dispatch_notices() -> None:
                await dispatcher.run_once(backend.run)

            self.scheduler.every(self.config.notices.poll.total_seconds(), "notice-dispatch", dispatch_notices)

        seen = [await backend.run(self.store.last_event_seq)]

        async def event_watermark() -> None:
            """Wakes the event streams when another node sharing the database has written events."""
            try:
                newest = await backend.run(self.store.last_event_seq)
            except StoreUnavailable:
                return  # health reports the outage; the streams carry on once the store answers
            if newest != seen[0]:
                seen[0] = newest
                self.notifier.notify()

        watermark_seconds = CHECK_SECONDS if idle_poll_seconds is None else idle_poll_seconds
        if not sole_writer:  # else every commit is this process's, and wakes the streams itself
            self.scheduler.every(watermark_seconds, "event-watermark", event_watermark)
        self.scheduler.every(self.config.deadline_check_seconds, "removal-deadlines", check_deadlines)
        self.scheduler.every(self.config.retention_check_seconds, "retention-purge", purge_closed)
        self.scheduler.start()

    def federation_admin(self) -> FederationAdmin:
        """The operator's view of the federation, as the CLI builds it from the same store."""
        exchange = self.exchange
        roster = None
        if exchange is not None:

            def roster() -> RosterSummary:
                return roster_summary(exchange.roster.membership)

        return FederationAdmin(self.config.node_id, self.store, self.clock, roster)

    def _tls_credentials(self) -> grpc.ServerCredentials | None:
        if not self.config.tls_cert:
            return None
        client_ca = self.config.tls_client_ca
        try:
            pair = _read_key_pair(self.config.tls_key, self.config.tls_cert)
            root = Path(client_ca).read_bytes() if client_ca else None
        except OSError as error:
            raise InvalidArgument(
                f"cannot read {error.filename}: {error.strerror}", field=_tls_setting(self.config, error)
            ) from None
        # With a client CA, a client must present a certificate it issued (mutual TLS), as well as its token.
        return grpc.ssl_server_credentials([pair], root_certificates=root, require_client_auth=root is not None)

    async def stop(self, grace: float = 2.0) -> None:
        if self.in_process is not None:
            self.in_process.close()
        await self.scheduler.stop()
        if self.exchange is not None:
            await self.exchange.stop()
        if self.server is not None:
            await self.server.stop(grace)
        if self.health is not None:
            await self.health.stop()
        if self.metrics is not None:
            self.metrics.stop()
        self.executor.shutdown(wait=True)
        self.engine.dispose()
        _log.info("node.stopped", node_id=self.config.node_id)


def _read_key_pair(key_path: str, cert_path: str) -> tuple[bytes, bytes]:
    return Path(key_path).read_bytes(), Path(cert_path).read_bytes()


def _tls_setting(config: NodeConfig, error: OSError) -> str:
    """The setting that names the TLS file `error` is about."""
    for setting, path in (("tls_key", config.tls_key), ("tls_cert", config.tls_cert)):
        if error.filename == path:
            return f"node.{setting}"
    return "node.tls_client_ca"
