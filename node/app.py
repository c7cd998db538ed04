"""The composition root: one function builds a node from its config. The CLI, the tests, the demo and the
simulator all build nodes here, so there is one copy of the wiring."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc
import structlog
from google.protobuf.message import DecodeError
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Engine

from node.access import AccessService
from node.api.auth import AuthInterceptor
from node.api.boundary import Boundary
from node.api.health import NodeHealth
from node.api.in_process import InProcessServer
from node.api.servicers import API_SERVICES, Backend, EventNotifier, add_servicers
from node.cases.model import Principal, Role
from node.cases.service import CaseService, CaseSettings
from node.clock import Clock, LoopClock, SystemClock
from node.config import ExchangeConfig, NodeConfig
from node.crypto.keystore import KeyStore, KeyStoreError
from node.crypto.roster import PinnedAuthority, RosterError
from node.errors import InvalidArgument
from node.exchange.delivery import Transport
from node.exchange.node_exchange import NodeExchange
from node.exchange.ports import PeerState
from node.exchange.rate_limit import RateLimit
from node.exchange.roster_state import RosterState
from node.grpc_ports import EXCLUSIVE_PORT, bind_port
from node.hashes import PdqIndex
from node.hosting import DnsAddressResolver, GeoIpResolver, HostingResolver, MmdbResolver, StaticResolver
from node.metrics.endpoint import NodeMetrics
from node.metrics.store_gauges import RosterView
from node.scheduler import LoopScheduler, NodeScheduler
from node.store.engine import create_store_engine, migrate
from node.store.sql_store import SqlStore

__all__ = ["Node", "build_node", "build_resolver", "roster_state", "verify_audit_log"]

_log = structlog.get_logger(__name__)

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
    server: aio.Server | None = None
    health: NodeHealth | None = None
    port: int = 0
    service_names: list[str] = field(default_factory=list)
    # Without sockets (the simulator's deterministic mode): the integrator API is served in-process here.
    in_process: InProcessServer | None = None

    async def start(self, *, serve: bool = True, idle_poll_seconds: float | None = None) -> int:
        """Bind the gRPC server and start the scheduler. Returns the bound port.

        With serve=False no socket is opened: the integrator API is served through `in_process` (same
        interceptors, servicers and errors), and the exchange sends through the transport build_node was
        given; nothing serves metrics. Returns 0. `idle_poll_seconds` (default: 1 s for event streams, 0.2 s
        for the exchange) is how often idle loops look for work that no commit in this process announced:
        under virtual time, where every writer is in this process, the simulator sets it long."""
        if serve and self.metrics is not None and self.config.metrics is not None:
            self.metrics.serve(self.config.metrics.listen)  # first: a port in use fails before anything runs
        loop = asyncio.get_running_loop()
        self.notifier.bind(loop)
        backend = Backend(self.cases, self.access, self.executor, self.notifier)
        if not serve:
            self.in_process = InProcessServer([AuthInterceptor(self.access, backend.run, Boundary())])
            polls = {} if idle_poll_seconds is None else {"event_poll_seconds": idle_poll_seconds}
            self.service_names = add_servicers(self.in_process, backend, **polls)  # type: ignore[arg-type]
            await self._start_jobs(backend, idle_poll_seconds)
            _log.info("node.started", node_id=self.config.node_id, port=0, in_process=True)
            return 0
        health = NodeHealth(API_SERVICES, functools.partial(backend.run, self.store.ping))
        self.health = health
        counted: list[aio.ServerInterceptor] = [self.metrics.grpc] if self.metrics is not None else []
        server = aio.server(
            interceptors=[*counted, AuthInterceptor(self.access, backend.run, Boundary(health.store_unavailable))],
            options=[
                ("grpc.max_receive_message_length", self.config.max_message_bytes),
                ("grpc.max_send_message_length", 16 * 1024 * 1024),
                EXCLUSIVE_PORT,
            ],
        )
        self.service_names = add_servicers(server, backend)
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        await health.serving()
        reflection.enable_server_reflection(
            [
                *self.service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        self.port = bind_port(server, self.config.listen, "node.listen", self._tls_credentials())
        await server.start()
        self.server = server
        await self._start_jobs(backend, idle_poll_seconds)
        _log.info("node.started", node_id=self.config.node_id, port=self.port)
        return self.port

    async def _start_jobs(self, backend: Backend, idle_poll_seconds: float | None) -> None:
        """The exchange's loops and the periodic jobs."""
        loop = asyncio.get_running_loop()

        async def check_deadlines() -> None:
            await loop.run_in_executor(self.executor, self.cases.escalate_overdue)

        async def purge_closed() -> None:
            await loop.run_in_executor(self.executor, self.cases.purge_closed, self.config.retention)

        if self.exchange is not None:
            if idle_poll_seconds is None:
                await self.exchange.start(backend.run)
            else:
                await self.exchange.start(backend.run, idle_poll_seconds)
            self.notifier.subscribe(self.exchange.wake)
            exchange, settings = self.exchange, self.config.exchange
            assert settings is not None

            async def check_roster() -> None:
                await loop.run_in_executor(
                    self.executor, exchange.check_roster, Path(settings.roster_file), settings.roster_expiry_warning
                )

            self.scheduler.every(settings.roster_check_seconds, "roster-upkeep", check_roster)

        self.scheduler.every(self.config.deadline_check_seconds, "removal-deadlines", check_deadlines)
        self.scheduler.every(self.config.retention_check_seconds, "retention-purge", purge_closed)
        self.scheduler.start()

    def _tls_credentials(self) -> grpc.ServerCredentials | None:
        if not self.config.tls_cert:
            return None
        return grpc.ssl_server_credentials([_read_key_pair(self.config.tls_key, self.config.tls_cert)])

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


