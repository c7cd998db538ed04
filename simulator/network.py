"""A network of real nodes, built through the node's own composition root (node.app.build_node), with real
SQLite stores and real keys, in one of two modes:

- live: real gRPC and mutual TLS on loopback, on one shared accelerated clock. Each node's outgoing peer
  calls go through its own fault proxy, so partitions, latency and loss act on the real TCP connections.
- deterministic: no sockets and no threads, on the virtual-time loop's clock (simulator.virtual_loop). The
  nodes exchange through the in-memory transport (still sealed, signed and receipted) over a `SimLink`, the
  case systems call each node's servicers in-process, and database work runs inline on the loop.
 The simulator plays the network authority: it signs the roster, and later
versions of it, which nodes install without a restart (a lagging node catches up from its peers).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from node.aio import InlineExecutor
from node.api.client import NodeClient
from node.api.in_process import InProcessChannel, InProcessServer
from node.app import Node, build_node
from node.cases.model import Role
from node.clock import AcceleratedClock, LoopClock
from node.config import NodeConfig, parse_config
from node.crypto import SigningKeyPair
from node.crypto.keystore import KeyStore, NodeKeys
from node.exchange.authority import build_signed_roster, member_entry
from node.exchange.delivery import EnvelopeReceiver
from node.exchange.memory import InMemoryNetwork
from node.scheduler import LoopScheduler
from simulator.memory_link import SimLink
from simulator.proxy import FaultProxy, LinkRules
from simulator.scenario import Hotline, Scenario
from simulator.world import SimResolver

__all__ = ["Network", "SimNode"]

_log = structlog.get_logger(__name__)
# The case system submits the hashes the hotline's own tools computed: it holds the hasher role too.
ROLES = (Role.INTAKE, Role.HASHER, Role.ANALYST, Role.LEA, Role.ADMIN)
# Deterministic mode: every commit is in this process and wakes the loops waiting for it (and a roster the
# simulator installs wakes the senders, as a live node's 0.2 s poll would find it), so an idle node's loops
# look for unannounced work rarely (simulated seconds): polling every second cost a query per node per
# simulated second, most of a run's time.
IDLE_POLL_SECONDS = 3600.0
# Deterministic mode: the periodic upkeep, in simulated seconds. Its cost grows with simulated time, not with
# the reports (55 nodes over a year at the live settings: some 60 million heartbeats and 3 million job runs,
# hours of wall time with nothing to do). The case systems' stream runs in-process, so heartbeats (which
# detect dead connections) and reconnecting streams buy nothing; the simulator installs every roster itself;
# deadlines are checked hourly against 72-hour deadlines; audit checkpoints and the retention purge daily; the
# case system's token is read and its last use written hourly, not on nearly every call.
_QUIET_UPKEEP: dict[str, dict[str, float]] = {
    "node": {
        "deadline_check_seconds": 3600,
        "retention_check_seconds": 86_400,
        "stream_heartbeat_seconds": 3600,
        "stream_max_age_seconds": 7 * 86_400,
        # No other process shares a simulated node's database, and a revocation made through its own access
        # service drops the cached record at once: the record may be trusted for an hour of simulated time.
        "token_cache_seconds": 3600,
        "token_last_used_seconds": 3600,
    },
    "exchange": {"roster_check_seconds": 6 * 3600, "audit_checkpoint_seconds": 86_400},
}


_TAKEN: set[int] = set()
_PORTS = random.Random()


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range (32768 and up on Linux), so that the
    outgoing connections of a busy network cannot take it between choosing it and binding it."""
    for _ in range(1000):
        port = _PORTS.randrange(20000, 32000)
        if port in _TAKEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port
    raise RuntimeError("no free loopback port between 20000 and 32000")


