"""The exchange of one node, assembled: keys, the trusted roster, the receiver behind the mutual-TLS
server, and one sender loop per peer. The composition root builds it; `start` and `stop` run it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from grpc import aio

from node.api._gen.hotline.exchange.v1 import exchange_service_pb2_grpc as pb_grpc
from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.cases.event_kinds import EventKind
from node.cases.service import CaseService
from node.clock import Clock
from node.crypto.keystore import NodeKeys
from node.crypto.roster import RosterError
from node.crypto.tls import TlsIdentity
from node.errors import DomainError
from node.exchange.cadence import ReferralCadence
from node.exchange.catch_up import RosterCatchUp
from node.exchange.delivery import EnvelopeReceiver, Transport, TransportError
from node.exchange.grpc_transport import ExchangeServicer, GrpcTransport, server_credentials
from node.exchange.key_choice import listed_tls_identity, validity_ends
from node.exchange.membership import RosterMembership
from node.exchange.observed import DeliveryObserver, ObservedReceiver, ObservedTransport
from node.exchange.ports import ExchangeNodeStore, PeerBackoff
from node.exchange.rate_limit import PeerRateLimiter, RateLimit
from node.exchange.receiver import Receiver, ReceiverLimits
from node.exchange.reconcile import ReconcileLimits, ReconcileOutcome, ReconcileRefused, Reconciliation
from node.exchange.roster_source import poll_roster_url
from node.exchange.roster_state import RosterState
from node.exchange.runtime import ExchangeRuntime
from node.exchange.sealing import RosterCrypto
from node.exchange.sender import PeerSender, SendSettings
from node.exchange.server_limits import ServerLimits, server_options
from node.grpc_ports import EXCLUSIVE_PORT, bind_port

__all__ = ["NodeExchange"]


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


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
        store: ExchangeNodeStore,
        clock: Clock,
        rate_limit: RateLimit | None = None,
        proxy: str = "",
        max_clock_skew: timedelta = timedelta(minutes=5),
        server_limits: ServerLimits | None = None,
        roster_catch_up_interval: timedelta = timedelta(seconds=10),
        observer: DeliveryObserver | None = None,
        interceptors: Sequence[aio.ServerInterceptor] = (),
        load_keys: Callable[[], NodeKeys] | None = None,
        transport: Transport | None = None,
        referral_cadence: ReferralCadence | None = None,
        jitter_seed: str | None = None,
    ) -> None:
        """`observer` sees every delivery's results, both ways (the node's metrics); `interceptors` wrap the
        exchange server's calls; `load_keys` reads the key folder again (after `hotline-node keys rotate`).
        `transport`: deliver through it instead of gRPC, and serve no exchange socket (the simulator's
        deterministic mode: node.exchange.memory, whose network calls `receiving`). `jitter_seed` seeds each
        peer's retry jitter (the simulator's runs repeat from their seed); a real node leaves it unseeded."""
        self._load_keys = load_keys
        self._referral_cadence = referral_cadence or ReferralCadence()
        self._jitter_seed = jitter_seed
        self._keys_read_for = 0  # the roster version for which the key folder was last read again
        # The roster and keys the key checks last saw, and what they found (a roster check runs them all the
        # node's life; they change only with a new roster or keys read again).
        self._keys_checked: tuple[RosterMembership, NodeKeys] | None = None
        self._ends: tuple[RosterMembership, NodeKeys, dict[str, datetime]] | None = None
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
            retired_signing_keys=keys.retired_signing,
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
        self.reconciliation = Reconciliation(
            node_id=node_id,
            store=store,
            crypto=self.crypto,
            members=lambda: roster.membership,
            clock=clock,
            limits=ReconcileLimits(max_clock_skew=max_clock_skew),
            recover=cases.recover_referral_txn,
        )
        self._limiter = PeerRateLimiter(rate_limit or RateLimit(), clock)
        self.transport = GrpcTransport(
            self.tls_identity, lambda: roster.membership, on_rosters=self.accept_roster, proxy=proxy
        )
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
        self.unreconciled: set[str] = set()  # peers held back after a restore until reconciled with
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
        self.unreconciled = await run_blocking(self._peers_unreconciled)
        if self.unreconciled:
            _log.warning("node.restored", held_for=sorted(self.unreconciled), fix="reconciling with them first")
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
                reconciler=self.reconciliation.answer,
                sign_refusal=self._sign_refusal,
            ),
            self.server,
        )
        self.port = bind_port(
            self.server,
            self.listen,
            "exchange.listen",
            server_credentials(self.tls_identity, lambda: self.roster.membership, self._clock.now),
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
                # After a restore, nothing goes to a peer until a reconciliation with it has run: it raises the
                # status sequences the peer applied since the backup, so no update goes out under a used number.
                is_active=lambda p: (
                    p not in self.unreconciled and self.roster.membership.may_send(self.node_id, p, self._clock.now())
                ),
                run_blocking=run_blocking,
                # Warn of the clock skew to a peer at half the limit receivers refuse messages beyond.
                settings=SendSettings(
                    clock_skew_warning=self.receiver.limits.max_clock_skew / 2,
                    referral_cadence=self._referral_cadence,
                ),
                roster_version=lambda: self.roster.membership.version,
                rng=None if self._jitter_seed is None else random.Random(f"{self._jitter_seed}/{peer}"),  # noqa: S311
            )

        # Without sockets (deterministic mode) the look for waiting messages runs where the rest does.
        inline = None if self._serve else run_blocking
        self.runtime = ExchangeRuntime(self._store, make_sender, poll_seconds=poll_seconds, run_blocking=inline)
        if not self._serve:  # in process, every writer of the database is this node: its commits say what they queue
            self._store.watch_queue(self.runtime.queued)
            self.runtime.told_of_queues()
        self.runtime.start()

    def tls_identity(self) -> TlsIdentity:
        """The certificate this node presents: the newest of its own that the trusted roster lists."""
        return listed_tls_identity(self.keys, self.roster.membership.member(self.node_id))

    def _sign_refusal(self, member: str, code: str, reason: str) -> bytes:
        return self.crypto.sign_refusal(member=member, code=code, reason=reason, refused_at=self._clock.now())

    def wake(self) -> None:
        """Something was queued: the sender loops look at once."""
        if self.runtime is not None:
            self.runtime.wake()

    def committed(self) -> None:
        """A commit of this node's: the sender loops it queued for look at once (ExchangeRuntime.committed)."""
        if self.runtime is not None:
            self.runtime.committed()

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

    def roster_expired(self) -> bool:
        """Whether the trusted roster has expired: the node then sends and accepts nothing."""
        return self.roster.membership.expired(self._clock.now())

    def listed_key_expiries(self) -> list[tuple[str, str, datetime]]:
        """(use, key id, not_after) of this node's current keys as the trusted roster lists them; a key the
        roster gives no end, or does not list, is left out."""
        member = self.roster.membership.member(self.node_id)
        if member is None:
            return []
        own = {k.key_id for k in self.keys.signing} | {k.key_id for k in self.keys.hpke}
        listed = [("signing", k) for k in member.signing_keys] + [("hpke", k) for k in member.hpke_keys]
        return [
            (use, key.key_id, key.not_after.ToDatetime(tzinfo=UTC))
            for use, key in listed
            if key.key_id in own and key.HasField("not_after")
        ]

    def check_roster(
        self,
        roster_file: Path,
        warn_before: timedelta,
        roster_url: str = "",
        roster_url_ca: str = "",
        *,
        stored_elsewhere: bool = True,
    ) -> None:
        """The node's roster check (a timer; blocking): adopt a version `roster apply` stored, or a newer one the
        roster file holds or `roster_url` serves, then warn if the trusted roster expires within `warn_before`.
        `stored_elsewhere=False`: no other process writes the database, so `roster apply` cannot have stored a
        version this node has not seen, and the store is not asked."""
        if stored_elsewhere:
            self.roster.refresh()
        self.refresh_keys()
        try:
            self.roster.install_newer(roster_file.read_bytes(), str(roster_file))
        except OSError as error:  # being replaced as we read it, say: the next check reads it again
            _log.warning("roster.file_unreadable", error=str(error))
        if roster_url:
            poll_roster_url(self.roster, roster_url, roster_url_ca)
        self.roster.check_expiry(warn_before)
        self.check_key_expiry(warn_before)
        self.reroute_revoked()

    def reroute_revoked(self) -> list[str]:
        """Referrals still queued for a member the trusted roster revokes follow the roster's fallback for its
        countries (node.cases.federation.Federation.reroute_from): the ids of the items routed again."""
        membership = self.roster.membership
        revoked = {m.node_id for m in membership.roster.members if m.status == roster_pb2.MEMBER_STATUS_REVOKED}
        if not revoked:
            return []
        with self._store.transaction(read_only=True) as tx:
            waiting = sorted(revoked.intersection(tx.peers_with_pending()))
        rerouted: list[str] = []
        for peer in waiting:
            moved = self._cases.reroute_from(peer, f"{peer} is revoked in roster version {membership.version}")
            if moved:
                _log.warning("exchange.rerouted", peer=peer, items=len(moved), version=membership.version)
            rerouted += moved
        return rerouted

    def key_expiries(self) -> dict[str, datetime]:
        """When each kind of key this node uses stops being accepted (node.exchange.key_choice.validity_ends)."""
        membership, keys, ends = self._ends or (None, None, {})
        if membership is not self.roster.membership or keys is not self.keys:
            membership, keys = self.roster.membership, self.keys
            ends = validity_ends(keys, membership.member(self.node_id))
            self._ends = (membership, keys, ends)
        return dict(ends)

    def check_key_expiry(self, warn_before: timedelta) -> dict[str, str]:
        """Each kind of key in use that ends within `warn_before` ("expiring") or has ended ("expired"); the
        first time, logged and recorded as an event (`keys.expiring`, `keys.expired`), as for the roster."""
        now = self._clock.now()
        found: dict[str, str] = {}
        for kind, end in sorted(self.key_expiries().items()):
            what = {"tls": "TLS certificate", "signing": "signing key", "hpke": "HPKE key"}[kind]
            fix = f"run `hotline-node keys rotate --{kind}` and send the entry to the authority"
            if end <= now:
                found[kind] = "expired"
                detail = f"this node's {what} stopped being accepted at {end.isoformat()}: {fix}"
                self.roster.warn_once(
                    f"key:{kind}:{end.isoformat()}:expired", EventKind.KEYS_EXPIRED, "KEY_EXPIRED", detail, kind
                )
            elif end - now <= warn_before:
                found[kind] = "expiring"
                detail = f"this node's {what} stops being accepted at {end.isoformat()}: {fix}"
                self.roster.warn_once(
                    f"key:{kind}:{end.isoformat()}", EventKind.KEYS_EXPIRING, "KEY_EXPIRING", detail, kind
                )
        return found

    def refresh_keys(self) -> bool:
        """Read the key folder again if the trusted roster lists keys of this node that it does not hold: they
        were made by `hotline-node keys rotate` while the node ran. Until then the node signs with, and
        presents, the keys it holds that the roster lists (node.exchange.key_choice), and a message sealed to
        a new key it does not hold yet is refused as UNKNOWN_KEY, for now: the sender tries again."""
        membership = self.roster.membership
        me, version = membership.member(self.node_id), membership.version
        if self._load_keys is None or me is None or version == self._keys_read_for:
            return False  # read already for this version: the folder had no more (logged then)
        checked = self._keys_checked
        if checked is not None and checked[0] is membership and checked[1] is self.keys:
            return False  # the same roster and keys as the last check: every listed key was held
        keys = self.keys
        held = {k.key_id for k in (*keys.signing, *keys.retired_signing)} | {k.key_id for k in keys.hpke}
        held |= {keys.tls.sha256, *(t.sha256 for t in keys.retired_tls)}
        listed = {k.key_id for k in me.signing_keys} | {k.key_id for k in me.hpke_keys} | {me.tls_cert_sha256}
        if listed <= held:
            self._keys_checked = (membership, keys)
            return False
        self._keys_read_for = version
        self.keys = self._load_keys()
        self.crypto.use_keys(self.keys)
        _log.warning("exchange.keys_reloaded", version=version)
        return True

    async def reconcile(self, peer: str, since: datetime, until: datetime) -> ReconcileOutcome:
        """Compare this node's view with `peer`'s and queue again what either lacks; wakes the senders."""
        run = self._run_blocking or _in_thread
        outcome = await self.reconciliation.reconcile(peer, self.transport, run, since=since, until=until)
        if outcome.resent_here or peer in self.unreconciled:
            self.unreconciled.discard(peer)
            self.wake()
        return outcome

    async def reconcile_all(self, window: timedelta) -> list[ReconcileOutcome]:
        """Reconcile with every active peer over the items first reported within `window`; with a peer not
        agreed with since the last restore, over the widest range allowed. A peer that fails is logged and
        tried again next time."""
        run = self._run_blocking or _in_thread
        until = self._clock.now() + timedelta(minutes=1)
        restored_at, agreed = await run(self._agreed_since_restore)
        outcomes = []
        for peer in self.active_peers():
            after_restore = restored_at is not None and (agreed.get(peer) is None or agreed[peer] < restored_at)
            span = self.reconciliation.limits.max_range if after_restore else window
            try:
                outcomes.append(await self.reconcile(peer, until - span, until))
            except (TransportError, ReconcileRefused, DomainError) as error:
                _log.warning("reconcile.failed", peer=peer, after_restore=after_restore, error=str(error))
                if str(error).startswith("UNIMPLEMENTED") and peer in self.unreconciled:
                    # A peer on a version without reconciliation: holding its messages would hold them forever.
                    _log.warning("reconcile.unsupported", peer=peer, fix="upgrade the peer, then run reconcile")
                    self.unreconciled.discard(peer)
                    self.wake()
        return outcomes

    def _peers_unreconciled(self) -> set[str]:
        """The active peers not agreed with since the database was last restored (none if it never was)."""
        restored_at, agreed = self._agreed_since_restore()
        if restored_at is None:
            return set()
        return {peer for peer in self.active_peers() if (agreed.get(peer) or restored_at) <= restored_at}

    def _agreed_since_restore(self) -> tuple[datetime | None, dict[str, datetime | None]]:
        with self._store.transaction(read_only=True) as tx:
            return tx.last_restored_at(), {s.peer: s.agreed_at for s in tx.reconciliations()}

    def active_peers(self) -> list[str]:
        """The roster's active members other than this node."""
        membership = self.roster.membership
        return [
            m.node_id
            for m in membership.roster.members
            if m.node_id != self.node_id and membership.is_active(m.node_id)
        ]

    def accept_roster(self, signed_rosters: list[bytes]) -> None:
        if not signed_rosters:
            return
        try:
            self.roster.accept(signed_rosters)
        except RosterError as error:
            _log.error("roster.refused", reason=error.reason, detail=error.message)
            raise
