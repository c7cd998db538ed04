"""The FederationAdminService over real gRPC: the same data as the CLI's federation commands, for an admin
token only, and its bad input (unknown peer, malformed peer, bad limit or state) refused without a change."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import cast

import grpc
import pytest

from node.api._gen.hotline.node.v1 import federation_admin_service_pb2 as fa
from node.cases.model import OutboxMessage
from node.exchange.ports import InboxEntry, OutboxMark, OutboxStatus, PeerBackoff, PeerRefusal
from tests.conftest import Served

DE, BE = "de-hotline", "be-hotline"


def _seed(served: Served) -> dict[str, str]:
    now = served.clock.now()
    ids = {name: str(uuid.uuid4()) for name in ("de", "be", "fr")}
    with served.node.store.transaction() as tx:
        tx.enqueue_outbox(OutboxMessage(ids["de"], DE, "referral", "item-de", '{"url": "https://x.example/"}', now))
        tx.enqueue_outbox(OutboxMessage(ids["be"], BE, "referral", "item-be", "{}", now))
        tx.mark_outbox_many([OutboxMark(ids["be"], OutboxStatus.REJECTED, "MALFORMED: no url")], now)
        tx.set_peer_backoff(DE, PeerBackoff(2, now + timedelta(hours=1)), error="UNAVAILABLE: refused")
        tx.put_inbox_many([InboxEntry("fr-hotline", ids["fr"], "status", now, "rejected", "STALE", "too old")])
    return ids


async def test_status_outbox_and_rejections(served: Served) -> None:
    ids = _seed(served)
    federation = served.admin.federation
    status = await federation.GetFederationStatus(fa.GetFederationStatusRequest())
    assert status.node_id == served.node.config.node_id and status.roster_version == 0
    peers = {p.peer: p for p in status.peers}
    assert sorted(peers) == [BE, DE, "fr-hotline"]
    de = peers[DE]
    assert (de.outbox_pending, de.consecutive_failures, de.last_error, de.rejections) == (
        1,
        2,
        "UNAVAILABLE: refused",
        0,
    )
    assert de.HasField("next_attempt_at") and not de.HasField("last_success_at")
    assert peers[BE].rejections == 1 and not peers[BE].HasField("oldest_pending_at")
    outbox = await federation.ListOutbox(fa.ListOutboxRequest(state=fa.OUTBOX_STATE_PENDING))
    assert [(m.message_id, m.peer, m.state) for m in outbox.messages] == [(ids["de"], DE, fa.OUTBOX_STATE_PENDING)]
    refused = await federation.ListRejections(fa.ListRejectionsRequest(peer=BE))
    assert [(r.side, r.message_id, r.reason_code, r.reason) for r in refused.rejections] == [
        (fa.REJECTION_SIDE_BY_PEER, ids["be"], "MALFORMED", "no url")
    ]
    everything = await federation.ListRejections(fa.ListRejectionsRequest())
    assert {r.side for r in everything.rejections} == {fa.REJECTION_SIDE_BY_PEER, fa.REJECTION_SIDE_BY_NODE}


async def test_reset_peer_backoff(served: Served) -> None:
    _seed(served)
    federation = served.admin.federation
    assert (await federation.ResetPeerBackoff(fa.ResetPeerBackoffRequest(peer=DE))).messages_due == 0
    status = await federation.GetFederationStatus(fa.GetFederationStatusRequest())
    de = next(p for p in status.peers if p.peer == DE)
    assert de.consecutive_failures == 0 and not de.HasField("next_attempt_at")


@pytest.mark.parametrize(
    ("call", "request_", "code", "field"),
    [
        ("ResetPeerBackoff", fa.ResetPeerBackoffRequest(peer="xx-hotline"), grpc.StatusCode.NOT_FOUND, "peer"),
        ("ResetPeerBackoff", fa.ResetPeerBackoffRequest(peer="Not A Node"), grpc.StatusCode.INVALID_ARGUMENT, "peer"),
        ("ResetPeerBackoff", fa.ResetPeerBackoffRequest(), grpc.StatusCode.INVALID_ARGUMENT, "peer"),
        ("ListOutbox", fa.ListOutboxRequest(limit=5000), grpc.StatusCode.INVALID_ARGUMENT, "limit"),
        ("ListOutbox", fa.ListOutboxRequest(state=cast(fa.OutboxState, 42)), grpc.StatusCode.INVALID_ARGUMENT, "state"),
        ("ListRejections", fa.ListRejectionsRequest(limit=-1), grpc.StatusCode.INVALID_ARGUMENT, "limit"),
        ("ListRejections", fa.ListRejectionsRequest(peer="a"), grpc.StatusCode.INVALID_ARGUMENT, "peer"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    served: Served, call: str, request_: object, code: grpc.StatusCode, field: str
) -> None:
    _seed(served)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(served.admin.federation, call)(request_)
    assert caught.value.code() is code and field in (caught.value.details() or "")
    status = await served.admin.federation.GetFederationStatus(fa.GetFederationStatusRequest())
    assert next(p for p in status.peers if p.peer == DE).consecutive_failures == 2


async def test_only_an_admin_token_may_call(served: Served) -> None:
    _seed(served)
    for client in (served.analyst, served.lea, served.intake):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await client.federation.ResetPeerBackoff(fa.ResetPeerBackoffRequest(peer=DE))
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await served.anonymous.federation.GetFederationStatus(fa.GetFederationStatusRequest())
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
    status = await served.admin.federation.GetFederationStatus(fa.GetFederationStatusRequest())
    assert next(p for p in status.peers if p.peer == DE).consecutive_failures == 2


async def test_status_carries_a_peers_refusal_and_the_warnings_given(served: Served) -> None:
    now = served.clock.now()
    with served.node.store.transaction() as tx:
        tx.put_peer_refusal(PeerRefusal(DE, "SENDER_REVOKED", "revoked in version 7", 7, now, b"signed"))
        tx.give_warning("7:expiring", "ROSTER_EXPIRING", "roster version 7 expires soon", now)
    status = await served.admin.federation.GetFederationStatus(fa.GetFederationStatusRequest())
    (de,) = [p for p in status.peers if p.peer == DE]
    assert (de.refusal.reason_code, de.refusal.reason, de.refusal.roster_version) == (
        "SENDER_REVOKED",
        "revoked in version 7",
        7,
    )
    assert de.refusal.refused_at.ToDatetime(tzinfo=now.tzinfo) == now
    assert [(w.warning, w.code, w.detail) for w in status.warnings] == [
        ("7:expiring", "ROSTER_EXPIRING", "roster version 7 expires soon")
    ]
