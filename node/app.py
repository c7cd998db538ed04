"""The composition root: one function builds a node from its config. The CLI, the tests, the demo and the
simulator all build nodes here, so there is one copy of the wiring."""

from __future__ import annotations

import asyncio
import functools
import gc
import math
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import structlog
from google.protobuf.message import DecodeError
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine

from node.access import AccessService
from node.api._gen.hotline.exchange.v1 import envelope_pb2
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as exchange_pb
from node.api.auth import AuthInterceptor
from node.api.auth_guard import AuthGuard
from node.api.boundary import Boundary, GuardAll
from node.api.health import NodeHealth
from node.api.in_process import InProcessServer
from node.api.reflection import enable_reflection
from node.api.servicers import API_SERVICES, Backend, EventNotifier, add_servicers
from node.api.streams import CHECK_SECONDS, OpenStreams, StreamLimits
from node.cases.model import Principal, Role
from node.cases.service import CaseService, CaseSettings
from node.clock import Clock, LoopClock, SystemClock
from node.config import ExchangeConfig, NodeConfig
from node.crypto.audit import Checkpoint, CheckpointError, load_or_create_audit_key
from node.crypto.keystore import KeyStore, KeyStoreError, NodeKeys
from node.crypto.roster import PinnedAuthority, RosterError
from node.crypto.tls import cert_not_after
from node.errors import DomainError, InvalidArgument, StoreUnavailable
from node.exchange.admin import FederationAdmin, RosterSummary, roster_summary
from node.exchange.delivery import Transport, TransportError
from node.exchange.node_exchange import NodeExchange
from node.exchange.ports import PeerRefusal, PeerState, ReconcileState
from node.exchange.rate_limit import RateLimit
from node.exchange.reconcile import ReconcileOutcome, ReconcileRefused
from node.exchange.roster_state import RosterState
from node.grpc_ports import EXCLUSIVE_PORT, bind_port
from node.hashes import PdqIndex
from node.hosting import DnsAddressResolver, GeoIpResolver, HostingResolver, MmdbResolver, StaticResolver
from node.metrics.endpoint import NodeMetrics
from node.metrics.expiry import CertificateExpiry, KeyExpiry
from node.metrics.store_gauges import RosterView
from node.notices.dispatcher import NoticeDispatcher
from node.notices.planner import NoticePlanner
from node.notices.ports import NoticeChannel
from node.notices.settings import Channel, NoticeSettings
from node.notices.smtp import SmtpChannel
from node.notices.webhook import WebhookChannel
from node.scheduler import LoopScheduler, NodeScheduler
from node.store.backup import backup_sqlite, restore_sqlite
from node.store.engine import create_store_engine, migrate
from node.store.preflight import preflight
from node.store.sql_store import AuditProblem, SqlStore