def build_resolver(config: NodeConfig) -> HostingResolver:
    hosting = config.hosting
    if hosting.resolver == "static":
        return StaticResolver.from_table(hosting.static)
    if hosting.resolver == "mmdb":
        return MmdbResolver(
            DnsAddressResolver(),
            Path(hosting.mmdb_path),
            Path(hosting.mmdb_asn_path) if hosting.mmdb_asn_path else None,
        )
    return GeoIpResolver(DnsAddressResolver())


def build_node(
    config: NodeConfig,
    *,
    clock: Clock | None = None,
    resolver: HostingResolver | None = None,
    executor: Executor | None = None,
    scheduler: NodeScheduler | LoopScheduler | None = None,
    transport: Transport | None = None,
) -> Node:
    """Build every component of a node from its config; migrates the database to the current schema.

    The seams the simulator's deterministic mode uses (defaults: what a real node runs): `executor` runs the
    database work (node.aio.InlineExecutor: on the loop's thread), `scheduler` the periodic jobs
    (LoopScheduler: on the loop's own time), `transport` carries the exchange's deliveries
    (node.exchange.memory.InMemoryTransport: no sockets; start the node with serve=False)."""
    clock = clock or SystemClock()
    engine = create_store_engine(config.effective_database_url())
    migrate(engine)
    store = SqlStore(engine)
    pdq = PdqIndex(config.pdq_threshold)
    batch_digests: list[bytes] = []
    batch_refs: list[int] = []
    for ref, digest in store.iter_pdq_hashes():
        batch_digests.append(digest)
        batch_refs.append(ref)
    if batch_refs:
        pdq.add_many(batch_digests, batch_refs)
    notifier = EventNotifier()
    cases = CaseService(
        settings=CaseSettings(
            node_id=config.node_id,
            jurisdiction=config.jurisdiction,
            removal_deadline=config.removal_deadline,
            max_urls_per_report=config.max_urls_per_report,
            known_hashes=config.known_hashes,
        ),
        store=store,
        clock=clock,
        resolver=resolver or build_resolver(config),
        membership=config.membership(),
        pdq_index=pdq,
        on_commit=notifier.notify,
    )
    exchange: NodeExchange | None = None

    def trusted_roster() -> RosterView:
        assert exchange is not None  # read at scrape time, once the node is built
        return exchange.roster.membership

    metrics = None
    if config.metrics is not None:
        metrics = NodeMetrics(store, clock, trusted_roster if config.exchange is not None else None)
    if config.exchange is not None:
        exchange = _build_exchange(config, clock, store, cases, metrics, transport)
    return Node(
        config=config,
        clock=clock,
        engine=engine,
        store=store,
        cases=cases,
        access=AccessService(store, clock, clock.monotonic if isinstance(clock, LoopClock) else time.monotonic),
        notifier=notifier,
        executor=executor or ThreadPoolExecutor(config.db_threads, thread_name_prefix=f"db-{config.node_id}"),
        scheduler=scheduler or NodeScheduler(scale=float(getattr(clock, "scale", 1.0))),
        exchange=exchange,
        metrics=metrics,
    )


