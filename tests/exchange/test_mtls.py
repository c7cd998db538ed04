"""The node-to-node API over grpc.aio with mutual TLS, on loopback."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio
from sqlalchemy import select

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as pb
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2_grpc as pb_grpc
from node.cases.exchange_messages import Withdrawal, dump_body
from node.cases.model import ItemState, OutboxMessage
from node.clock import ManualClock
from node.crypto.tls import TlsIdentity, make_tls_identity
from node.exchange.delivery import RejectedMessage, TransportError
from node.exchange.grpc_transport import ExchangeServicer, GrpcTransport, server_credentials
from node.exchange.membership import RosterMembership
from node.exchange.rate_limit import PeerRateLimiter, RateLimit
from node.exchange.sender import PeerSender
from node.exchange.server_limits import ServerLimits
from node.store import schema as t
from tests.exchange.federation import Federation
from tests.exchange.test_exchange import _envelope, received, refer


async def _blocking(fn: Any, *args: Any) -> Any:
    return fn(*args)


class Served:
    def __init__(self, fed: Federation, identities: dict[str, TlsIdentity], server: aio.Server, port: int) -> None:
        self.fed, self.identities, self.server, self.port = fed, identities, server, port
        self.published: list[bytes] = []


async def serve_de(
    fed: Federation,
    *,
    options: Sequence[tuple[str, Any]] = (),
    limits: ServerLimits | None = None,
    run_blocking: Callable[..., Awaitable[Any]] = _blocking,
    on_newer_roster: Callable[[str], object] = lambda _peer: None,
    interceptors: Sequence[aio.ServerInterceptor] = (),
) -> Served:
    """The DE node's exchange server on loopback, with mutual TLS and the roster's pinned certificates."""
    clock = fed.clock
    published: list[bytes] = []  # what the DE node serves from GetRoster
    identities = {node_id: make_tls_identity(node_id, clock.now()) for node_id in fed.members}
    for member in fed.roster.members:
        member.tls_cert_pem = identities[member.node_id].cert_pem.decode()
        member.tls_cert_sha256 = identities[member.node_id].sha256
    fed.membership = RosterMembership(fed.roster)
    de = fed.members["de-hotline"]
    assert de.receiver is not None
    server = aio.server(options=list(options), interceptors=list(interceptors))
    pb_grpc.add_ExchangeServiceServicer_to_server(
        ExchangeServicer(
            receiver=de.receiver,
            membership=lambda: fed.membership,
            signed_rosters=lambda have: list(published),
            limiter=PeerRateLimiter(RateLimit(records_per_second=50, burst_seconds=1), clock),
            run_blocking=run_blocking,
            on_newer_roster=on_newer_roster,
            limits=limits,
            sign_refusal=lambda member, code, reason: de.crypto.sign_refusal(  # type: ignore[union-attr]
                member=member, code=code, reason=reason, refused_at=clock.now()
            ),
        ),
        server,
    )
    port = server.add_secure_port(
        "127.0.0.1:0", server_credentials(lambda: identities["de-hotline"], lambda: fed.membership)
    )
    await server.start()
    for member in fed.roster.members:
        if member.node_id == "de-hotline":
            member.endpoints.append(f"127.0.0.1:{port}")
    fed.membership = RosterMembership(fed.roster)
    served = Served(fed, identities, server, port)
    served.published = published
    return served


@pytest.fixture
async def mtls(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Served]:
    fed = Federation(tmp_path, clock)
    served = await serve_de(fed)
    yield served
    await served.server.stop(0)
    fed.close()


def _sender(served: Served, frm: str, identity: TlsIdentity) -> tuple[PeerSender, GrpcTransport]:
    fed = served.fed
    member = fed.members[frm]
    assert member.crypto is not None
    transport = GrpcTransport(lambda: identity, lambda: fed.membership, timeout=5)
    sender = PeerSender(
        peer="de-hotline",
        store=member.node.store,
        sealer=member.crypto,
        transport=transport,
        clock=fed.clock,
        is_active=fed.membership.is_active,
        run_blocking=_blocking,
        rng=random.Random(1),
    )
    return sender, transport


async def test_a_referral_crosses_mutual_tls_and_comes_back_with_a_receipt(mtls: Served) -> None:
    origin_id = refer(mtls.fed)
    sender, transport = _sender(mtls, "nl-hotline", mtls.identities["nl-hotline"])
    try:
        assert await sender.send_once() == 1
    finally:
        await transport.close()
    assert received(mtls.fed, origin_id)
    assert len(mtls.fed.members["nl-hotline"].node.cases.receipts(origin_id)) == 1
    # The answer carried the receiver's clock: the sender measured and kept its skew (one clock here: none).
    assert sender.clock_skew == timedelta(0)
    with mtls.fed.members["nl-hotline"].node.store.transaction(read_only=True) as tx:
        assert [(s.peer, s.clock_skew) for s in tx.peer_states()] == [("de-hotline", timedelta(0))]


def member_channel(served: Served, identity: TlsIdentity) -> aio.Channel:
    """A channel to the DE server presenting `identity`'s certificate."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=served.identities["de-hotline"].cert_pem,
        private_key=identity.key_pem,
        certificate_chain=identity.cert_pem,
    )
    return aio.secure_channel(
        f"127.0.0.1:{served.port}", credentials, options=[("grpc.ssl_target_name_override", "de-hotline")]
    )


