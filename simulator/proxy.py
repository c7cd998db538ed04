"""A loopback fault proxy: an HTTP CONNECT proxy that applies partitions, latency and loss between nodes.

Every simulated node gets its own `FaultProxy`; the node's outgoing peer calls go through it (node config
`[exchange] proxy = "127.0.0.1:PORT"`, which gRPC sees as the channel option `grpc.http_proxy`). The proxy
therefore knows the source node (by instance) and learns the destination node from the CONNECT target.
TLS stays end to end: the proxy only moves bytes.

All proxies share one `LinkRules`, the mutable network conditions:

- partitions: blocked (source, destination) pairs over connections. A block (a, b) means connections that a
  opens to b are refused (`HTTP/1.1 503`) and existing ones are cut at once, both sides closed. The helpers
  block both directions; a one-way block only stops the calls a makes to b, not those b makes to a.
- faults (`LinkFault`) per direction of a link, or a default for every link: added one-way latency with
  optional jitter (seconds of wall time), loss, and a connection reset probability. Loss is modelled as TCP
  experiences it: a lost segment is retransmitted after the retransmission timeout (doubling on every
  further loss), so it delays the byte stream and everything behind it, but never corrupts it.

Random draws come from the `random.Random` handed to `LinkRules`, so a seed fixes the sequence of draws. The
order in which chunks arrive (and so which chunk gets which draw) still depends on scheduling and on how the
kernel splits the stream, so faults are reproducible in distribution, not byte for byte.

Everything runs on one asyncio event loop: mutate `LinkRules` from that loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

__all__ = ["FaultProxy", "LinkFault", "LinkRules", "ProxyStats", "Transit"]

_CHUNK = 64 * 1024  # bytes read at once
_QUEUE = 64  # chunks in flight per direction before the reader stops reading (back-pressure)
_HEAD_LIMIT = 16 * 1024  # the CONNECT request line and headers
_HEAD_SECONDS = 10.0  # for a client to send its CONNECT request
_CONNECT_SECONDS = 10.0  # to open the upstream connection
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    405: "Method Not Allowed",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class LinkFault:
    """The conditions on one direction of a link. Latency is one way: a round trip pays it in each direction."""

    latency: float = 0.0  # seconds added to every chunk
    jitter: float = 0.0  # latency varies uniformly by up to this much either way (never below zero)
    loss: float = 0.0  # probability that a chunk is lost and must be retransmitted after the RTO
    reset: float = 0.0  # probability, per chunk, that the connection is reset

    def __post_init__(self) -> None:
        if self.latency < 0 or self.jitter < 0:
            raise ValueError("latency and jitter must not be negative")
        if not 0 <= self.loss < 1:
            raise ValueError("loss must be at least 0 and below 1")
        if not 0 <= self.reset <= 1:
            raise ValueError("reset must be between 0 and 1")

    @property
    def clean(self) -> bool:
        return self == _CLEAN


_CLEAN = LinkFault()


class Transit(NamedTuple):
    """What happens to one chunk: its delay (latency, jitter and retransmissions) and whether it resets."""

    delay: float
    retransmissions: int
    reset: bool


class Draws(Protocol):
    """What a transit draws from: random.Random, or a named stream (simulator.streams.Stream)."""

    def random(self) -> float: ...

    def uniform(self, low: float, high: float) -> float: ...


class LinkRules:
    """The shared, mutable network conditions. Proxies subscribe to hear of changes."""

    def __init__(self, rng: random.Random | None = None, *, rto: float = 0.2, max_retransmissions: int = 8) -> None:
        if rto <= 0 or max_retransmissions < 0:
            raise ValueError("rto must be positive and max_retransmissions not negative")
        self.rng = rng if rng is not None else random.Random(0)
        self.rto = rto  # seconds before the first retransmission; doubles on every further loss
        self.max_retransmissions = max_retransmissions  # of one chunk; bounds the delay a loss can cause
        self._blocked: set[tuple[str, str]] = set()
        self._default = _CLEAN
        self._links: dict[tuple[str, str], LinkFault] = {}
        self._listeners: list[Callable[[], None]] = []

    # Partitions.

    def block(self, a: str, b: str, *, symmetric: bool = True) -> None:
        """Refuse and cut connections from a to b (and from b to a when symmetric)."""
        self._blocked.update(_pairs([a], [b], symmetric))
        self._notify()

    def unblock(self, a: str, b: str, *, symmetric: bool = True) -> None:
        self._blocked.difference_update(_pairs([a], [b], symmetric))
        self._notify()

    def split(self, group_a: Iterable[str], group_b: Iterable[str]) -> None:
        """Block every link between the two groups, both ways. Adds to the partitions already in place."""
        self._blocked.update(_pairs(group_a, group_b, True))
        self._notify()

    def isolate(self, node: str, others: Iterable[str]) -> None:
        """Cut one node off from all the others."""
        self.split([node], others)

    def bridge(self, group_a: Iterable[str], group_b: Iterable[str], via: str) -> None:
        """Split the groups, except for `via`, which still reaches (and is reached by) both."""
        self.split((n for n in group_a if n != via), (n for n in group_b if n != via))

    def heal(self) -> None:
        """Remove every partition. Latency and loss stay: see `clear_faults`."""
        self._blocked.clear()
        self._notify()

    def blocked(self, source: str, destination: str) -> bool:
        return (source, destination) in self._blocked

    @property
    def partitions(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._blocked)

    # Latency and loss.

    def set_default(self, fault: LinkFault) -> None:
        """The conditions on every link that has none of its own."""
        self._default = fault
        self._notify()

    def set_link(self, a: str, b: str, fault: LinkFault | None, *, symmetric: bool = True) -> None:
        """The conditions from a to b (and from b to a when symmetric), overriding the default; None removes."""
        for pair in _pairs([a], [b], symmetric):
            if fault is None:
                self._links.pop(pair, None)
            else:
                self._links[pair] = fault
        self._notify()

    def clear_faults(self) -> None:
        """Remove all latency and loss, per link and default. Partitions stay: see `heal`."""
        self._default = _CLEAN
        self._links.clear()
        self._notify()

    def fault(self, source: str, destination: str) -> LinkFault:
        return self._links.get((source, destination), self._default)

    def transit(self, source: str, destination: str, draws: Draws | None = None) -> Transit:
        """Draw the fate of one chunk sent from source to destination. Draws nothing on a clean link.
        `draws`: where the draws come from (default: the rules' shared generator, in the order asked)."""
        fault = self.fault(source, destination)
        if fault.clean:
            return Transit(0.0, 0, False)
        rng = draws or self.rng
        delay = fault.latency
        if fault.jitter:
            delay = max(0.0, delay + rng.uniform(-fault.jitter, fault.jitter))
        retransmissions = 0
        rto = self.rto
        while fault.loss and retransmissions < self.max_retransmissions and rng.random() < fault.loss:
            delay += rto
            rto *= 2
            retransmissions += 1
        reset = bool(fault.reset) and rng.random() < fault.reset
        return Transit(delay, retransmissions, reset)

    # Notification.

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every change; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


def _pairs(group_a: Iterable[str], group_b: Iterable[str], symmetric: bool) -> set[tuple[str, str]]:
    b = list(group_b)
    pairs = {(x, y) for x in group_a for y in b if x != y}
    return pairs | {(y, x) for x, y in pairs} if symmetric else pairs


@dataclass(slots=True)
class ProxyStats:
    """Counters of one proxy. Bytes count what was forwarded, after any delay."""

    opened: int = 0  # tunnels established (200 sent)
    refused: int = 0  # CONNECTs answered 503 because of a partition
    rejected: int = 0  # CONNECTs answered 400, 403 (unknown destination), 405 or 502 (upstream unreachable)
    cut: int = 0  # tunnels closed because a partition came up
    resets: int = 0  # tunnels closed by the reset probability
    bytes_to_destination: int = 0
    bytes_from_destination: int = 0
    delayed_chunks: int = 0  # chunks held back by latency or loss
    retransmissions: int = 0  # simulated losses, each costing an RTO (doubling)
    opened_to: dict[str, int] = field(default_factory=dict)  # tunnels established, per destination node


class _Reject(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _LinkReset(Exception):
    pass


@dataclass(eq=False, slots=True)
class _Tunnel:
    destination: str
    task: asyncio.Task[None]
    writers: tuple[asyncio.StreamWriter, asyncio.StreamWriter]

    def abort(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.task.cancel()


class FaultProxy:
    """The HTTP CONNECT proxy for the outgoing connections of one node, `source`.

    `resolve` maps a CONNECT target "host:port" to the destination node id, or None for an unknown target
    (answered 403); a dict's `get` will do.
    """

    def __init__(
        self,
        source: str,
        rules: LinkRules,
        resolve: Callable[[str], str | None],
        host: str = "127.0.0.1",
    ) -> None:
        self.source = source
        self.rules = rules
        self.stats = ProxyStats()
        self._resolve = resolve
        self._host = host
        self._port = 0
        self._server: asyncio.Server | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._tunnels: set[_Tunnel] = set()

    @property
    def port(self) -> int:
        """The bound port; 0 before start."""
        return self._port

    @property
    def address(self) -> str:
        """host:port, as the node config's `[exchange] proxy` wants it."""
        return f"{self._host}:{self._port}"

    @property
    def open_tunnels(self) -> int:
        return len(self._tunnels)

    async def start(self) -> int:
        """Listen on an ephemeral port of `host`; returns the port."""
        if self._server is not None:
            return self._port
        self._server = await asyncio.start_server(self._accept, self._host, 0, limit=_HEAD_LIMIT)
        self._port = self._server.sockets[0].getsockname()[1]
        self._unsubscribe = self.rules.subscribe(self._rules_changed)
        return self._port

    async def stop(self) -> None:
        """Stop listening, close every connection and wait for their tasks to end."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        server.close()
        for tunnel in list(self._tunnels):
            tunnel.abort()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()

    def _rules_changed(self) -> None:
        for tunnel in list(self._tunnels):
            if self.rules.blocked(self.source, tunnel.destination):
                self._tunnels.discard(tunnel)
                self.stats.cut += 1
                tunnel.abort()

    def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        # A plain callback that starts our own task: asyncio's streams (3.11) mishandle a cancelled handler task.
        if self._server is None:  # stopping
            client_writer.transport.abort()
            return
        task = asyncio.create_task(self._handle(client_reader, client_writer))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        upstream_writer: asyncio.StreamWriter | None = None
        tunnel: _Tunnel | None = None
        clean = False
        try:
            host, port, destination = await self._read_connect(client_reader)
            if self.rules.blocked(self.source, destination):
                raise _Reject(503)
            try:
                async with asyncio.timeout(_CONNECT_SECONDS):  # unlike wait_for, never swallows a cancellation
                    upstream_reader, upstream = await asyncio.open_connection(host, port)
            except (OSError, TimeoutError) as error:
                raise _Reject(502) from error
            upstream_writer = upstream
            if self.rules.blocked(self.source, destination):  # the rules changed while we connected
                raise _Reject(503)
            tunnel = _Tunnel(destination, task, (client_writer, upstream))
            self._tunnels.add(tunnel)
            self.stats.opened += 1
            self.stats.opened_to[destination] = self.stats.opened_to.get(destination, 0) + 1
            client_writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await client_writer.drain()
            clean = await self._pump(client_reader, client_writer, upstream_reader, upstream, destination)
        except _Reject as reject:
            if reject.status == 503:
                self.stats.refused += 1
            else:
                self.stats.rejected += 1
            reason = _REASONS[reject.status]
            client_writer.write(
                f"HTTP/1.1 {reject.status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            clean = True  # let the answer out before closing
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a peer went away, or never sent a complete request: close both sides
        finally:
            if tunnel is not None:
                self._tunnels.discard(tunnel)
            for writer in (client_writer, upstream_writer):
                if writer is None:
                    continue
                if clean:
                    writer.close()
                else:
                    writer.transport.abort()

    async def _read_connect(self, reader: asyncio.StreamReader) -> tuple[str, int, str]:
        """Parse "CONNECT host:port HTTP/1.x" and its headers; returns host, port and destination node."""
        async with asyncio.timeout(_HEAD_SECONDS):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _Reject(400)
        method, target, _version = parts
        if method != "CONNECT":
            raise _Reject(405)
        if any(":" not in line for line in header_lines):
            raise _Reject(400)
        host, _, port_text = target.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")  # an IPv6 literal
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _Reject(400)
        destination = self._resolve(target)
        if destination is None:
            raise _Reject(403)
        return host, int(port_text), destination

    async def _pump(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
        destination: str,
    ) -> bool:
        """Move bytes both ways until both directions have ended (True) or either failed (False)."""
        ended = False
        try:
            async with asyncio.TaskGroup() as group:
                for reader, writer, sender, receiver, outbound in (
                    (client_reader, upstream_writer, self.source, destination, True),
                    (upstream_reader, client_writer, destination, self.source, False),
                ):
                    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(_QUEUE)
                    group.create_task(self._receive(reader, queue, sender, receiver))
                    group.create_task(self._send(queue, writer, outbound))
            ended = True
        except* _LinkReset:
            self.stats.resets += 1
        except* OSError:
            pass  # a peer went away
        return ended

    async def _receive(
        self,
        reader: asyncio.StreamReader,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        sender: str,
        receiver: str,
    ) -> None:
        """Read chunks and queue each with the time it may be forwarded; None marks the end of the stream."""
        loop = asyncio.get_running_loop()
        last_due = 0.0
        while data := await reader.read(_CHUNK):
            transit = self.rules.transit(sender, receiver)
            if transit.reset:
                raise _LinkReset
            if transit.delay > 0:
                self.stats.delayed_chunks += 1
                self.stats.retransmissions += transit.retransmissions
            last_due = max(loop.time() + transit.delay, last_due)  # never overtake an earlier chunk
            await queue.put((last_due, data))
        await queue.put(None)

    async def _send(
        self, queue: asyncio.Queue[tuple[float, bytes] | None], writer: asyncio.StreamWriter, outbound: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        while (item := await queue.get()) is not None:
            due, data = item
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
            if outbound:
                self.stats.bytes_to_destination += len(data)
            else:
                self.stats.bytes_from_destination += len(data)
        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()