def _build_exchange(
    config: NodeConfig,
    clock: Clock,
    store: SqlStore,
    cases: CaseService,
    metrics: NodeMetrics | None,
    transport: Transport | None,
) -> NodeExchange:
    """Keys from the key directory, the trusted roster (bootstrapped from the shipped file), and membership
    from that roster from now on."""
    settings = config.exchange
    assert settings is not None
    passphrase = os.environ.get("HX_KEY_PASSPHRASE", "").encode() or None
    try:
        keys = KeyStore(Path(settings.key_dir), passphrase).load_or_create(
            config.node_id, clock.now(), post_quantum=settings.post_quantum
        )
    except (KeyStoreError, OSError) as error:
        raise InvalidArgument(str(error), field="exchange.key_dir") from None
    roster = _trusted_roster(settings, store, clock)
    cases.set_membership(roster.membership)
    roster.on_change(cases.set_membership)
    return NodeExchange(
        node_id=config.node_id,
        listen=settings.listen,
        keys=keys,
        roster=roster,
        cases=cases,
        store=store,
        clock=clock,
        proxy=settings.proxy,
        max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
        rate_limit=RateLimit(settings.rate_limit_records_per_second, settings.rate_limit_bytes_per_second),
        server_limits=settings.server_limits,
        roster_catch_up_interval=timedelta(seconds=settings.roster_catch_up_seconds),
        observer=metrics.deliveries if metrics is not None else None,
        interceptors=[metrics.grpc] if metrics is not None else [],
        transport=transport,
    )


def _trusted_roster(settings: ExchangeConfig, store: SqlStore, clock: Clock) -> RosterState:
    """The roster the node trusts: the stored chain, bootstrapped from the shipped roster file on first start
    (a newer file than the stored chain is installed as `roster apply` would)."""
    roster = RosterState(store, clock)
    pinned = PinnedAuthority(frozenset(settings.authority_key_ids), settings.authority_threshold)
    try:
        roster.bootstrap(Path(settings.roster_file).read_bytes(), pinned if settings.authority_key_ids else None)
    except OSError as error:
        raise InvalidArgument(f"cannot read the roster: {error}", field="exchange.roster_file") from None
    except (RosterError, DecodeError) as error:
        pin = isinstance(error, RosterError) and error.reason == "NOT_PINNED"
        where = "exchange.authority_key_ids" if pin else "exchange.roster_file"
        raise InvalidArgument(f"the roster is not trusted: {error}", field=where) from None
    return roster


@contextmanager
def roster_state(config: NodeConfig, clock: Clock | None = None) -> Iterator[RosterState]:
    """The trusted roster of `config`'s store, for the operator's roster commands, whether the node runs or
    not: what they install there, a running node adopts on its next roster check."""
    if config.exchange is None:
        raise InvalidArgument("the config has no [exchange] section", field="exchange")
    engine = create_store_engine(config.effective_database_url())
    try:
        migrate(engine)
        yield _trusted_roster(config.exchange, SqlStore(engine), clock or SystemClock())
    finally:
        engine.dispose()


def verify_audit_log(config: NodeConfig) -> int | None:
    """The sequence number of the first audit entry of `config`'s store that does not verify, or None."""
    engine = create_store_engine(config.effective_database_url())
    try:
        return SqlStore(engine).verify_audit_chain()
    finally:
        engine.dispose()


def read_peer_states(config: NodeConfig) -> list[PeerState]:
    """What `config`'s store knows of each peer (backoff, last error, clock skew), for the operator."""
    engine = create_store_engine(config.effective_database_url())
    try:
        migrate(engine)  # as `serve` would: the columns read may be new
        with SqlStore(engine).transaction(read_only=True) as tx:
            return tx.peer_states()
    finally:
        engine.dispose()


def freeze_startup_heap() -> None:
    """Collect once, then move every object that exists now (modules, engines, servers, keys) into the
    garbage collector's permanent generation. Full collections then scan only what was built since, so they
    pause the event loop for far less: with the simulator's 46 nodes in one process, from 0.3-0.5 s to about
    0.1 s. Call it once the process has started serving; `gc.unfreeze()` undoes it."""
    gc.collect()
    gc.freeze()