async def _deliver_raw(served: Served, identity: TlsIdentity, envelopes: list[bytes], roster_version: int) -> Any:
    async with member_channel(served, identity) as channel:
        stub: Any = pb_grpc.ExchangeServiceStub(channel)
        return await stub.Deliver(pb.DeliverRequest(roster_version=roster_version, envelopes=envelopes), timeout=5)


async def test_the_certificate_of_one_member_cannot_send_as_another(mtls: Served) -> None:
    response = await _deliver_raw(mtls, mtls.identities["fr-hotline"], [_envelope(mtls.fed)], 1)
    assert [(r.status, r.reason_code) for r in response.results] == [(pb.DELIVERY_STATUS_REJECTED, "PEER_MISMATCH")]
    assert response.results[0].receiver_time.ToDatetime(tzinfo=UTC) == mtls.fed.clock.now()  # refusals too


async def test_a_certificate_the_roster_does_not_list_cannot_connect(mtls: Served) -> None:
    stranger = make_tls_identity("xx-hotline", mtls.fed.clock.now())
    with pytest.raises(aio.AioRpcError) as caught:
        await _deliver_raw(mtls, stranger, [_envelope(mtls.fed)], 1)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_a_stale_roster_is_refused_and_the_sender_will_retry(mtls: Served) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await _deliver_raw(mtls, mtls.identities["nl-hotline"], [_envelope(mtls.fed)], 0)
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "stale roster" in (caught.value.details() or "")
    older = RosterMembership(roster_pb2.Roster.FromString(mtls.fed.roster.SerializeToString()))
    mtls.fed.roster.version = 2  # the receiver moved on to version 2; this sender still trusts version 1
    mtls.fed.membership = RosterMembership(mtls.fed.roster)
    transport = GrpcTransport(lambda: mtls.identities["nl-hotline"], lambda: older, timeout=5)
    try:
        with pytest.raises(TransportError) as error:
            await transport.deliver("de-hotline", [_envelope(mtls.fed)])
        assert error.value.transient  # retried after the sender fetches the newer roster
    finally:
        await transport.close()


async def test_a_flood_beyond_the_rate_limit_is_told_to_wait(mtls: Served) -> None:
    await _deliver_raw(mtls, mtls.identities["nl-hotline"], [_envelope(mtls.fed) for _ in range(50)], 1)
    with pytest.raises(aio.AioRpcError) as caught:
        await _deliver_raw(mtls, mtls.identities["nl-hotline"], [_envelope(mtls.fed) for _ in range(10)], 1)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_a_sender_with_a_stale_roster_fetches_the_newer_one_from_the_peer_and_retries(mtls: Served) -> None:
    older = RosterMembership(roster_pb2.Roster.FromString(mtls.fed.roster.SerializeToString()))
    mtls.fed.roster.version = 2
    mtls.fed.membership = RosterMembership(mtls.fed.roster)  # DE trusts version 2
    mtls.published.append(b"signed roster v2")
    trusted = {"membership": older}
    fetched: list[list[bytes]] = []

    def accept(signed: list[bytes]) -> None:  # stands in for RosterState.accept, tested on its own
        fetched.append(signed)
        trusted["membership"] = mtls.fed.membership

    transport = GrpcTransport(
        lambda: mtls.identities["nl-hotline"], lambda: trusted["membership"], timeout=5, on_rosters=accept
    )
    try:
        results = await transport.deliver("de-hotline", [_envelope(mtls.fed)])
    finally:
        await transport.close()
    assert fetched == [[b"signed roster v2"]]
    assert len(results) == 1 and results[0].reason_code != "PEER_MISMATCH"


