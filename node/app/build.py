"""Building a node: every component of one, wired from its config. The CLI, the tests, the demo and the simulator
all build nodes here, so there is one copy of the wiring."""

from __future__ import annotations

import functools
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

from node.access import AccessService
from node.api.boundary import Boundary, GuardAll
from node.api.servicers import EventNotifier
from node.app.node import Node
from node.app.resources import audit_key, load_trusted_roster, node_keys, open_store_engine
from node.cases.service import CaseService, CaseSettings
from node.clock import Clock, LoopClock, SystemClock
from node.config import NodeConfig
from node.crypto.keystore import NodeKeys
from node.crypto.tls import cert_not_after
from node.exchange.delivery import Transport
from node.exchange.node_exchange import NodeExchange
from node.exchange.rate_limit import RateLimit
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
from node.store.engine import migrate
from node.store.sql_store import SqlStore

__all__ = ["build_node", "build_resolver"]


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
    create_database: bool = True,
) -> Node:
    """Build every component of a node from its config; migrates the database to the current schema.

    The seams the simulator's deterministic mode uses (defaults: what a real node runs): `executor` runs the
    database work (node.aio.InlineExecutor: on the loop's thread), `scheduler` the periodic jobs
    (LoopScheduler: on the loop's own time), `transport` carries the exchange's deliveries
    (node.exchange.memory.InMemoryTransport: no sockets; start the node with serve=False), and `jitter_seed` seeds
    the exchange's retry jitter per peer (a run that repeats from its seed). `create_database`: a missing SQLite
    file is made (a new node's first start); an operator's command that builds the node passes False."""
    clock = clock or SystemClock()
    engine = open_store_engine(config, create=create_database)
    migrate(engine)
    store = SqlStore(engine, audit_key=audit_key(config))
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
        return node_keys(config, clock)

    keys = load_keys()
    roster = load_trusted_roster(settings, store, clock)
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
