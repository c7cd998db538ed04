"""The sending side's tables: the outbox, the receipts peers signed for delivered messages, and each peer's
backoff and clock skew."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, exists, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from node.cases.exchange_messages import KIND_REFERRAL
from node.cases.model import OutboxMessage
from node.cases.ports import ItemReceipt
from node.exchange.ports import OutboxDeferral, OutboxMark, OutboxStatus, PeerBackoff, PeerState, Receipt
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import _INSERT_OUTBOX, TransactionBase

__all__ = ["OutboxTxn"]


class OutboxTxn(TransactionBase):
    """The outbox, receipts and peer_state tables of a transaction."""

    def enqueue_outbox(self, message: OutboxMessage) -> None:
        """Written behind (see `c`), in the order queued: the item's own rows need not be written first."""
        if self.queued_peers is not None:
            self.queued_peers.add(message.peer_node)
        self._later(
            _INSERT_OUTBOX,
            [
                dict(
                    message_id=message.message_id,
                    peer_node=message.peer_node,
                    kind=message.kind,
                    item_id=message.item_id,
                    body=message.body,
                    status=OutboxStatus.PENDING.value,
                    attempts=0,
                    created_at=message.created_at,
                    next_attempt_at=message.created_at,
                    last_error="",
                )
            ],
        )

    def pending_outbox_after(
        self,
        peer_node: str,
        after_id: int,
        limit: int,
        *,
        due_at: datetime | None = None,
        horizon: datetime | None = None,
    ) -> list[tuple[int, OutboxMessage]]:
        """(outbox id, message) of `peer_node`'s pending messages past `after_id`, oldest first; with `due_at`,
        only the due ones that wait behind no message about the same item."""
        parameters: dict[str, Any] = {"k_peer": peer_node, "k_after": after_id, "k_limit": limit}
        if due_at is None:
            rows = _PENDING_AFTER.all(self.c, parameters)
        else:
            rows = _DUE_AFTER.all(
                self.c, {**parameters, "k_due": due_at, "k_horizon": horizon or datetime.max.replace(tzinfo=UTC)}
            )
        return [
            (r.outbox_id, OutboxMessage(r.message_id, r.peer_node, r.kind, r.item_id, r.body, r.created_at))
            for r in rows
        ]

    def cancel_pending_referrals(self, peer: str, reason: str) -> list[str]:
        waiting = (
            (t.outbox.c.peer_node == peer)
            & (t.outbox.c.status == OutboxStatus.PENDING.value)
            & (t.outbox.c.kind == KIND_REFERRAL)
        )
        rows = self.c.execute(select(t.outbox.c.item_id).where(waiting).order_by(t.outbox.c.outbox_id)).all()
        if rows:
            self.c.execute(
                update(t.outbox)
                .where(waiting)
                .values(status=OutboxStatus.REJECTED.value, last_error=reason[:500], next_attempt_at=None)
            )
        return [row.item_id for row in rows]

    def mark_outbox_many(self, marks: list[OutboxMark], at: datetime) -> None:
        """An acked message records `at` as its ack time."""
        if marks:
            _MARK_OUTBOX.run(
                self.c,
                [
                    {
                        "k_message_id": message_id,
                        "k_status": status.value,
                        "k_error": error[:500],
                        "k_acked_at": at if status is OutboxStatus.ACKED else None,
                    }
                    for message_id, status, error in marks
                ],
            )

    def defer_outbox_many(
        self, deferrals: list[OutboxDeferral], at: datetime, delay: Callable[[int], timedelta]
    ) -> None:
        if not deferrals:
            return
        ids = [d.message_id for d in deferrals]
        attempts = {r.message_id: r.attempts for r in _ATTEMPTS.all(self.c, {"k_message_ids": ids})}
        _DEFER_OUTBOX.run(
            self.c,
            [
                {
                    "k_message_id": message_id,
                    "k_attempts": attempts.get(message_id, 0) + 1,
                    "k_next": at + delay(attempts.get(message_id, 0) + 1),
                    "k_error": error[:500],
                }
                for message_id, error in deferrals
            ],
        )

    def put_receipts(self, receipts: list[Receipt]) -> None:
        """A receipt already stored for a message is kept (the insert does nothing on its key)."""
        if not receipts:
            return
        fresh = {}  # one row per message: the batch's last receipt for it
        for message_id, peer_node, item_id, accepted_at, receipt, at in receipts:
            fresh[message_id] = {
                "message_id": message_id,
                "peer_node": peer_node,
                "item_id": item_id,
                "accepted_at": accepted_at,
                "receipt": receipt,
                "recorded_at": at,
            }
        (_INSERT_RECEIPT_PG if self._postgres else _INSERT_RECEIPT_SQLITE).run(self.c, list(fresh.values()))

    def receipts_for_item(self, item_id: str) -> list[ItemReceipt]:
        rows = self.c.execute(
            select(t.receipts).where(t.receipts.c.item_id == item_id).order_by(t.receipts.c.accepted_at)
        )
        return [ItemReceipt(r.message_id, r.peer_node, r.accepted_at, r.receipt) for r in rows]

    def peer_backoff(self, peer: str) -> PeerBackoff:
        row = _PEER_STATE.first(self.c, {"k_peer": peer})
        return PeerBackoff(row.failures, row.next_attempt_at) if row else PeerBackoff()

    def set_peer_backoff(
        self, peer: str, backoff: PeerBackoff, *, error: str = "", success_at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {
            "failures": backoff.failures,
            "next_attempt_at": backoff.next_attempt_at,
            "last_error": error[:500],
        }
        if success_at is not None:
            values["last_success_at"] = success_at
        updated, _ = _UPDATE_PEER_STATE.run(self.c, [{"k_peer": peer, **values}])
        if updated == 0:
            _INSERT_PEER_STATE.run(self.c, [{"peer_node": peer, "last_success_at": success_at, **values}])

    def set_peer_clock(self, peer: str, skew: timedelta, at: datetime) -> None:
        values = {"clock_skew_ms": round(skew / timedelta(milliseconds=1)), "clock_measured_at": at}
        updated, _ = _UPDATE_PEER_STATE.run(self.c, [{"k_peer": peer, **values}])
        if updated == 0:
            _INSERT_PEER_STATE.run(self.c, [{"peer_node": peer, "failures": 0, "last_error": "", **values}])

    def peer_answered(self, peer: str, at: datetime, skew: timedelta | None) -> None:
        """set_peer_backoff(peer, PeerBackoff(), success_at=at) and, with a skew, set_peer_clock(peer, skew, at),
        in one statement."""
        values: dict[str, Any] = {"failures": 0, "next_attempt_at": None, "last_error": "", "last_success_at": at}
        if skew is not None:
            values |= {"clock_skew_ms": round(skew / timedelta(milliseconds=1)), "clock_measured_at": at}
        updated, _ = _UPDATE_PEER_STATE.run(self.c, [{"k_peer": peer, **values}])
        if updated == 0:
            _INSERT_PEER_STATE.run(self.c, [{"peer_node": peer, **values}])

    def peer_states(self) -> list[PeerState]:
        return [
            PeerState(
                r.peer_node,
                r.failures,
                r.next_attempt_at,
                r.last_error,
                r.last_success_at,
                None if r.clock_skew_ms is None else timedelta(milliseconds=r.clock_skew_ms),
                r.clock_measured_at,
            )
            for r in self.c.execute(select(t.peer_state).order_by(t.peer_state.c.peer_node))
        ]

    def has_pending(self, peer: str) -> bool:
        return _HAS_PENDING.first(self.c, {"k_peer": peer}) is not None

    def peers_with_pending(self) -> list[str]:
        """The peers with pending messages: a skip scan of the outbox's (peer, status) index, a few lookups per
        peer however many messages the outbox keeps (a DISTINCT would read the whole index)."""
        return _PEERS_WITH_PENDING.scalars(self.c)


# 'pending' below is OutboxStatus.PENDING, written out so that the query is plain text.
_PEERS_WITH_PENDING_TEXT = text(
    """
    WITH RECURSIVE peers(peer) AS (
        SELECT MIN(peer_node) FROM outbox
        UNION ALL
        SELECT (SELECT MIN(o.peer_node) FROM outbox o WHERE o.peer_node > peers.peer)
        FROM peers WHERE peers.peer IS NOT NULL
    )
    SELECT peer FROM peers
    WHERE peer IS NOT NULL
      AND EXISTS (SELECT 1 FROM outbox p WHERE p.peer_node = peers.peer AND p.status = 'pending')
    ORDER BY peer
    """
).columns(peer=String())
_PEERS_WITH_PENDING = Direct(_PEERS_WITH_PENDING_TEXT)
_HAS_PENDING = Direct(  # ix_outbox_peer_node_status serves it
    select(t.outbox.c.outbox_id)
    .where(t.outbox.c.peer_node == bindparam("k_peer"), t.outbox.c.status == OutboxStatus.PENDING.value)
    .limit(1)
)
_INSERT_RECEIPT_SQLITE = Direct(sqlite.insert(t.receipts).on_conflict_do_nothing(index_elements=["message_id"]))
_INSERT_RECEIPT_PG = Direct(postgresql.insert(t.receipts).on_conflict_do_nothing(index_elements=["message_id"]))
_PEER_STATE = Direct(select(t.peer_state).where(t.peer_state.c.peer_node == bindparam("k_peer")))
_UPDATE_PEER_STATE = Direct(update(t.peer_state).where(t.peer_state.c.peer_node == bindparam("k_peer")))
_INSERT_PEER_STATE = Direct(insert(t.peer_state))
_PENDING_AFTER_SELECT = (
    select(t.outbox)
    .where(
        t.outbox.c.peer_node == bindparam("k_peer"),
        t.outbox.c.status == OutboxStatus.PENDING.value,
        t.outbox.c.outbox_id > bindparam("k_after"),
    )
    .order_by(t.outbox.c.outbox_id)
    .limit(bindparam("k_limit"))
)
_PENDING_AFTER = Direct(_PENDING_AFTER_SELECT)
_EARLIER = aliased(t.outbox)


def _waiting(row: Any) -> Any:
    """A message deferred (attempted before) to after `k_due`; deferred beyond `k_horizon`, the clock was set
    back since, and it counts as due."""
    return and_(
        row.c.attempts > 0, row.c.next_attempt_at > bindparam("k_due"), row.c.next_attempt_at <= bindparam("k_horizon")
    )


# Due, and queued behind no pending message about the same item that is still waiting (order per item).
_DUE_AFTER = Direct(
    _PENDING_AFTER_SELECT.where(
        ~_waiting(t.outbox),
        ~exists().where(
            _EARLIER.c.peer_node == t.outbox.c.peer_node,
            _EARLIER.c.item_id == t.outbox.c.item_id,
            _EARLIER.c.status == OutboxStatus.PENDING.value,
            _EARLIER.c.outbox_id < t.outbox.c.outbox_id,
            _waiting(_EARLIER),
        ),
    )
)
_ATTEMPTS = Direct(
    select(t.outbox.c.message_id, t.outbox.c.attempts).where(
        t.outbox.c.message_id.in_(bindparam("k_message_ids", expanding=True))
    )
)
_DEFER_OUTBOX = Direct(
    update(t.outbox)
    .where(t.outbox.c.message_id == bindparam("k_message_id"))
    .values(attempts=bindparam("k_attempts"), next_attempt_at=bindparam("k_next"), last_error=bindparam("k_error"))
)
_MARK_OUTBOX = Direct(
    update(t.outbox)
    .where(t.outbox.c.message_id == bindparam("k_message_id"))
    .values(status=bindparam("k_status"), last_error=bindparam("k_error"), acked_at=bindparam("k_acked_at"))
)