async def test_a_garbage_envelope_claiming_another_member_is_recorded_as_from_the_tls_peer(mtls: Served) -> None:
    message_id = "01a2eeee-0000-7000-8000-000000000000"
    garbage = envelope_pb2.SealedEnvelope(
        sender="fr-hotline", recipient="de-hotline", message_id=message_id, ciphertext=b"\x00" * 64
    )
    response = await _deliver_raw(mtls, mtls.identities["nl-hotline"], [garbage.SerializeToString()], 1)
    ((status, code),) = [(r.status, r.reason_code) for r in response.results]
    assert status == pb.DELIVERY_STATUS_REJECTED and code
    event = mtls.fed.members["de-hotline"].node.cases.list_events(after_seq=0, limit=1000)[-1]
    assert (event.kind, event.detail) == (
        "exchange.rejected",
        f"{code} from nl-hotline (claimed fr-hotline) message {message_id}",
    )


async def test_a_valid_envelope_of_another_member_is_recorded_as_from_the_tls_peer(mtls: Served) -> None:
    response = await _deliver_raw(mtls, mtls.identities["fr-hotline"], [_envelope(mtls.fed)], 1)
    ((result,),) = [list(response.results)]
    assert (result.status, result.reason_code) == (pb.DELIVERY_STATUS_REJECTED, "PEER_MISMATCH")
    event = mtls.fed.members["de-hotline"].node.cases.list_events(after_seq=0, limit=1000)[-1]
    assert event.detail == f"PEER_MISMATCH from fr-hotline (claimed nl-hotline) message {result.message_id}"


async def test_an_insider_withdrawing_another_members_referral_over_mtls_is_refused_on_both_sides(
    mtls: Served,
) -> None:
    fed = mtls.fed
    origin_id = refer(fed)
    sender, transport = _sender(mtls, "nl-hotline", mtls.identities["nl-hotline"])
    try:
        assert await sender.send_once() == 1
    finally:
        await transport.close()
    de_id = received(fed, origin_id)
    fr = fed.members["fr-hotline"].node
    with fr.store.transaction() as tx:  # fr's own outbox, any body it likes, signed with its own keys
        tx.enqueue_outbox(
            OutboxMessage(
                "01a2ffff-0000-7000-8000-000000000000",
                "de-hotline",
                "withdrawal",
                "insider",
                dump_body(Withdrawal("fr-hotline", origin_id, "not mine").to_json()),
                fed.clock.now(),
            )
        )
    sender, transport = _sender(mtls, "fr-hotline", mtls.identities["fr-hotline"])
    try:
        assert await sender.send_once() == 1
    finally:
        await transport.close()
    with fr.engine.connect() as connection:
        last_error = connection.execute(select(t.outbox.c.last_error)).scalar_one()
    assert last_error.startswith("NOT_ORIGIN: ")
    de = fed.members["de-hotline"].node
    assert de.cases.list_events(after_seq=0, limit=1000)[-1].detail.startswith("NOT_ORIGIN from fr-hotline message ")
    assert de.cases.get_item(de_id).state is ItemState.AWAITING_ASSESSMENT


def _rotate_tls(served: Served, node_id: str, overlap_until: datetime) -> TlsIdentity:
    """The roster lists a new certificate for `node_id`, and its old one as previous until `overlap_until`."""
    old, new = served.identities[node_id], make_tls_identity(node_id, served.fed.clock.now())
    member = next(m for m in served.fed.roster.members if m.node_id == node_id)
    previous = member.previous_tls_certs.add(sha256=old.sha256, pem=old.cert_pem.decode())
    previous.not_after.FromDatetime(overlap_until)
    member.tls_cert_pem, member.tls_cert_sha256 = new.cert_pem.decode(), new.sha256
    served.fed.membership = RosterMembership(served.fed.roster)
    return new


async def test_after_a_tls_rotation_both_certificates_are_accepted_during_the_overlap(mtls: Served) -> None:
    old = mtls.identities["nl-hotline"]
    new = _rotate_tls(mtls, "nl-hotline", datetime.now(UTC) + timedelta(days=1))
    for identity in (old, new):
        response = await _deliver_raw(mtls, identity, [_envelope(mtls.fed)], 1)
        assert [r.reason_code for r in response.results] != ["PEER_MISMATCH"]  # it is nl-hotline, either way


