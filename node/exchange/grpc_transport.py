"""The node-to-node API over grpc.aio with mutual TLS.

Certificates are self-signed and pinned by the signed roster: the server trusts the certificates of the
roster's active members (reloaded when the roster changes, without a restart), and a TLS peer may only
deliver envelopes whose sender is the member that certificate belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

import grpc
import structlog
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as pb
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2_grpc as pb_grpc
from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.cases.fields import MAX_VERSION
from node.clock import Clock
from node.crypto.roster import RosterError
from node.crypto.tls import TlsIdentity, cert_sha256
from node.errors import InvalidArgument, ResourceExhausted
from node.exchange.delivery import (
    DeliveryResult,
    DeliveryStatus,
    EnvelopeReceiver,
    MembershipRefused,
    TransportError,
)
from node.exchange.key_choice import accepted_certificates
from node.exchange.membership import RosterMembership, split_view
from node.exchange.rate_limit import PeerRateLimiter
from node.exchange.reconcile import ReconcileRefused
from node.exchange.server_limits import ServerLimits
from node.proto_types import timestamp, timestamp_from_proto

__all__ = ["ExchangeServicer", "GrpcTransport", "server_credentials"]

_log = structlog.get_logger(__name__)

_STATUS = {
    DeliveryStatus.ACCEPTED: pb.DELIVERY_STATUS_ACCEPTED,
    DeliveryStatus.DUPLICATE: pb.DELIVERY_STATUS_DUPLICATE,
    DeliveryStatus.REJECTED: pb.DELIVERY_STATUS_REJECTED,
}
_FROM_STATUS = {v: k for k, v in _STATUS.items()}
# Worth trying again later; anything else is final for the batch.
TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.FAILED_PRECONDITION,  # a stale roster: fetch the newer one, then retry
}


def server_credentials(
    identity: Callable[[], TlsIdentity],
    membership: Callable[[], RosterMembership],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> grpc.ServerCredentials:
    """Mutual TLS that presents `identity()` (which may change with a roster that lists a rotated certificate)
    and trusts every certificate the roster accepts from its members: suspended and revoked members too, so
    that they hear why they are refused (a signed refusal) instead of a closed socket."""

    def trust_bundle() -> bytes:
        at = now()
        return b"".join(pem.encode() for m in membership().roster.members for _, pem in accepted_certificates(m, at))

    def configuration(mine: TlsIdentity, bundle: bytes) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration([(mine.key_pem, mine.cert_pem)], bundle)

    state = {"bundle": trust_bundle(), "cert": identity().cert_pem}

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        bundle, mine = trust_bundle(), identity()
        if bundle == state["bundle"] and mine.cert_pem == state["cert"]:
            return None  # unchanged
        state["bundle"], state["cert"] = bundle, mine.cert_pem
        return configuration(mine, bundle)

    # grpc accepts None from the fetch callback ("unchanged"); its type stubs do not say so.
    return grpc.dynamic_ssl_server_credentials(
        configuration(identity(), state["bundle"]),
        fetch,  # type: ignore[arg-type]
        require_client_authentication=True,
    )


class ExchangeServicer(pb_grpc.ExchangeServiceServicer):
    def __init__(
        self,
        *,
        receiver: EnvelopeReceiver,
        membership: Callable[[], RosterMembership],
        signed_rosters: Callable[[int], list[bytes]],
        limiter: PeerRateLimiter,
        run_blocking: Callable[..., Awaitable[Any]],
        on_contact: Callable[[str], None] = lambda _peer: None,
        on_newer_roster: Callable[[str], object] = lambda _peer: None,
        clock: Clock | None = None,
        limits: ServerLimits | None = None,
        reconciler: Callable[..., bytes] | None = None,
        sign_refusal: Callable[[str, str, str], bytes] | None = None,
    ) -> None:
        """`sign_refusal(member, code, reason)`: this node's signed refusal of a suspended or revoked caller
        (without it, such a call is aborted FAILED_PRECONDITION)."""
        self._sign_refusal = sign_refusal
        # One signed refusal per refused member and roster version: a revoked member calling in a loop does
        # not make this node sign in a loop.
        self._refusals: dict[tuple[str, int], bytes] = {}
        self._receiver = receiver
        self._reconciler = reconciler  # Reconciliation.answer: a peer's sealed request -> our sealed answer
        self._limits = limits or ServerLimits()
        self._open_calls: dict[str, int] = {}  # per peer; only the event loop touches it
        self._clock = clock  # with it, a call is refused as a whole while this node's roster has expired
        self._membership = membership
        self._signed_rosters = signed_rosters
        self._limiter = limiter
        self._run = run_blocking
        self._on_contact = on_contact
        self._on_newer_roster = on_newer_roster

    async def Deliver(self, request: pb.DeliverRequest, context: aio.ServicerContext[Any, Any]) -> pb.DeliverResponse:
        membership = self._membership()
        peer = _peer_member(context, membership)
        if peer is None:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "the TLS certificate is not a member's")
            raise AssertionError("unreachable")
        async with self._peer_call(peer, context):
            return await self._deliver(request, context, membership, peer)

    @asynccontextmanager
    async def _peer_call(self, peer: str, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[None]:
        """One call open from `peer`; beyond `max_calls_per_peer` at once, RESOURCE_EXHAUSTED."""
        most = self._limits.max_calls_per_peer
        if self._open_calls.get(peer, 0) >= most:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"too many calls open from {peer}: at most {most} at once"
            )
        self._open_calls[peer] = self._open_calls.get(peer, 0) + 1
        try:
            yield
        finally:
            self._open_calls[peer] -= 1
            if not self._open_calls[peer]:
                del self._open_calls[peer]

    async def _deliver(
        self,
        request: pb.DeliverRequest,
        context: aio.ServicerContext[Any, Any],
        membership: RosterMembership,
        peer: str,
    ) -> pb.DeliverResponse:
        if request.roster_version > membership.version:
            self._on_newer_roster(peer)  # we lag: fetch the newer roster from the caller, in the background
        if not membership.is_active(peer):
            return await self._refuse_member(context, membership, peer)
        self._on_contact(peer)  # the peer is up: our own backoff towards it can reset
        if request.roster_version < membership.version:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"stale roster {request.roster_version}; this node trusts version {membership.version}",
            )
        if self._clock is not None and membership.expired(self._clock.now()):
            # The whole call, not each message (the receiver's ROSTER_EXPIRED): the caller backs off and keeps
            # its messages queued, after it has told us of any newer roster (above) that would end this.
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"roster expired: this node's roster version {membership.version} expired at "
                f"{membership.expires_at.isoformat()}; it accepts nothing until a newer one is applied",
            )
        if split_view(membership, request.roster_version, request.roster_digest):
            _log.error("roster.split_view", peer=peer, version=membership.version, theirs=request.roster_digest.hex())
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"split view: {peer} trusts roster version {request.roster_version} with digest "
                f"{request.roster_digest.hex()[:16]}..., this node {membership.digest.hex()[:16]}...",
            )
        wait = self._limiter.admit(peer, len(request.envelopes), sum(len(e) for e in request.envelopes))
        if wait is not None:
            await context.abort_with_status(_retry_status(wait.total_seconds()))
        deadline = self._limits.deliver_deadline.total_seconds()
        try:
            async with asyncio.timeout(deadline):
                results = await self._run(lambda: self._receiver.deliver(list(request.envelopes), peer=peer))
        except TimeoutError:
            # What the receiver applied meanwhile stays applied: sent again, those messages are DUPLICATE.
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED, f"this node answers a delivery within {deadline:g} s: send again"
            )
            raise AssertionError("unreachable") from None
        except ResourceExhausted as error:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
            raise AssertionError("unreachable") from error
        return pb.DeliverResponse(
            roster_version=membership.version,
            results=[
                pb.DeliveryResult(
                    message_id=r.message_id,
                    status=_STATUS[r.status],
                    reason_code=r.reason_code,
                    reason=r.reason,
                    receipt=r.receipt,
                    receiver_time=timestamp(r.receiver_time),
                )
                for r in results
            ],
        )

    async def _refuse_member(
        self, context: aio.ServicerContext[Any, Any], membership: RosterMembership, peer: str
    ) -> pb.DeliverResponse:
        """Suspended or revoked: refuse the whole call, not each message, so that the sender holds its messages
        instead of losing them; with a signed refusal that says why, so that it stops until its roster changes."""
        member = membership.member(peer)
        revoked = member is not None and member.status == roster_pb2.MEMBER_STATUS_REVOKED
        code = "SENDER_REVOKED" if revoked else "SENDER_SUSPENDED"
        reason = (
            f"{peer} is {'revoked' if revoked else 'suspended'} in roster version {membership.version}, which "
            "this node trusts: it accepts nothing from it until a newer roster reinstates it"
        )
        if self._sign_refusal is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{code}: {reason}")
            raise AssertionError("unreachable")
        sign = self._sign_refusal
        refusal = self._refusals.get((peer, membership.version))
        if refusal is None:
            _log.warning("exchange.member_refused", peer=peer, code=code, version=membership.version)
            refusal = await self._run(lambda: sign(peer, code, reason))
            self._refusals = {k: v for k, v in self._refusals.items() if k[1] == membership.version}
            self._refusals[(peer, membership.version)] = refusal
        return pb.DeliverResponse(roster_version=membership.version, refusal=refusal)

    async def GetRoster(
        self, request: pb.GetRosterRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.GetRosterResponse:
        peer = _peer_member(context, self._membership())
        if peer is None:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "the TLS certificate is not a member's")
            raise AssertionError("unreachable")
        if request.have_version > MAX_VERSION:  # no roster is newer; nor does the version fit the store's column
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"have_version must be at most {MAX_VERSION}")
        async with self._peer_call(peer, context):
            return pb.GetRosterResponse(signed_rosters=self._signed_rosters(request.have_version))

    async def Reconcile(
        self, request: pb.ReconcileRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.ReconcileResponse:
        membership = self._membership()
        peer = _peer_member(context, membership)
        if peer is None or not membership.is_active(peer):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "only an active member may reconcile")
            raise AssertionError("unreachable")
        if self._reconciler is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node does not reconcile")
            raise AssertionError("unreachable")
        answer = self._reconciler
        async with self._peer_call(peer, context):
            try:
                sealed = await self._run(lambda: answer(request.envelope, peer=peer))
            except ReconcileRefused as error:
                _log.warning("reconcile.refused", peer=peer, code=error.code)
                await context.abort(_REFUSED[error.kind], str(error))
                raise AssertionError("unreachable") from None
            return pb.ReconcileResponse(envelope=sealed)


_REFUSED = {
    "denied": grpc.StatusCode.PERMISSION_DENIED,
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def _peer_member(context: aio.ServicerContext[Any, Any], membership: RosterMembership) -> str | None:
    certificates = list(context.auth_context().get("x509_pem_cert") or [])
    if not certificates:
        return None
    fingerprint = cert_sha256(certificates[0])
    for member in membership.roster.members:
        if member.tls_cert_sha256 == fingerprint or any(c.sha256 == fingerprint for c in member.previous_tls_certs):
            return member.node_id  # a previous certificate past its overlap fails the handshake already
    return None


def _receiver_time(result: pb.DeliveryResult) -> datetime | None:
    """The peer's clock on a result; None if it sent none, or one outside the protobuf range."""
    try:
        return timestamp_from_proto(result, "receiver_time", field="receiver_time")
    except InvalidArgument:
        return None


