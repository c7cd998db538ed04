"""Resource bounds of the exchange server (issue 14, item 3): roster catch-up is single-flight per peer and at
most once per interval, and stalled connections and calls are closed within the configured limits, against a
real exchange server on loopback with mutual TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio

from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as pb
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2_grpc as pb_grpc
from node.clock import ManualClock
from node.exchange.catch_up import RosterCatchUp
from node.exchange.server_limits import ServerLimits, server_options
from tests.exchange.federation import Federation
from tests.exchange.test_mtls import Served, member_channel, serve_de

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an HTTP/2 SETTINGS frame with no settings
SHORT = ServerLimits(
    handshake_timeout=timedelta(seconds=1),
    keepalive_time=timedelta(seconds=1),
    keepalive_timeout=timedelta(seconds=1),
    max_connection_idle=timedelta(seconds=1),
    max_connection_age=timedelta(seconds=2),
    max_connection_age_grace=timedelta(seconds=1),
    deliver_deadline=timedelta(seconds=1),
    max_concurrent_streams=16,
    max_calls_per_peer=2,
)
SLACK = 2.0  # seconds for the loopback, the event loop and a busy test machine


async def _blocking(fn: Any, *args: Any) -> Any:
    return fn(*args)


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Serve]:
    """Starts the DE server with the given servicer arguments and the SHORT limits as its grpc options."""
    started: list[tuple[Federation, Served]] = []

    async def start(**servicer: Any) -> Served:
        fed = Federation(tmp_path / str(len(started)), clock)
        servicer.setdefault("limits", SHORT)
        served = await serve_de(fed, options=server_options(servicer["limits"]), **servicer)
        started.append((fed, served))
        return served

    yield start
    for fed, served in started:
        await served.server.stop(0)
        fed.close()


# -- roster catch-up ---------------------------------------------------------------------------------------------


async def test_concurrent_claims_of_a_newer_roster_make_one_fetch_per_peer_per_interval(clock: ManualClock) -> None:
    fetched: list[str] = []
    release = asyncio.Event()

    async def fetch(peer: str) -> None:
        fetched.append(peer)
        await release.wait()

    catch_up = RosterCatchUp(fetch, clock, timedelta(seconds=10))
    started = [catch_up.request("nl-hotline") for _ in range(200)]
    await asyncio.sleep(0)
    assert started.count(True) == 1 and fetched == ["nl-hotline"]  # single flight
    assert catch_up.request("fr-hotline")  # another peer has its own
    release.set()
    await asyncio.sleep(0.01)
    assert not catch_up.request("nl-hotline")  # done, but the interval has not passed
    clock.advance(timedelta(seconds=9))
    assert not catch_up.request("nl-hotline")
    clock.advance(timedelta(seconds=1))
    assert catch_up.request("nl-hotline")
    await asyncio.sleep(0.01)
    await catch_up.stop()
    assert fetched == ["nl-hotline", "fr-hotline", "nl-hotline"]


async def test_a_failed_fetch_is_logged_and_tried_again_only_after_the_interval(clock: ManualClock) -> None:
    calls: list[str] = []

    async def fetch(peer: str) -> None:
        calls.append(peer)
        raise ConnectionError("peer unreachable")

    catch_up = RosterCatchUp(fetch, clock, timedelta(seconds=10))
    assert catch_up.request("nl-hotline")
    await asyncio.sleep(0.01)
    assert not catch_up.request("nl-hotline")
    clock.advance(timedelta(seconds=10))
    assert catch_up.request("nl-hotline")
    await asyncio.sleep(0.01)
    await catch_up.stop()
    assert calls == ["nl-hotline", "nl-hotline"]


async def test_200_deliveries_claiming_a_newer_roster_make_the_server_call_back_once(
    serve: Serve, clock: ManualClock
) -> None:
    fetched: list[str] = []

    async def fetch(peer: str) -> None:
        fetched.append(peer)
        await asyncio.sleep(0.2)  # a slow peer: the claims keep coming while the fetch is under way

    catch_up = RosterCatchUp(fetch, clock, timedelta(seconds=10))
    limits = ServerLimits(max_calls_per_peer=1000, max_concurrent_streams=1000)
    served = await serve(on_newer_roster=catch_up.request, limits=limits)
    async with member_channel(served, served.identities["nl-hotline"]) as channel:
        stub: Any = pb_grpc.ExchangeServiceStub(channel)
        claims = [stub.Deliver(pb.DeliverRequest(roster_version=2), timeout=10) for _ in range(200)]
        answers = await asyncio.gather(*claims)
    assert len(answers) == 200
    await catch_up.stop()
    assert fetched == ["nl-hotline"]


# -- stalled connections and calls -------------------------------------------------------------------------------


def _held_open(port: int, send: bytes, tls: ssl.SSLContext | None = None) -> float:
    """Opens a connection, sends `send` and nothing more; the seconds until the server closed it."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        conn: socket.socket = tls.wrap_socket(raw, server_hostname="de-hotline") if tls else raw
        conn.sendall(send)
        try:
            while conn.recv(65536):  # the server's SETTINGS, pings and GOAWAY: never answered
                pass
        except (ConnectionError, ssl.SSLError):
            pass
    return time.monotonic() - start


