"""The operator's view of the exchange's tables: refusals both ways, the outbox without bodies, and forgetting
a peer's backoff (node.exchange.ports.AdminTransaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, union_all, update

from node.exchange.delivery import DeliveryStatus
from node.exchange.ports import OutboxEntry, OutboxStatus, PeerBackoff, Rejection, RejectionSide
from node.store import schema as t
from node.store.txn.transaction import TransactionBase

__all__ = ["AdminReadsTxn"]


class AdminReadsTxn(TransactionBase):
    def rejection_counts(self) -> dict[str, int]:
        by_peer = select(t.outbox.c.peer_node.label("peer"), func.count().label("n")).where(
            t.outbox.c.status == OutboxStatus.REJECTED.value
        )
        by_node = select(t.inbox.c.sender.label("peer"), func.count().label("n")).where(
            t.inbox.c.status == DeliveryStatus.REJECTED.value
        )
        counts: dict[str, int] = {}
        for query in (by_peer.group_by(t.outbox.c.peer_node), by_node.group_by(t.inbox.c.sender)):
            for row in self.c.execute(query):
                counts[row.peer] = counts.get(row.peer, 0) + int(row.n)
        return counts

    def rejections(self, peer: str | None, limit: int) -> list[Rejection]:
        o, i = t.outbox.c, t.inbox.c
        sent = select(
            literal(RejectionSide.BY_PEER.value).label("side"),
            o.peer_node.label("peer"),
            o.message_id,
            o.kind,
            o.item_id,
            o.last_error.label("error"),
            literal("").label("reason_code"),
            o.created_at.label("at"),
        ).where(o.status == OutboxStatus.REJECTED.value)
        received = select(
            literal(RejectionSide.BY_NODE.value).label("side"),
            i.sender.label("peer"),
            i.message_id,
            i.kind,
            literal("").label("item_id"),
            i.reason.label("error"),
            i.reason_code,
            i.received_at.label("at"),
        ).where(i.status == DeliveryStatus.REJECTED.value)
        if peer is not None:
            sent, received = sent.where(o.peer_node == peer), received.where(i.sender == peer)
        both = union_all(sent, received).subquery()
        rows = self.c.execute(select(both).order_by(both.c.at.desc(), both.c.message_id).limit(limit))
        return [_rejection(r) for r in rows]

    def outbox_entries(self, peer: str | None, status: OutboxStatus | None, limit: int) -> list[OutboxEntry]:
        o = t.outbox.c
        query = select(
            o.message_id,
            o.peer_node,
            o.kind,
            o.item_id,
            o.status,
            o.attempts,
            o.created_at,
            o.next_attempt_at,
            o.acked_at,
            o.last_error,
        )
        if peer is not None:
            query = query.where(o.peer_node == peer)
        if status is not None:
            query = query.where(o.status == status.value)
        rows = self.c.execute(query.order_by(o.outbox_id).limit(limit))
        return [OutboxEntry._make((*r[:4], OutboxStatus(r.status), *r[5:])) for r in rows]

    def knows_peer(self, peer: str) -> bool:
        state = select(t.peer_state.c.peer_node).where(t.peer_state.c.peer_node == peer)
        queued = select(t.outbox.c.peer_node).where(t.outbox.c.peer_node == peer).limit(1)
        return self.c.execute(state).first() is not None or self.c.execute(queued).first() is not None

    def reset_peer_backoff(self, peer: str, now: datetime) -> int:
        self.c.execute(
            update(t.peer_state)
            .where(t.peer_state.c.peer_node == peer)
            .values(failures=PeerBackoff().failures, next_attempt_at=None)
        )
        o = t.outbox.c
        due = self.c.execute(
            update(t.outbox)
            .where(o.peer_node == peer, o.status == OutboxStatus.PENDING.value, o.attempts > 0, o.next_attempt_at > now)
            .values(next_attempt_at=now)
        )
        if due.rowcount and self.queued_peers is not None:
            self.queued_peers.add(peer)  # due now: the runtime's watcher must look for this peer's loop
        return int(due.rowcount)


def _rejection(row: Any) -> Rejection:
    side = RejectionSide(row.side)
    code, reason = row.reason_code, row.error
    if side is RejectionSide.BY_PEER:  # the outbox keeps "<reason code>: <reason>"
        code, _, reason = row.error.partition(": ")
    return Rejection(side, row.peer, row.message_id, row.kind, row.item_id, code, reason, row.at)
