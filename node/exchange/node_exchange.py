"""The exchange of one node, assembled: keys, the trusted roster, the receiver behind the mutual-TLS
server, and one sender loop per peer. The composition root builds it; `start` and `stop` run it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from grpc import aio

from node.api._gen.hotline.exchange.v1 import exchange_service_pb2_grpc as pb_grpc
from node.cases.service import CaseService
from node.clock import Clock
from node.crypto.keystore import NodeKeys
from node.crypto.roster import RosterError
from node.exchange.catch_up import RosterCatchUp
from node.exchange.delivery import EnvelopeReceiver, Transport
from node.exchange.grpc_transport import ExchangeServicer, GrpcTransport, server_credentials
from node.exchange.observed import DeliveryObserver, ObservedReceiver, ObservedTransport
from node.exchange.ports import PeerBackoff, ReceivingStore
from node.exchange.rate_limit import PeerRateLimiter, RateLimit
from node.exchange.receiver import Receiver, ReceiverLimits
from node.exchange.roster_state import RosterState
from node.exchange.runtime import ExchangeRuntime
from node.exchange.sealing import RosterCrypto
from node.exchange.sender import PeerSender, SendSettings
from node.exchange.server_limits import ServerLimits, server_options
from node.grpc_ports import EXCLUSIVE_PORT, bind_port

__all__ = ["NodeExchange"]

_log = structlog.get_logger(__name__)


class NodeExchange:
    def __init__(
        self,
        *,
        node_id: str,
        listen: str,
        keys: NodeKeys,
        roster: RosterState,
        cases: CaseService,
        store: ReceivingStore,
        clock: Clock,
        rate_limit: RateLimit | None = None,
        proxy: str = "",
        max_clock_skew: timedelta = timedelta(minutes=5),
        server_limits: ServerLimits | None = None,
        roster_catch_up_interval: timedelta = timedelta(seconds=10),
        observer: DeliveryObserver | None = None,
        interceptors: Sequence[aio.ServerInterceptor] = (),
        transport: Transport | None = None,
    ) -> None:
        """`observer` sees every delivery's results, both ways (the node's metrics); `interceptors` wrap the
        exchange server's calls. `transport`: deliver through it instead of gRPC, and serve no exchange
        socket (the simulator's deterministic mode: node.exchange.memory, whose network calls `receiving`)."""
        self.node_id = node_id
        self.listen = listen
        self.keys = keys
        self.roster = roster
        self._cases = cases
        self._store = store
        self._clock = clock
        self.crypto = RosterCrypto(
            node_id=node_id,
            signing_keys=keys.signing,
            hpke_keys=keys.hpke,
            membership=lambda: roster.membership,
            clock=clock,
        )
        self.receiver = Receiver(
            node_id=node_id,
            cases=cases,
            store=store,
            opener=self.crypto,
            members=lambda: roster.membership,
            clock=clock,
            limits=ReceiverLimits(max_clock_skew=max_clock_skew),
        )
        self._limiter = PeerRateLimiter(rate_limit or RateLimit(), clock)
        self.transport = GrpcTransport(keys.tls, lambda: roster.membership, on_rosters=self.accept_roster, proxy=proxy)
        self.server_limits = server_limits or ServerLimits()
        # A peer's call claiming a newer roster: fetch it from that peer, once at a time and once per interval.
        self.catch_up = RosterCatchUp(self._fetch_rosters, clock, roster_catch_up_interval)
        self._serve = transport is None
        self._sending: Transport = transport or self.transport
        self._receiving: EnvelopeReceiver = self.receiver
        if observer is not None:
            self._sending = ObservedTransport(self._sending, observer)
            self._receiving = ObservedReceiver(self.receiver, observer)
        self._interceptors = list(interceptors)
        self._contacted: dict[str, asyncio.Task[None]] = {}
        self._run_blocking: Callable[..., Awaitable[Any]] | None = None  # the node's database threads, from start()
        self.server: aio.Server | None = None
        self.runtime: ExchangeRuntime | None = None
        self.port = 0

    @property
    def receiving(self) -> EnvelopeReceiver:
        """What takes the deliveries of peers (an in-memory network calls it directly)."""
        return self._receiving

    async def start(self, run_blocking: Callable[..., Awaitable[Any]], poll_seconds: float = 0.2) -> int:
        """`poll_seconds`: how often the sending side looks for waiting messages unless woken by a commit."""
        self._run_blocking = run_blocking
        if self._serve:
            await self._serve_exchange(run_blocking)
        self._start_senders(run_blocking, poll_seconds)
        return self.port

    async def _serve_exchange(self, run_blocking: Callable[..., Awaitable[Any]]) -> None:
        self.server = aio.server(
            interceptors=self._interceptors,
            options=[
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                EXCLUSIVE_PORT,
                *server_options(self.server_limits),
            ],
        )
        pb_grpc.add_ExchangeServiceServicer_to_server(
            ExchangeServicer(
                receiver=self._receiving,
                membership=lambda: self.roster.membership,
                signed_rosters=self.roster.signed_after,
                limiter=self._limiter,
                run_blocking=run_blocking,
                on_contact=self._peer_contacted,
                on_newer_roster=self.catch_up.request,
                clock=self._clock,
                limits=self.server_limits,
            ),
            self.server,
        )
        self.port = bind_port(
            self.server,
            self.listen,
            "exchange.listen",
            server_credentials(self.keys.tls, lambda: self.roster.membership),
        )
        await self.server.start()

    def _start_senders(self, run_blocking: Callable[..., Awaitable[Any]], poll_seconds: float) -> None:
        def make_sender(peer: str) -> PeerSender:
            return PeerSender(
                peer=peer,
                store=self._store,
                sealer=self.crypto,
                transport=self._sending,
                clock=self._clock,
                # Suspended or revoked, on either side, or an expired roster: hold the messages (not lost,
                # not sent) until a roster allows them.
                is_active=lambda p: self.roster.membership.may_send(self.node_id, p, self._clock.now()),
                run_blocking=run_blocking,
                # Warn of the clock skew to a peer at half the limit receivers refuse messages beyond.
                settings=SendSettings(clock_skew_warning=self.receiver.limits.max_clock_skew / 2),
            )

        # Without sockets (deterministic mode) the look for waiting messages runs where the rest does.
        inline = None if self._serve else run_blocking
        self.runtime = ExchangeRuntime(self._store, make_sender, poll_seconds=poll_seconds, run_blocking=inline)
        self.runtime.start()

    def wake(self) -> None:
        """Something was queued: the sender loops look at once."""
        if self.runtime is not None:
            self.runtime.wake()

    async def _fetch_rosters(self, peer: str) -> None:
        self.accept_roster(await self.transport.fetch_rosters(peer))

    def _peer_contacted(self, peer: str) -> None:
        """A peer that calls us is up: forget our backoff towards it and send what waits. Called on the event
        loop for every delivery, so the database work runs in the background on the node's database threads:
        a transaction on the event loop would stall every call this process serves while it waits for a
        database thread's writer lock, or for the GIL after each SQLite call."""
        if peer in self._contacted:
            return  # a reset for this peer is under way
        task = asyncio.create_task(self._forget_backoff(peer))
        self._contacted[peer] = task
        task.add_done_callback(lambda _: self._contacted.pop(peer, None))

    async def _forget_backoff(self, peer: str) -> None:
        assert self._run_blocking is not None  # peers can call only once start() has set it
        try:
            await self._run_blocking(self._reset_backoff, peer)
        except Exception as error:  # logged; the next call from that peer tries again
            _log.warning("exchange.backoff_reset_failed", peer=peer, error=str(error))
        if self.runtime is not None:
            self.runtime.wake(peer)

    def _reset_backoff(self, peer: str) -> None:
        """Only reads (never waits for the writer lock) unless there is a backoff to forget."""
        with self._store.transaction(read_only=True) as tx:
            failures = tx.peer_backoff(peer).failures
        if failures:
            with self._store.transaction() as tx:
                tx.set_peer_backoff(peer, PeerBackoff())

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
        if self.server is not None:
            await self.server.stop(1)
        await self.catch_up.stop()
        background = list(self._contacted.values())
        for task in background:
            task.cancel()
        if background:
            await asyncio.wait(background, timeout=5)
        await self.transport.close()

    def check_roster(self, roster_file: Path, warn_before: timedelta) -> None:
        """The node's roster check (a timer; blocking): adopt a version `roster apply` stored, or a newer one the
        roster file holds, then warn if the trusted roster expires within `warn_before`."""
        self.roster.refresh()
        try:
            self.roster.install_newer(roster_file.read_bytes(), str(roster_file))
        except OSError as error:  # being replaced as we read it, say: the next check reads it again
            _log.warning("roster.file_unreadable", error=str(error))
        self.roster.check_expiry(warn_before)

    def accept_roster(self, signed_rosters: list[bytes]) -> None:
        if not signed_rosters:
            return
        try:
            self.roster.accept(signed_rosters)
        except RosterError as error:
            _log.error("roster.refused", reason=error.reason, detail=error.message)
            raise