async def test_a_connection_that_sends_only_the_http2_preface_is_closed_within_the_handshake_timeout(
    serve: Serve,
) -> None:
    served = await serve()
    held = await asyncio.to_thread(_held_open, served.port, PREFACE)
    assert held < SHORT.handshake_timeout.total_seconds() + SLACK


async def test_a_connection_that_sends_nothing_is_closed_within_the_handshake_timeout(serve: Serve) -> None:
    served = await serve()
    held = await asyncio.to_thread(_held_open, served.port, b"")
    assert held < SHORT.handshake_timeout.total_seconds() + SLACK


async def test_a_member_connection_stalled_after_the_preface_is_closed_within_the_bound(
    serve: Serve, tmp_path: Path
) -> None:
    served = await serve()
    identity = served.identities["nl-hotline"]
    (tmp_path / "cert.pem").write_bytes(identity.cert_pem)
    (tmp_path / "key.pem").write_bytes(identity.key_pem)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    tls.set_alpn_protocols(["h2"])
    held = await asyncio.to_thread(_held_open, served.port, PREFACE + EMPTY_SETTINGS, tls)
    assert held < SHORT.bound().total_seconds() + SLACK


async def test_a_deliver_call_that_never_sends_its_request_is_closed_within_the_bound(serve: Serve) -> None:
    served = await serve()
    never = asyncio.Event()

    async def nothing() -> AsyncIterator[pb.DeliverRequest]:
        await never.wait()
        yield pb.DeliverRequest()

    async with member_channel(served, served.identities["nl-hotline"]) as channel:
        deliver = channel.stream_unary(
            "/hotline.exchange.v1.ExchangeService/Deliver",
            request_serializer=pb.DeliverRequest.SerializeToString,
            response_deserializer=pb.DeliverResponse.FromString,
        )
        start = time.monotonic()
        with pytest.raises(aio.AioRpcError) as caught:
            await deliver(nothing())  # no client deadline: only the server's limits end it
        held = time.monotonic() - start
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert held < SHORT.bound().total_seconds() + SLACK


async def test_a_delivery_the_server_works_on_beyond_its_deadline_is_answered_deadline_exceeded(
    serve: Serve,
) -> None:
    async def slow(fn: Any, *args: Any) -> Any:
        await asyncio.sleep(5)
        return fn(*args)

    served = await serve(run_blocking=slow)
    async with member_channel(served, served.identities["nl-hotline"]) as channel:
        stub: Any = pb_grpc.ExchangeServiceStub(channel)
        start = time.monotonic()
        with pytest.raises(aio.AioRpcError) as caught:
            await stub.Deliver(pb.DeliverRequest(roster_version=1), timeout=30)
        held = time.monotonic() - start
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "within 1 s" in (caught.value.details() or "")
    assert held < SHORT.deliver_deadline.total_seconds() + SLACK


async def test_a_peer_beyond_its_open_calls_is_told_resource_exhausted_and_others_are_not(serve: Serve) -> None:
    release = asyncio.Event()

    async def held(fn: Any, *args: Any) -> Any:
        await release.wait()
        return fn(*args)

    limits = ServerLimits(max_calls_per_peer=2, deliver_deadline=timedelta(seconds=20))
    served = await serve(run_blocking=held, limits=limits)
    async with (
        member_channel(served, served.identities["nl-hotline"]) as nl,
        member_channel(served, served.identities["fr-hotline"]) as fr,
    ):
        nl_stub: Any = pb_grpc.ExchangeServiceStub(nl)
        fr_stub: Any = pb_grpc.ExchangeServiceStub(fr)
        open_calls = [asyncio.ensure_future(nl_stub.Deliver(pb.DeliverRequest(roster_version=1), timeout=10))]
        open_calls.append(asyncio.ensure_future(nl_stub.Deliver(pb.DeliverRequest(roster_version=1), timeout=10)))
        await asyncio.sleep(0.5)  # both are open at the server
        with pytest.raises(aio.AioRpcError) as caught:
            await nl_stub.Deliver(pb.DeliverRequest(roster_version=1), timeout=10)
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert caught.value.details() == "too many calls open from nl-hotline: at most 2 at once"
        open_calls.append(asyncio.ensure_future(fr_stub.Deliver(pb.DeliverRequest(roster_version=1), timeout=10)))
        await asyncio.sleep(0.2)
        release.set()
        answers = await asyncio.gather(*open_calls)  # the held calls, and the other peer's, are answered
        assert len(answers) == 3
        # Once its calls are answered, the peer may call again.
        await nl_stub.Deliver(pb.DeliverRequest(roster_version=1), timeout=10)
