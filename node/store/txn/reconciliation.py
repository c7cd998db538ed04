"""What reconciliation reads and repairs: the items this node shares with a peer, the messages it queued for
that peer, each peer's last comparison, and the restores the database went through."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, insert, select, update

from node.cases.model import ItemState
from node.exchange.delivery import DeliveryStatus
from node.exchange.ports import OutboxStatus, ReconcileState, ReferralCopy, SentMessage, SharedItem
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import TransactionBase

__all__ = ["ReconciliationTxn"]

_WITHDRAWN = ItemState.WITHDRAWN.value


class ReconciliationTxn(TransactionBase):
    """The shared items, the outbox as reconciliation repairs it, and the peer_reconciliation and restores
    tables of a transaction."""

    def shared_items(self, peer: str, me: str, since: datetime, until: datetime, limit: int) -> list[SharedItem]:
        items = t.items.c
        in_range = and_(items.first_reported_at >= since, items.first_reported_at < until)
        columns = (
            items.item_id,
            items.origin_node,
            items.origin_item_id,
            items.status_sequence,
            items.first_reported_at,
            items.state,
        )
        referred = select(*columns).where(in_range, items.origin_node == "", items.referred_to == peer).limit(limit)
        assigned = select(*columns).where(in_range, items.origin_node == peer, items.assigned_node == me).limit(limit)
        shared = [
            SharedItem(me, r.item_id, r.status_sequence, r.first_reported_at, r.item_id, r.state == _WITHDRAWN)
            for r in self.c.execute(referred)
        ] + [
            SharedItem(peer, r.origin_item_id, r.status_sequence, r.first_reported_at, r.item_id, r.state == _WITHDRAWN)
            for r in self.c.execute(assigned)
        ]
        return sorted(shared, key=lambda s: (s.origin_node, s.origin_item_id))[:limit]

    def sent_about(self, peer: str, item_ids: list[str]) -> list[SentMessage]:
        if not item_ids:
            return []
        outbox = t.outbox.c
        rows = self.c.execute(
            select(outbox.message_id, outbox.kind, outbox.item_id, outbox.body, outbox.status, outbox.created_at)
            .where(outbox.peer_node == peer, outbox.item_id.in_(item_ids))
            .order_by(outbox.outbox_id)
        )
        return [
            SentMessage(r.message_id, r.kind, r.item_id, r.body, OutboxStatus(r.status), r.created_at) for r in rows
        ]

    def requeue_outbox(self, message_ids: list[str], at: datetime) -> int:
        if not message_ids:
            return 0
        self.queued_peers = None  # pending again, for peers this transaction does not know
        outbox = t.outbox.c
        done = self.c.execute(
            update(t.outbox)
            .where(outbox.message_id.in_(message_ids), outbox.body != "")
            .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=at, acked_at=None, last_error="")
        )
        return int(done.rowcount)

    def rewrite_outbox_body(self, message_id: str, body: str) -> None:
        outbox = t.outbox.c
        self.c.execute(
            update(t.outbox)
            .where(outbox.message_id == message_id, outbox.status == OutboxStatus.PENDING.value)
            .values(body=body)
        )

    def raise_status_sequence(self, item_id: str, sequence: int) -> bool:
        items = t.items.c
        done = self.c.execute(
            update(t.items)
            .where(items.item_id == item_id, items.status_sequence < sequence)
            .values(status_sequence=sequence, version=items.version + 1)
        )
        return bool(done.rowcount)

    def keep_referral_copy(self, copy: ReferralCopy) -> None:
        _DELETE_REFERRAL_COPY.run(
            self.c, [{"k_origin_node": copy.origin_node, "k_origin_item_id": copy.origin_item_id}]
        )
        values = copy._asdict()
        values["signed_referral"] = base64.b64encode(copy.signed_referral).decode()
        values["receipt"] = base64.b64encode(copy.receipt).decode()
        _INSERT_REFERRAL_COPY.run(self.c, [values])

    def referral_copies(self, origin_node: str, origin_item_ids: list[str]) -> list[ReferralCopy]:
        if not origin_item_ids:
            return []
        table = t.referral_copies
        rows = self.c.execute(
            select(table)
            .where(table.c.origin_node == origin_node, table.c.origin_item_id.in_(origin_item_ids))
            .order_by(table.c.origin_item_id)
        )
        return [
            ReferralCopy(
                r.origin_node,
                r.origin_item_id,
                r.item_id,
                r.sender,
                r.message_id,
                base64.b64decode(r.signed_referral),
                base64.b64decode(r.receipt),
                r.received_at,
            )
            for r in rows
        ]

    def forget_refused(self, sender: str, reason_code: str) -> int:
        inbox = t.inbox.c
        done = self.c.execute(
            delete(t.inbox).where(
                inbox.sender == sender,
                inbox.status == DeliveryStatus.REJECTED.value,
                inbox.reason_code == reason_code,
            )
        )
        return int(done.rowcount or 0)

    def put_reconciliation(self, state: ReconcileState) -> None:
        values = state._asdict()
        values["peer_node"] = values.pop("peer")
        values["detail"] = state.detail[:500]
        if state.agreed_at is None:
            del values["agreed_at"]
        table = t.peer_reconciliation
        if not self.c.execute(update(table).where(table.c.peer_node == state.peer).values(values)).rowcount:
            self.c.execute(insert(table), {"agreed_at": None, **values})

    def reconciliations(self) -> list[ReconcileState]:
        table = t.peer_reconciliation
        return [
            ReconcileState(r.peer_node, r.checked_at, r.agreed_at, r.differences, r.resent, r.detail)
            for r in self.c.execute(select(table).order_by(table.c.peer_node))
        ]

    def mark_restored(self, at: datetime, source: str) -> None:
        self.c.execute(insert(t.restores), {"restored_at": at, "source": source[:500]})

    def last_restored_at(self) -> datetime | None:
        latest: datetime | None = self.c.execute(
            select(t.restores.c.restored_at).order_by(t.restores.c.restored_at.desc()).limit(1)
        ).scalar_one_or_none()
        return latest


_DELETE_REFERRAL_COPY = Direct(
    delete(t.referral_copies).where(
        t.referral_copies.c.origin_node == bindparam("k_origin_node"),
        t.referral_copies.c.origin_item_id == bindparam("k_origin_item_id"),
    )
)
_INSERT_REFERRAL_COPY = Direct(insert(t.referral_copies))