__all__ = [
    "Node",
    "build_node",
    "build_resolver",
    "export_audit_checkpoint",
    "federation_admin",
    "open_store_engine",
    "operator_store",
    "roster_state",
    "sign_audit_checkpoint",
    "verify_audit_log",
]

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
        other writers' events (the event watermark)."""
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
            self.notifier.subscribe(self.exchange.wake)
            exchange, settings = self.exchange, self.config.exchange
            assert settings is not None

            async def check_roster() -> None:
                await loop.run_in_executor(
                    self.executor,
                    exchange.check_roster,
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


def open_store_engine(config: NodeConfig) -> Engine:
    """The engine of `config`'s database, once it has answered; DatabaseNotReady (missing, unreachable) or
    InvalidArgument (an SQLite file open to other users) with the fix otherwise."""
    engine = create_store_engine(config.effective_database_url())
    try:
        preflight(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


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
    jitter_seed: str | None = None,
) -> Node:
    """Build every component of a node from its config; migrates the database to the current schema.

    The seams the simulator's deterministic mode uses (defaults: what a real node runs): `executor` runs the
    database work (node.aio.InlineExecutor: on the loop's thread), `scheduler` the periodic jobs
    (LoopScheduler: on the loop's own time), `transport` carries the exchange's deliveries
    (node.exchange.memory.InMemoryTransport: no sockets; start the node with serve=False), and `jitter_seed` seeds
    the exchange's retry jitter per peer (a run that repeats from its seed)."""
    clock = clock or SystemClock()
    engine = open_store_engine(config)
    migrate(engine)
    store = SqlStore(engine, audit_key=_audit_key(config))
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
            max_report_age=config.max_report_age,
            known_hashes=config.known_hashes,
            lea_group_may_release=config.lea_group_may_release,
        ),
        store=store,
        clock=clock,
        resolver=resolver or build_resolver(config),
        membership=config.membership(),
        pdq_index=pdq,
        on_commit=notifier.notify,
        notices=NoticePlanner(config.notices) if config.notices is not None else None,
    )
    exchange: NodeExchange | None = None

    def trusted_roster() -> RosterView:
        assert exchange is not None  # read at scrape time, once the node is built
        return exchange.roster.membership

    metrics = None
    if config.metrics is not None:
        with_exchange = config.exchange is not None
        metrics = NodeMetrics(store, clock, trusted_roster if with_exchange else None)
    if config.exchange is not None:
        exchange = _build_exchange(config, clock, store, cases, metrics, transport, jitter_seed)
    if metrics is not None:
        store.observe = metrics.upkeep.transaction
        metrics.watch_expiry(functools.partial(_certificates, config, exchange), functools.partial(_keys, exchange))
    return Node(
        config=config,
        clock=clock,
        engine=engine,
        store=store,
        cases=cases,
        access=AccessService(
            store,
            clock,
            clock.monotonic if isinstance(clock, LoopClock) else None,
            cache_seconds=config.token_cache_seconds,
            last_used_every=timedelta(seconds=config.token_last_used_seconds),
        ),
        notifier=notifier,
        executor=executor or ThreadPoolExecutor(config.db_threads, thread_name_prefix=f"db-{config.node_id}"),
        scheduler=scheduler
        or NodeScheduler(
            scale=float(getattr(clock, "scale", 1.0)), on_run=metrics.upkeep.job_ran if metrics is not None else None
        ),
        exchange=exchange,
        metrics=metrics,
        notices=_notice_dispatcher(config.notices, store, clock, metrics) if config.notices is not None else None,
    )


def _notice_dispatcher(
    settings: NoticeSettings, store: SqlStore, clock: Clock, metrics: NodeMetrics | None
) -> NoticeDispatcher:
    channel: NoticeChannel
    if settings.channel is Channel.SMTP:
        assert settings.smtp is not None  # node.config requires it
        channel = SmtpChannel(settings.smtp, settings)
    else:
        assert settings.webhook is not None
        channel = WebhookChannel(settings.webhook)
    return NoticeDispatcher(store, clock, settings, channel, metrics.notices if metrics is not None else None)


def _certificates(config: NodeConfig, exchange: NodeExchange | None) -> list[CertificateExpiry]:
    """The node's TLS certificates, read at each scrape: the integrator API's file (left out while it cannot be
    read or parsed: replaced mid-way, say) and the exchange's."""
    found = []
    if config.tls_cert:
        with suppress(OSError, ValueError):
            found.append(CertificateExpiry("api", cert_not_after(Path(config.tls_cert).read_bytes())))
    if exchange is not None:
        found.append(CertificateExpiry("exchange", cert_not_after(exchange.keys.tls.cert_pem)))
    return found


def _keys(exchange: NodeExchange | None) -> list[KeyExpiry]:
    return [KeyExpiry(*key) for key in exchange.listed_key_expiries()] if exchange is not None else []


def _build_exchange(
    config: NodeConfig,
    clock: Clock,
    store: SqlStore,
    cases: CaseService,
    metrics: NodeMetrics | None,
    transport: Transport | None,
    jitter_seed: str | None,
) -> NodeExchange:
    """Keys from the key directory, the trusted roster (bootstrapped from the shipped file), and membership
    from that roster from now on."""
    settings = config.exchange
    assert settings is not None

    def load_keys() -> NodeKeys:
        return _node_keys(config, clock)

    keys = load_keys()
    roster = _trusted_roster(settings, store, clock)
    cases.set_membership(roster.membership)
    roster.on_change(cases.set_membership)
    exchange = NodeExchange(
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
        # The error boundary, as the integrator API's: undecodable bytes and faults get canonical codes.
        interceptors=[*([metrics.grpc] if metrics is not None else []), GuardAll(Boundary())],
        load_keys=load_keys,
        transport=transport,
        referral_cadence=settings.referral_cadence,
        jitter_seed=jitter_seed,
    )
    return exchange


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
    engine = open_store_engine(config)
    try:
        migrate(engine)
        yield _trusted_roster(config.exchange, SqlStore(engine), clock or SystemClock())
    finally:
        engine.dispose()


