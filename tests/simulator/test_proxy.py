"""The loopback fault proxy: CONNECT tunnels, partitions, latency, loss, and real gRPC with mutual TLS."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from grpc import aio

from node.crypto.tls import make_tls_identity
from simulator.proxy import FaultProxy, LinkFault, LinkRules, Transit

WAIT = 5.0  # seconds: generous bounds for things that should happen at once


@dataclass
class Net:
    rules: LinkRules
    proxy: FaultProxy  # node "a"'s proxy
    target: str  # the echo server's "host:port", which resolves to node "b"


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    target = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    rules = LinkRules(random.Random(7), rto=0.02)
    proxy = FaultProxy("a", rules, {target: "b"}.get)
    await proxy.start()
    try:
        yield Net(rules, proxy, target)
    finally:
        await proxy.stop()
        server.close()
        await server.wait_closed()


async def tunnel(
    proxy: FaultProxy, target: str, request: bytes | None = None
) -> tuple[bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection to the proxy and send a CONNECT; returns the status line and the streams."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(request or f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    return head.split(b"\r\n")[0], reader, writer


async def closed(reader: asyncio.StreamReader) -> bool:
    """True once the other side has closed the connection (EOF or reset)."""
    try:
        return await asyncio.wait_for(reader.read(1), WAIT) == b""
    except ConnectionError:
        return True


async def round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> bytes:
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(payload)), WAIT * 4)


async def test_echo_through_the_tunnel(net: Net) -> None:
    status, reader, writer = await tunnel(net.proxy, net.target)
    assert status == b"HTTP/1.1 200 Connection established"
    assert await round_trip(reader, writer, b"hello") == b"hello"
    assert net.proxy.open_tunnels == 1
    writer.write_eof()  # a half-close is passed on; the echo server then closes, and so does the tunnel
    assert await closed(reader)
    writer.close()
    stats = net.proxy.stats
    assert (stats.opened, stats.refused, stats.rejected, stats.cut) == (1, 0, 0, 0)
    assert stats.opened_to == {"b": 1}
    assert stats.bytes_to_destination == stats.bytes_from_destination == 5
    assert stats.delayed_chunks == 0
    for _ in range(int(WAIT / 0.01)):  # the proxy finishes closing its side
        if net.proxy.open_tunnels == 0:
            break
        await asyncio.sleep(0.01)
    assert net.proxy.open_tunnels == 0


async def test_partition_refuses_new_tunnels_cuts_open_ones_and_heal_restores(net: Net) -> None:
    _, reader, writer = await tunnel(net.proxy, net.target)
    assert await round_trip(reader, writer, b"before") == b"before"

    net.rules.split(["a", "c"], ["b"])
    assert await closed(reader)  # cut at once, without sending anything
    assert net.proxy.stats.cut == 1
    assert net.proxy.open_tunnels == 0
    writer.close()

    status, reader, writer = await tunnel(net.proxy, net.target)
    assert status.startswith(b"HTTP/1.1 503")
    assert await closed(reader)
    writer.close()
    assert net.proxy.stats.refused == 1

    net.rules.heal()
    status, reader, writer = await tunnel(net.proxy, net.target)
    assert status.startswith(b"HTTP/1.1 200")
    assert await round_trip(reader, writer, b"after") == b"after"
    writer.close()
    assert net.proxy.stats.opened == 2


async def test_blocks_are_ordered_and_helpers_block_both_ways(net: Net) -> None:
    rules = net.rules
    rules.block("b", "a", symmetric=False)  # b may not call a; a may still call b
    status, _, writer = await tunnel(net.proxy, net.target)
    assert status.startswith(b"HTTP/1.1 200")
    writer.close()
    assert rules.partitions == {("b", "a")}

    rules.heal()
    rules.isolate("b", ["a", "c"])
    assert rules.partitions == {("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")}
    rules.heal()
    rules.bridge(["a", "x"], ["b", "x"], via="x")
    assert rules.partitions == {("a", "b"), ("b", "a")}
    rules.unblock("a", "b")
    assert rules.partitions == frozenset()


async def test_latency_delays_a_round_trip(net: Net) -> None:
    _, reader, writer = await tunnel(net.proxy, net.target)
    assert await round_trip(reader, writer, b"warm") == b"warm"

    net.rules.set_default(LinkFault(latency=0.1))  # one way: a round trip pays it twice
    started = time.monotonic()
    assert await round_trip(reader, writer, b"slow") == b"slow"
    assert time.monotonic() - started >= 0.19
    assert net.proxy.stats.delayed_chunks >= 2

    net.rules.set_default(LinkFault())
    net.rules.set_link("a", "b", LinkFault(latency=0.15, jitter=0.05), symmetric=False)  # only towards b
    started = time.monotonic()
    assert await round_trip(reader, writer, b"one way") == b"one way"
    assert time.monotonic() - started >= 0.09
    writer.close()


async def test_latency_preserves_order(net: Net) -> None:
    net.rules.set_default(LinkFault(latency=0.02, jitter=0.02))
    _, reader, writer = await tunnel(net.proxy, net.target)
    pieces = [f"{i:04d}".encode() for i in range(200)]
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0)
    assert await asyncio.wait_for(reader.readexactly(800), WAIT * 4) == b"".join(pieces)
    writer.close()


async def test_loss_delays_but_never_corrupts_the_stream(net: Net) -> None:
    net.rules.set_default(LinkFault(loss=0.3))
    _, reader, writer = await tunnel(net.proxy, net.target)
    payload = random.Random(1).randbytes(256 * 1024)
    echoed = bytearray()

    async def read_all() -> None:
        while len(echoed) < len(payload):
            echoed.extend(await reader.read(65536))

    receiving = asyncio.create_task(read_all())
    for offset in range(0, len(payload), 4096):
        writer.write(payload[offset : offset + 4096])
        await writer.drain()
        await asyncio.sleep(0)
    await asyncio.wait_for(receiving, WAIT * 6)
    writer.close()

    assert bytes(echoed) == payload
    stats = net.proxy.stats
    assert stats.retransmissions > 0
    assert stats.bytes_to_destination == stats.bytes_from_destination == len(payload)


async def test_reset_probability_closes_the_tunnel(net: Net) -> None:
    net.rules.set_link("a", "b", LinkFault(reset=1.0))
    _, reader, writer = await tunnel(net.proxy, net.target)
    writer.write(b"doomed")
    assert await closed(reader)
    writer.close()
    assert net.proxy.stats.resets == 1
    assert net.proxy.stats.bytes_to_destination == 0


def test_transit_is_reproducible_from_the_seed() -> None:
    def draws(seed: int) -> list[Transit]:
        rules = LinkRules(random.Random(seed), rto=0.2)
        rules.set_default(LinkFault(latency=0.05, jitter=0.01, loss=0.2, reset=0.01))
        return [rules.transit("a", "b") for _ in range(500)]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)
    rto_steps = {round(delay - 0.05, 3) for delay, retransmissions, _ in draws(3) if retransmissions == 2}
    assert all(0.6 - 0.01 <= step <= 0.6 + 0.01 for step in rto_steps)  # 0.2 then 0.4: the RTO doubles
    assert LinkRules().transit("a", "b") == (0.0, 0, False)
    with pytest.raises(ValueError):
        LinkFault(loss=1.0)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n", b"HTTP/1.1 403 Forbidden"),  # resolves to no node
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed"),
        (b"CONNECT nonsense HTTP/1.1\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nno colon\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
    ],
)
async def test_bad_requests_and_unknown_destinations_are_rejected(
    net: Net, request_bytes: bytes, status: bytes
) -> None:
    got, reader, writer = await tunnel(net.proxy, net.target, request_bytes)
    assert got == status
    assert await closed(reader)
    writer.close()
    assert (net.proxy.stats.rejected, net.proxy.stats.opened) == (1, 0)


async def test_unreachable_destination_is_a_bad_gateway() -> None:
    listener = await asyncio.start_server(_echo, "127.0.0.1", 0)
    target = f"127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    listener.close()
    await listener.wait_closed()  # the port is now (almost certainly) closed
    proxy = FaultProxy("a", LinkRules(), {target: "b"}.get)
    await proxy.start()
    try:
        status, _, writer = await tunnel(proxy, target)
        writer.close()
        assert status == b"HTTP/1.1 502 Bad Gateway"
    finally:
        await proxy.stop()


async def test_stop_closes_open_tunnels(net: Net) -> None:
    _, reader, writer = await tunnel(net.proxy, net.target)
    await net.proxy.stop()
    assert await closed(reader)
    writer.close()
    assert net.proxy.open_tunnels == 0
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", net.proxy.port)


# gRPC with mutual TLS, end to end through the tunnel.


@dataclass
class Grpc:
    rules: LinkRules
    proxy: FaultProxy
    call: Callable[..., Awaitable[bytes]]
    peers: list[str]  # the client certificate's common name, as the server saw it, per call


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # gRPC skips any proxy, even the channel option, for targets listed in no_grpc_proxy or else no_proxy.
    for name in ("no_grpc_proxy", "no_proxy", "grpc_proxy", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


async def _grpc_net(options: Callable[[FaultProxy], list[tuple[str, Any]]]) -> AsyncIterator[Grpc]:
    now = datetime.now(UTC)
    a, b = make_tls_identity("node-a", now), make_tls_identity("node-b", now)
    peers: list[str] = []

    async def echo(request: bytes, context: aio.ServicerContext[bytes, bytes]) -> bytes:
        peers.extend(name.decode() for name in context.auth_context().get("x509_common_name", []))
        return request

    server = aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}),)
    )
    credentials = grpc.ssl_server_credentials(
        [(b.key_pem, b.cert_pem)], root_certificates=a.cert_pem, require_client_auth=True
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    rules = LinkRules(random.Random(1))
    proxy = FaultProxy("node-a", rules, {f"127.0.0.1:{port}": "node-b"}.get)
    await proxy.start()
    # As GrpcTransport builds it: the peer's certificate is the only root, and the name checked is its node id.
    channel = aio.secure_channel(
        f"127.0.0.1:{port}",
        grpc.ssl_channel_credentials(b.cert_pem, a.key_pem, a.cert_pem),
        options=[
            ("grpc.ssl_target_name_override", "node-b"),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 200),
            *options(proxy),
        ],
    )
    method: aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary("/test.Echo/Echo")

    async def call(request: bytes, **kwargs: Any) -> bytes:
        response: bytes = await method(request, timeout=WAIT, **kwargs)
        return response

    try:
        yield Grpc(rules, proxy, call, peers)
    finally:
        await channel.close()
        await proxy.stop()
        await server.stop(None)


@pytest.fixture
async def via_http_proxy(no_proxy_env: None) -> AsyncIterator[Grpc]:
    async for net in _grpc_net(lambda proxy: [("grpc.http_proxy", f"http://{proxy.address}")]):
        yield net


async def test_grpc_with_mutual_tls_goes_through_the_proxy_and_fails_across_a_partition(via_http_proxy: Grpc) -> None:
    net = via_http_proxy
    assert await net.call(b"ping") == b"ping"
    assert net.peers == ["node-a"]  # mutual TLS, end to end
    assert net.proxy.stats.opened_to == {"node-b": 1}  # the call went through the proxy
    assert net.proxy.stats.bytes_to_destination > 0

    net.rules.isolate("node-b", ["node-a"])
    assert net.proxy.stats.cut == 1  # the open HTTP/2 connection was cut at once
    with pytest.raises(aio.AioRpcError) as failure:
        await net.call(b"partitioned")
    assert failure.value.code() is grpc.StatusCode.UNAVAILABLE
    # The call may fail on the cut connection before gRPC reconnects; the reconnection (when gRPC's own
    # backoff lets it) must be answered 503, and calls keep failing while the partition lasts.
    for _ in range(100):
        if net.proxy.stats.refused:
            break
        with pytest.raises(aio.AioRpcError):
            await net.call(b"still partitioned")
        await asyncio.sleep(0.05)
    assert net.proxy.stats.refused >= 1

    net.rules.heal()
    assert await net.call(b"healed", wait_for_ready=True) == b"healed"
    assert net.proxy.stats.opened == 2


async def test_grpc_latency_applies_to_the_tls_stream(via_http_proxy: Grpc) -> None:
    net = via_http_proxy
    assert await net.call(b"warm") == b"warm"
    net.rules.set_link("node-a", "node-b", LinkFault(latency=0.1))
    started = time.monotonic()
    assert await net.call(b"slow") == b"slow"
    assert time.monotonic() - started >= 0.19


async def test_no_proxy_makes_grpc_bypass_the_proxy_option_unless_no_grpc_proxy_is_set(
    no_proxy_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gRPC core (1.85) matches no_proxy entries as plain suffixes of the target host: "0.0.1" matches 127.0.0.1.
    monkeypatch.setenv("no_proxy", "localhost,0.0.1")
    async for net in _grpc_net(lambda proxy: [("grpc.http_proxy", f"http://{proxy.address}")]):
        assert await net.call(b"direct") == b"direct"
        assert net.proxy.stats.opened == 0  # silently bypassed
    # no_grpc_proxy, when set (even empty), is consulted instead of no_proxy.
    monkeypatch.setenv("no_grpc_proxy", "")
    async for net in _grpc_net(lambda proxy: [("grpc.http_proxy", f"http://{proxy.address}")]):
        assert await net.call(b"proxied") == b"proxied"
        assert net.proxy.stats.opened == 1
    assert os.environ["no_proxy"] == "localhost,0.0.1"


async def test_the_address_proxy_options_ignore_no_proxy(no_proxy_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")

    def options(proxy: FaultProxy) -> list[tuple[str, Any]]:
        return [
            ("grpc.address_http_proxy", proxy.address),
            ("grpc.address_http_proxy_enabled_addresses", "127.0.0.0/8"),
        ]

    async for net in _grpc_net(options):
        assert await net.call(b"proxied") == b"proxied"
        assert net.proxy.stats.opened_to == {"node-b": 1}
