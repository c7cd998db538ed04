"""The FederationAdminService servicer: the operator's view of the federation (node.exchange.admin) over gRPC,
the same data the CLI's `status`, `outbox list`, `rejections list` and `peers reset-backoff` show."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from grpc import aio

from node.api._gen.hotline.node.v1 import federation_admin_service_pb2 as fa_pb
from node.api._gen.hotline.node.v1 import federation_admin_service_pb2_grpc as fa_grpc
from node.errors import InvalidArgument
from node.exchange.admin import FederationAdmin, FederationStatus
from node.exchange.ports import OutboxEntry, OutboxStatus, Rejection, RejectionSide
from node.proto_types import timestamp

__all__ = ["SERVICE_NAME", "FederationAdminServicer"]

SERVICE_NAME = fa_pb.DESCRIPTOR.services_by_name["FederationAdminService"].full_name
DEFAULT_LIMIT = 100
Context = aio.ServicerContext[Any, Any]

_STATES = {
    OutboxStatus.PENDING: fa_pb.OUTBOX_STATE_PENDING,
    OutboxStatus.ACKED: fa_pb.OUTBOX_STATE_ACKED,
    OutboxStatus.REJECTED: fa_pb.OUTBOX_STATE_REJECTED,
}
_SIDES = {RejectionSide.BY_PEER: fa_pb.REJECTION_SIDE_BY_PEER, RejectionSide.BY_NODE: fa_pb.REJECTION_SIDE_BY_NODE}


class FederationAdminServicer(fa_grpc.FederationAdminServiceServicer):
    """`run` runs a blocking call off the event loop (node.api.servicers.Backend.run)."""

    def __init__(self, admin: FederationAdmin, run: Callable[..., Awaitable[Any]]) -> None:
        self._admin, self._run = admin, run

    async def GetFederationStatus(
        self, request: fa_pb.GetFederationStatusRequest, context: Context
    ) -> fa_pb.GetFederationStatusResponse:
        return status_to_proto(await self._run(self._admin.status))

    async def ResetPeerBackoff(
        self, request: fa_pb.ResetPeerBackoffRequest, context: Context
    ) -> fa_pb.ResetPeerBackoffResponse:
        due = await self._run(self._admin.reset_backoff, request.peer)
        return fa_pb.ResetPeerBackoffResponse(messages_due=due)

    async def ListRejections(
        self, request: fa_pb.ListRejectionsRequest, context: Context
    ) -> fa_pb.ListRejectionsResponse:
        found = await self._run(self._admin.rejections, request.peer, request.limit or DEFAULT_LIMIT)
        return fa_pb.ListRejectionsResponse(rejections=[rejection_to_proto(r) for r in found])

    async def ListOutbox(self, request: fa_pb.ListOutboxRequest, context: Context) -> fa_pb.ListOutboxResponse:
        state = _state_from_proto(request.state)
        found = await self._run(self._admin.outbox, request.peer, state, request.limit or DEFAULT_LIMIT)
        return fa_pb.ListOutboxResponse(messages=[outbox_to_proto(e) for e in found])


def status_to_proto(status: FederationStatus) -> fa_pb.GetFederationStatusResponse:
    response = fa_pb.GetFederationStatusResponse(node_id=status.node_id)
    if status.roster is not None:
        response.roster_version = status.roster.version
        response.roster_expires_at.FromDatetime(status.roster.expires_at)
    for peer in status.peers:
        link = peer.link
        response.peers.append(
            fa_pb.PeerLink(
                peer=peer.peer,
                outbox_pending=peer.pending,
                oldest_pending_at=timestamp(peer.oldest_pending_at),
                consecutive_failures=link.failures if link else 0,
                next_attempt_at=timestamp(link.next_attempt_at if link else None),
                last_success_at=timestamp(link.last_success_at if link else None),
                last_error=link.last_error if link else "",
                rejections=peer.rejections,
                refusal=None
                if peer.refusal is None
                else fa_pb.PeerRefusal(
                    reason_code=peer.refusal.reason_code,
                    reason=peer.refusal.reason,
                    roster_version=peer.refusal.roster_version,
                    refused_at=timestamp(peer.refusal.refused_at),
                ),
            )
        )
    response.warnings.extend(
        fa_pb.GivenWarning(warning=w.warning, code=w.code, detail=w.detail, given_at=timestamp(w.given_at))
        for w in status.warnings
    )
    return response


def rejection_to_proto(rejection: Rejection) -> fa_pb.Rejection:
    return fa_pb.Rejection(
        side=_SIDES[rejection.side],
        peer=rejection.peer,
        message_id=rejection.message_id,
        kind=rejection.kind,
        item_id=rejection.item_id,
        reason_code=rejection.reason_code,
        reason=rejection.reason,
        at=timestamp(rejection.at),
    )


def outbox_to_proto(entry: OutboxEntry) -> fa_pb.OutboxMessage:
    return fa_pb.OutboxMessage(
        message_id=entry.message_id,
        peer=entry.peer,
        kind=entry.kind,
        item_id=entry.item_id,
        state=_STATES[entry.status],
        attempts=entry.attempts,
        created_at=timestamp(entry.created_at),
        next_attempt_at=timestamp(entry.next_attempt_at),
        acked_at=timestamp(entry.acked_at),
        last_error=entry.last_error,
    )


def _state_from_proto(value: int) -> OutboxStatus | None:
    if value == fa_pb.OUTBOX_STATE_UNSPECIFIED:
        return None
    for status, number in _STATES.items():
        if number == value:
            return status
    raise InvalidArgument(f"unknown enum value {value}", field="state")