def verify_audit_log(config: NodeConfig, checkpoint_files: Sequence[Path] = ()) -> AuditProblem | None:
    """The first thing wrong with the audit log of `config`'s store (naming the first bad entry), or None:
    its hash chain (keyed entries with the audit key in the key folder), every checkpoint the node signed and
    stored, and the checkpoints in `checkpoint_files` (held outside the node)."""
    outside = []
    for path in checkpoint_files:
        try:
            outside.append(Checkpoint.from_json(path.read_text()))
        except (OSError, UnicodeDecodeError, CheckpointError) as error:
            raise InvalidArgument(f"{path}: {error}", field="--checkpoint") from None
    if outside and config.exchange is None:
        raise InvalidArgument(
            "checkpoints are signed with the exchange keys: the config has no [exchange]", field="exchange"
        )
    engine = open_store_engine(config)
    try:
        migrate(engine)  # (the schema a node of this version keeps; the entries are only read)
        store = SqlStore(engine, audit_key=_audit_key(config))
        with store.transaction(read_only=True) as tx:
            stored = [Checkpoint.from_json(c) for c in tx.audit_checkpoints()]
        trusted: set[str] = set()
        if stored or outside:
            keys = _node_keys(config, SystemClock())
            trusted = {k.key_id for k in (*keys.signing, *keys.retired_signing)}
        return store.audit_problem([*stored, *outside], trusted)
    finally:
        engine.dispose()


def export_audit_checkpoint(config: NodeConfig, clock: Clock | None = None) -> Checkpoint:
    """Sign a checkpoint of the audit log now (stored with the others) and return it, for export."""
    if config.exchange is None:
        raise InvalidArgument(
            "checkpoints are signed with the exchange keys: the config has no [exchange]", field="exchange"
        )
    clock = clock or SystemClock()
    engine = create_store_engine(config.effective_database_url())
    try:
        migrate(engine)
        store = SqlStore(engine, audit_key=_audit_key(config))
        return sign_audit_checkpoint(store, config.node_id, _node_keys(config, clock), clock)
    finally:
        engine.dispose()


def sign_audit_checkpoint(store: SqlStore, node_id: str, keys: NodeKeys, clock: Clock) -> Checkpoint:
    """The audit log's entry count and head hash, signed with the node's Ed25519 key and stored."""
    key = next(k for k in keys.signing if k.algorithm == envelope_pb2.SIGNATURE_ALGORITHM_ED25519)
    with store.transaction() as tx:
        count, head = tx.audit_head()
        now = clock.now()
        checkpoint = Checkpoint.sign(key, node_id=node_id, entry_count=count, head_hash=head, signed_at=now)
        tx.add_audit_checkpoint(entry_count=count, head_hash=head, signed_at=now, checkpoint=checkpoint.to_json())
    _log.info("audit.checkpoint", entries=count)
    return checkpoint


def _audit_key(config: NodeConfig) -> bytes | None:
    """The audit HMAC key in the key folder; a node without [exchange] has none (SHA-256 entries)."""
    if config.exchange is None:
        return None
    try:
        return load_or_create_audit_key(Path(config.exchange.key_dir))
    except (KeyStoreError, OSError) as error:
        raise InvalidArgument(str(error), field="exchange.key_dir") from None


def _node_keys(config: NodeConfig, clock: Clock) -> NodeKeys:
    settings = config.exchange
    assert settings is not None
    passphrase = os.environ.get("HX_KEY_PASSPHRASE", "").encode() or None
    try:
        return KeyStore(Path(settings.key_dir), passphrase).load_or_create(
            config.node_id, clock.now(), post_quantum=settings.post_quantum
        )
    except (KeyStoreError, OSError) as error:
        raise InvalidArgument(str(error), field="exchange.key_dir") from None


def read_peer_states(config: NodeConfig) -> list[PeerState]:
    """What `config`'s store knows of each peer (backoff, last error, clock skew), for the operator."""
    engine = open_store_engine(config)
    try:
        migrate(engine)  # as `serve` would: the columns read may be new
        with SqlStore(engine).transaction(read_only=True) as tx:
            return tx.peer_states()
    finally:
        engine.dispose()


@contextmanager
def operator_store(config: NodeConfig) -> Iterator[SqlStore]:
    """`config`'s store, migrated as `serve` would, for an operator's command (the node may be running)."""
    engine = open_store_engine(config)
    try:
        migrate(engine)
        yield SqlStore(engine)
    finally:
        engine.dispose()