def _retry_status(seconds: float) -> grpc.Status:
    retry = any_pb2.Any()
    retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(seconds) + 1)))
    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="rate limit: try again later", details=[retry])
    return rpc_status.to_status(status)  # type: ignore[no-any-return]


class GrpcTransport:
    """Delivers batches to peers over mutual TLS; one channel per peer, from the roster's endpoints."""

    def __init__(
        self,
        identity: Callable[[], TlsIdentity],
        membership: Callable[[], RosterMembership],
        timeout: float = 30.0,
        on_rosters: Callable[[list[bytes]], None] | None = None,
        proxy: str = "",
    ) -> None:
        self._identity = identity
        # The sender's own persisted backoff decides when to try a peer again; the channel must not add
        # gRPC's default reconnect backoff (up to two minutes) on top, or a healed peer stays unreachable.
        self._options: list[tuple[str, Any]] = [
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        if proxy:
            self._options.append(("grpc.http_proxy", f"http://{proxy}"))
        self._membership = membership
        self._timeout = timeout
        self._on_rosters = on_rosters  # verifies and trusts newer rosters; raises if they do not verify
        self._channels: dict[str, tuple[str, aio.Channel]] = {}
        self._closing: set[asyncio.Future[None]] = set()  # channels replaced after a roster change

    def _stub(self, peer: str) -> pb_grpc.ExchangeServiceStub:
        member = self._membership().member(peer)
        if member is None or not member.endpoints or not member.tls_cert_pem:
            raise TransportError(f"the roster lists no endpoint and certificate for {peer}", transient=True)
        accepted = accepted_certificates(member, datetime.now(UTC))
        mine = self._identity()
        key = "|".join([member.endpoints[0], mine.sha256, *(sha for sha, _ in accepted)])
        cached = self._channels.get(peer)
        if cached is None or cached[0] != key:
            if cached is not None:
                # Calls still on the old channel finish (or time out); the new one serves what comes next.
                closing = asyncio.ensure_future(cached[1].close(grace=self._timeout))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
            credentials = grpc.ssl_channel_credentials(
                root_certificates="".join(pem for _, pem in accepted).encode(),
                private_key=mine.key_pem,
                certificate_chain=mine.cert_pem,
            )
            channel = aio.secure_channel(
                member.endpoints[0],
                credentials,
                options=[("grpc.ssl_target_name_override", peer), *self._options],
            )
            self._channels[peer] = (key, channel)
        return pb_grpc.ExchangeServiceStub(self._channels[peer][1])

    async def deliver(self, peer: str, envelopes: Sequence[bytes], *, caught_up: bool = False) -> list[DeliveryResult]:
        stub = self._stub(peer)
        membership = self._membership()
        request = pb.DeliverRequest(
            roster_version=membership.version, roster_digest=membership.digest, envelopes=list(envelopes)
        )
        try:
            response: pb.DeliverResponse = await cast(Any, stub).Deliver(request, timeout=self._timeout)
        except aio.AioRpcError as error:
            stale = error.code() is grpc.StatusCode.FAILED_PRECONDITION and "stale roster" in (error.details() or "")
            if stale and not caught_up and self._on_rosters is not None:
                # The peer trusts a newer roster: fetch it from the peer, verify it, and try once more.
                self._on_rosters(await self.fetch_rosters(peer))
                return await self.deliver(peer, envelopes, caught_up=True)
            raise TransportError(
                f"{error.code().name}: {error.details()}", transient=error.code() in TRANSIENT
            ) from error
        if response.refusal:
            if response.roster_version > membership.version and self._on_rosters is not None:
                await self._catch_up(peer)  # the refusal may come from a roster this node has not seen yet
            raise MembershipRefused(peer, response.refusal)
        return [
            DeliveryResult(
                r.message_id,
                _FROM_STATUS.get(r.status, DeliveryStatus.REJECTED),
                r.reason_code,
                r.reason,
                r.receipt,
                _receiver_time(r),
            )
            for r in response.results
        ]

    async def _catch_up(self, peer: str) -> None:
        assert self._on_rosters is not None
        try:
            self._on_rosters(await self.fetch_rosters(peer))
        except (TransportError, RosterError) as error:  # the next call tries again
            _log.warning("exchange.roster_catch_up_failed", peer=peer, error=str(error))

    async def fetch_rosters(self, peer: str) -> list[bytes]:
        """The signed rosters `peer` trusts beyond ours, oldest first."""
        stub = self._stub(peer)
        request = pb.GetRosterRequest(have_version=self._membership().version)
        try:
            response: pb.GetRosterResponse = await cast(Any, stub).GetRoster(request, timeout=self._timeout)
        except aio.AioRpcError as error:
            raise TransportError(f"{error.code().name}: {error.details()}", transient=True) from error
        return list(response.signed_rosters)

    async def reconcile(self, peer: str, envelope: bytes) -> bytes:
        """Send a sealed reconciliation request to `peer`; its sealed answer."""
        stub = self._stub(peer)
        try:
            response: pb.ReconcileResponse = await cast(Any, stub).Reconcile(
                pb.ReconcileRequest(envelope=envelope), timeout=self._timeout
            )
        except aio.AioRpcError as error:
            raise TransportError(
                f"{error.code().name}: {error.details()}", transient=error.code() in TRANSIENT
            ) from error
        return bytes(response.envelope)

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for _, channel in self._channels.values()), *self._closing)