@dataclass
class SimNode:
    hotline: Hotline
    directory: Path
    api_port: int
    exchange_port: int
    config: NodeConfig | None = None
    node: Node | None = None
    token: str = ""
    proxy: FaultProxy | None = None
    client: NodeClient | None = None
    status: str = "full"
    up: bool = False
    crashes: int = 0
    keys: NodeKeys | None = None
    # False for a hotline that joins later (a `join` fault): it runs, but the roster leaves it out until then.
    joined: bool = True

    @property
    def node_id(self) -> str:
        return self.hotline.node_id

    @property
    def database(self) -> Path:
        return self.directory / "node.db"


@dataclass
class Network:
    scenario: Scenario
    run_dir: Path
    clock: AcceleratedClock | LoopClock
    rules: LinkRules
    deterministic: bool = False
    nodes: dict[str, SimNode] = field(default_factory=dict)
    roster_version: int = 0
    _authority: list[SigningKeyPair] = field(default_factory=list)
    _endpoints: dict[str, str] = field(default_factory=dict)
    _memory: InMemoryNetwork = field(default_factory=InMemoryNetwork)

    # ------------------------------------------------------------------------------------------ set-up

    async def start(self) -> None:
        sim = self.scenario.simulation
        self._authority = [SigningKeyPair.generate() for _ in range(3)]
        for index, hotline in enumerate(self.scenario.hotlines):
            directory = self.run_dir / "nodes" / hotline.node_id
            directory.mkdir(parents=True, exist_ok=True)
            if self.deterministic:  # nothing binds: the ports only name the nodes in the roster
                node = SimNode(hotline, directory, 20000 + 2 * index, 20001 + 2 * index)
            else:
                node = SimNode(hotline, directory, free_port(), free_port())
            node.keys = KeyStore(directory / "keys").load_or_create(
                hotline.node_id, self.clock.now(), post_quantum=sim.post_quantum
            )
            node.joined = self.scenario.joins_at(hotline.node_id) is None
            self.nodes[hotline.node_id] = node
            self._endpoints[f"127.0.0.1:{node.exchange_port}"] = hotline.node_id
        self.publish_roster(install=False)
        for node in self.nodes.values():
            proxy_port = 0
            if not self.deterministic:
                node.proxy = FaultProxy(node.node_id, self.rules, self._endpoints.get)
                proxy_port = await node.proxy.start()
            node.config = self._config(node, proxy_port)
        for node in self.members:  # one at a time: Alembic's migration context is process-global
            await self._boot(node, first=True)

    @property
    def members(self) -> list[SimNode]:
        """The well-behaved hotlines (a rogue member is listed in the roster but runs no node here)."""
        return [n for n in self.nodes.values() if not n.hotline.rogue]

    def _config(self, node: SimNode, proxy_port: int) -> NodeConfig:
        hotline = node.hotline
        raw: dict[str, Any] = {
            "node": {
                "id": hotline.node_id,
                "jurisdiction": hotline.country,
                "database_url": f"sqlite+pysqlite:///{node.database}",
                "listen": f"127.0.0.1:{node.api_port}",
                # Simulated seconds: the scheduler runs on the accelerated clock.
                "deadline_check_seconds": 1800,
                "db_threads": 2,
            },
            "exchange": {
                "listen": f"127.0.0.1:{node.exchange_port}",
                "roster_file": str(self.run_dir / "roster-1.signed"),
                "key_dir": str(node.directory / "keys"),
                "post_quantum": self.scenario.simulation.post_quantum,
                "proxy": f"127.0.0.1:{proxy_port}" if proxy_port else "",
                "roster_check_seconds": 1800,  # simulated seconds, as the deadline check
                # Reconciliation with every peer, the least often allowed: at the default (6 simulated hours)
                # 46 nodes would each call 45 peers every few wall seconds, and no scenario loses a database.
                "reconcile_seconds": 7 * 86_400,
                # The exchange cadence: referrals at once, or held for batches.
                "referral_batch_seconds": round(hotline.referral_batch_hours * 3600),
                "referral_batch_times": list(hotline.referral_batch_times),
                "referral_batch_zone": hotline.hours.zone,
            },
        }
        if self.deterministic:
            raw["node"].update(_QUIET_UPKEEP["node"])
            raw["exchange"].update(_QUIET_UPKEEP["exchange"])
        return parse_config(raw, {})

    async def _boot(self, node: SimNode, *, first: bool = False) -> None:
        config = node.config
        assert config is not None
        if self.deterministic:
            built = self._build_inline(node)
            # Every commit is this process's: the streams learn the kinds of the events each one wrote, and skip
            # the read when none is of a kind the case system asked for.
            built.store.watch_events(built.notifier.events_written)
            built.notifier.tell_kinds()
        else:
            # Building migrates the database and loads keys: blocking work, off the event loop.
            built = await asyncio.get_running_loop().run_in_executor(
                None, lambda: build_node(config, clock=self.clock, resolver=SimResolver())
            )
        if first:
            _, node.token = built.access.create_token("simulator", f"case-system-{node.node_id}", ROLES)
        if self.roster_version > 1 and built.exchange is not None:
            built.exchange.accept_roster(self._signed_rosters(after=built.exchange.roster.membership.version))
        if self.deterministic:
            await built.start(serve=False, idle_poll_seconds=IDLE_POLL_SECONDS, sole_writer=True)
        else:
            await built.start()
        node.node = built
        node.up = True
        if self.deterministic and built.exchange is not None:
            self._memory.receivers[node.node_id] = built.exchange.receiving
        if node.client is None:
            node.client = self._client(node)

    def _build_inline(self, node: SimNode) -> Node:
        """A node without sockets or threads: database work inline, jobs and deliveries on loop time."""
        assert node.config is not None
        executor = InlineExecutor()

        async def run_blocking(fn: Any, *args: Any) -> Any:
            return fn(*args)

        return build_node(
            node.config,
            clock=self.clock,
            resolver=SimResolver(),
            executor=executor,
            scheduler=LoopScheduler(),
            transport=SimLink(
                node.node_id,
                self._memory,
                self.rules,
                self.link_latency,
                run_blocking,
                seed=self.scenario.simulation.seed,
            ),
            # The senders' retry jitter, drawn from the run's seed: the same seed, the same retries.
            jitter_seed=f"{self.scenario.simulation.seed}/retry-jitter/{node.node_id}",
        )

    def link_latency(self, source: str, destination: str) -> float:
        """Deterministic mode: the modelled one-way latency from source to destination, in simulated seconds:
        the mean of the two hotlines' own latencies (each `simulation.link_latency_ms` unless set)."""
        default = self.scenario.simulation.link_latency_ms
        ends = [self.nodes[n].hotline.link_latency_ms or default for n in (source, destination)]
        return sum(ends) / 2 / 1000

    def receiver(self, node_id: str) -> EnvelopeReceiver | None:
        """Deterministic mode: what takes `node_id`'s deliveries, or None while it is down."""
        return self._memory.receivers.get(node_id)

    def _client(self, node: SimNode) -> NodeClient:
        if not self.deterministic:
            return NodeClient(f"127.0.0.1:{node.api_port}", node.token)

        def server() -> InProcessServer | None:
            return node.node.in_process if node.up and node.node is not None else None

        bearer = (("authorization", f"Bearer {node.token}"),)
        return NodeClient("in-process", None, channel=InProcessChannel(server, bearer))

    # ------------------------------------------------------------------------------------------ faults

    async def crash(self, node_id: str) -> None:
        """Stop a node abruptly: no grace for calls in flight, no waiting for its database work.
        What was committed stays; what was not is rolled back, as after kill -9."""
        node = self.nodes[node_id]
        built = node.node
        if built is None or not node.up:
            return
        node.up = False
        node.crashes += 1
        node.node = None
        self._memory.receivers.pop(node_id, None)  # deliveries to it now fail, as to a closed port
        if built.in_process is not None:
            built.in_process.close()  # its event streams end, as its connections would
        await built.scheduler.stop(grace=0)  # a run under way is cut off, as by kill -9
        if built.exchange is not None:
            await built.exchange.stop()
        if built.server is not None:
            await built.server.stop(0)
        built.executor.shutdown(wait=False, cancel_futures=True)
        if self.deterministic:
            built.engine.dispose()
        else:
            await asyncio.get_running_loop().run_in_executor(None, built.engine.dispose)
        _log.info("sim.node_crashed", node_id=node_id)

    async def restart(self, node_id: str) -> None:
        node = self.nodes[node_id]
        if node.up:
            return
        for _ in range(50):  # the old listening sockets may take a moment to close
            try:
                await self._boot(node)
                break
            except RuntimeError as error:
                _log.warning("sim.restart_retry", node_id=node_id, error=str(error))
                await asyncio.sleep(0.1)
        _log.info("sim.node_restarted", node_id=node_id)

    def set_status(self, node_id: str, status: str) -> int:
        self.nodes[node_id].status = status
        return self.publish_roster()

    def join(self, node_id: str) -> int:
        """The hotline joins the network: the next roster lists it, and its country's items go to it."""
        self.nodes[node_id].joined = True
        return self.publish_roster()

    def rotate_keys(self, node_id: str) -> int:
        """A new signing and HPKE key for the node, listed beside the old ones (old records stay
        verifiable); the node uses the new keys after its next restart."""
        node = self.nodes[node_id]
        node.keys = KeyStore(node.directory / "keys").rotate(
            node_id, self.clock.now(), post_quantum=self.scenario.simulation.post_quantum
        )
        return self.publish_roster()

    def publish_roster(self, *, install: bool = True) -> int:
        """Sign the next roster version and install it at every running node (as each operator would)."""
        self.roster_version += 1
        now = self.clock.now()
        entries = []
        for node in self.nodes.values():
            if not node.joined:
                continue
            assert node.keys is not None
            entry = member_entry(
                node.node_id,
                [node.hotline.country],
                f"127.0.0.1:{node.exchange_port}",
                node.keys,
                organisation=node.hotline.organisation or f"Simulated hotline {node.node_id}",
                require_all_signatures=self.scenario.simulation.post_quantum,
            )
            entry["status"] = node.status
            if node.hotline.designated:
                entry["designated_for"] = [node.hotline.country]
            entries.append(entry)
        world = self.scenario.world
        signed = build_signed_roster(
            entries,
            version=self.roster_version,
            now=now - timedelta(minutes=5),
            valid_for=timedelta(days=365),
            authority_keys=self._authority[:2],
            next_authority=self._authority,
            threshold=2,
            network_id=f"sim-{self.scenario.simulation.name}",
            fallback=world.fallback,
            fallback_node=world.fallback_node,
        )
        (self.run_dir / f"roster-{self.roster_version}.signed").write_bytes(signed)
        if install:
            for node in self.members:
                if node.up and node.node is not None and node.node.exchange is not None:
                    node.node.exchange.accept_roster([signed])
                    if self.deterministic:
                        node.node.exchange.wake()
        return self.roster_version

    def _signed_rosters(self, *, after: int) -> list[bytes]:
        return [(self.run_dir / f"roster-{v}.signed").read_bytes() for v in range(after + 1, self.roster_version + 1)]

    # ------------------------------------------------------------------------------------------ teardown

    async def stop(self) -> None:
        for node in self.nodes.values():
            if node.client is not None:
                with contextlib.suppress(Exception):
                    await node.client.close()
            if node.node is not None and node.up:
                with contextlib.suppress(Exception):
                    await node.node.stop(grace=0)
                node.up = False
            if node.proxy is not None:
                await node.proxy.stop()