def read_reconciliations(config: NodeConfig) -> list[ReconcileState]:
    """The last reconciliation with each peer, from `config`'s store, for the operator."""
    engine = open_store_engine(config)
    try:
        migrate(engine)
        with SqlStore(engine).transaction(read_only=True) as tx:
            return tx.reconciliations()
    finally:
        engine.dispose()


def read_peer_refusals(config: NodeConfig) -> list[PeerRefusal]:
    """The peers' refusals of `config`'s node kept in its store (until the roster changes), for the operator."""
    with operator_store(config) as store, store.transaction(read_only=True) as tx:
        return tx.peer_refusals()


@contextmanager
def federation_admin(config: NodeConfig, clock: Clock | None = None) -> Iterator[FederationAdmin]:
    """The operator's view of `config`'s federation, read from its store whether the node runs or not (what
    the admin RPCs serve). A running node picks up a backoff reset at its next delivery round."""
    engine = open_store_engine(config)
    try:
        migrate(engine)  # as `serve` would: the columns read may be new
        store, clock = SqlStore(engine), clock or SystemClock()
        roster = None
        if config.exchange is not None:
            trusted = _trusted_roster(config.exchange, store, clock).membership

            def roster() -> RosterSummary:
                return roster_summary(trusted)

        yield FederationAdmin(config.node_id, store, clock, roster)
    finally:
        engine.dispose()


def backup_database(config: NodeConfig, target: Path) -> None:
    """An online, consistent copy of `config`'s SQLite database at `target` (PostgreSQL: pg_dump, see README)."""
    backup_sqlite(config.effective_database_url(), target)


def restore_database(config: NodeConfig, source: Path | None, clock: Clock | None = None) -> datetime:
    """Replace `config`'s SQLite database with the backup at `source` (the node stopped), or, with no
    `source`, only mark a database restored by other means (pg_restore); then migrate it, and mark it restored
    so that the node reconciles with every peer when it starts. Returns the time marked."""
    url = config.effective_database_url()
    if source is not None:
        restore_sqlite(url, source)
    at = (clock or SystemClock()).now()
    engine = create_store_engine(url)
    try:
        migrate(engine)
        with SqlStore(engine).transaction() as tx:
            tx.mark_restored(at, str(source) if source is not None else "restored outside hotline-node")
    finally:
        engine.dispose()
    return at


def reconcile_with_peers(config: NodeConfig, peers: list[str], days: float) -> list[ReconcileOutcome | str]:
    """Reconcile `config`'s node with each of `peers` (every active one if empty) over the items first
    reported in the last `days`, from this process (the node may run). A peer that fails gives its error line."""
    node = build_node(config)
    try:
        exchange = node.exchange
        if exchange is None:
            raise InvalidArgument("the config has no [exchange] section", field="exchange")

        async def run() -> list[ReconcileOutcome | str]:
            until = node.clock.now() + timedelta(minutes=1)
            results: list[ReconcileOutcome | str] = []
            try:
                for peer in peers or exchange.active_peers():
                    try:
                        results.append(await exchange.reconcile(peer, until - timedelta(days=days), until))
                    except (TransportError, ReconcileRefused, DomainError) as error:
                        results.append(f"{peer}: {error}")
            finally:
                await exchange.transport.close()
            return results

        return asyncio.run(run())
    finally:
        node.executor.shutdown(wait=False)
        node.engine.dispose()


def read_held_peers(config: NodeConfig) -> dict[str, str]:
    """Each peer that `config`'s node has messages waiting for but may not send to now (suspended, revoked,
    not a member, or an expired roster), with the reason; empty without an exchange."""
    if config.exchange is None:
        return {}
    engine = open_store_engine(config)
    try:
        migrate(engine)
        store = SqlStore(engine)
        membership = _trusted_roster(config.exchange, store, SystemClock()).membership
        with store.transaction(read_only=True) as tx:
            pending = tx.peers_with_pending()
    finally:
        engine.dispose()
    now = SystemClock().now()
    reasons = {peer: membership.held_reason(config.node_id, peer, now) for peer in pending}
    return {peer: reason for peer, reason in reasons.items() if reason}


def freeze_startup_heap() -> None:
    """Collect once, then move every object that exists now (modules, engines, servers, keys) into the
    garbage collector's permanent generation. Full collections then scan only what was built since, so they
    pause the event loop for far less: with the simulator's 46 nodes in one process, from 0.3-0.5 s to about
    0.1 s. Call it once the process has started serving; `gc.unfreeze()` undoes it."""
    gc.collect()
    gc.freeze()