async def test_after_the_overlap_the_previous_certificate_cannot_connect(mtls: Served) -> None:
    old = mtls.identities["nl-hotline"]
    _rotate_tls(mtls, "nl-hotline", datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(aio.AioRpcError) as caught:
        await _deliver_raw(mtls, old, [_envelope(mtls.fed)], 1)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


class _Counting:
    """A transport that counts the calls it passes on."""

    def __init__(self, inner: GrpcTransport) -> None:
        self.inner, self.calls = inner, 0

    async def deliver(self, peer: str, envelopes: Sequence[bytes]) -> Any:
        self.calls += 1
        return await self.inner.deliver(peer, envelopes)


async def test_a_suspended_sender_is_told_why_in_a_signed_refusal_and_holds_until_the_roster_changes(
    mtls: Served,
) -> None:
    fed = mtls.fed
    origin_id = refer(fed)  # queued while nl-hotline was a full member
    older = RosterMembership(roster_pb2.Roster.FromString(fed.roster.SerializeToString()))
    fed.set_status("nl-hotline", roster_pb2.MEMBER_STATUS_SUSPENDED)  # de-hotline trusts version 2
    mtls.published.append(b"signed roster v2")
    trusted = {"membership": older}  # nl-hotline has not seen version 2 yet

    def accept(signed: list[bytes]) -> None:  # stands in for RosterState.accept, tested on its own
        trusted["membership"] = fed.membership

    nl = fed.members["nl-hotline"]
    assert nl.crypto is not None
    transport = _Counting(
        GrpcTransport(
            lambda: mtls.identities["nl-hotline"], lambda: trusted["membership"], timeout=5, on_rosters=accept
        )
    )

    def start() -> PeerSender:  # as the node does at start
        assert nl.crypto is not None
        return PeerSender(
            peer="de-hotline",
            store=nl.node.store,
            sealer=nl.crypto,
            transport=transport,
            clock=fed.clock,
            is_active=lambda peer: trusted["membership"].is_active(peer),
            run_blocking=_blocking,
            rng=random.Random(1),
            roster_version=lambda: trusted["membership"].version,
        )

    sender = start()
    try:
        assert await sender.send_once() == 0
        assert trusted["membership"].version == 2  # the refusal came with the roster it was made under
        assert sender.refused is not None and sender.refused.reason_code == "SENDER_SUSPENDED"
        with nl.node.store.transaction(read_only=True) as tx:
            (state,) = tx.peer_states()
        assert state.last_error == (
            "SENDER_SUSPENDED: nl-hotline is suspended in roster version 2, which this node trusts: it accepts "
            "nothing from it until a newer roster reinstates it (held until the roster changes)"
        )
        events = nl.node.cases.list_events(after_seq=0, limit=1000)
        assert [e.detail for e in events if e.kind == "exchange.refused_by_peer"] == [
            f"de-hotline refused this node: {state.last_error.removesuffix(' (held until the roster changes)')}"
        ]
        assert await sender.send_once() == 0 and transport.calls == 1  # held: it does not call again
        sender = start()  # a restart: a new sender on the same store, which kept the refusal
        assert await sender.send_once() == 0 and transport.calls == 1  # still held: no retry after the restart
        assert sender.refused is not None and sender.refused.roster_version == 2
        fed.set_status("nl-hotline", roster_pb2.MEMBER_STATUS_FULL)  # reinstated in version 3
        trusted["membership"] = fed.membership
        assert await sender.send_once() == 1 and transport.calls == 2
        with nl.node.store.transaction(read_only=True) as tx:
            assert tx.peer_refusals() == []  # the new roster lifted it
    finally:
        await transport.inner.close()
    assert received(fed, origin_id)
    assert len(nl.node.cases.receipts(origin_id)) == 1


async def test_a_refusal_signed_by_another_member_is_not_believed(mtls: Served) -> None:
    fed = mtls.fed
    fr, nl = fed.members["fr-hotline"].crypto, fed.members["nl-hotline"].crypto
    assert fr is not None and nl is not None
    forged = fr.sign_refusal(member="nl-hotline", code="SENDER_REVOKED", reason="forged", refused_at=fed.clock.now())
    with pytest.raises(RejectedMessage) as refused:
        nl.verify_refusal(forged, peer="de-hotline")
    assert refused.value.code == "BAD_REFUSAL"
