"""The receiving side's tables: every message received from a peer, with its result, to deduplicate on; and
the messages held until the item they are about arrives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select

from node.exchange.ports import HeldMessage, InboxEntry
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.rows import record_columns
from node.store.txn.transaction import TransactionBase

__all__ = ["InboxTxn"]


class InboxTxn(TransactionBase):
    """The inbox and held_messages tables of a transaction."""

    def get_inbox_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], InboxEntry]:
        """The inbox entries of the (sender, message id) pairs that were received before."""
        found: dict[tuple[str, str], InboxEntry] = {}
        by_sender: dict[str, list[str]] = {}
        for sender, message_id in keys:
            by_sender.setdefault(sender, []).append(message_id)
        for sender, message_ids in by_sender.items():
            for row in _INBOX_MANY.all(self.c, {"k_sender": sender, "k_message_ids": message_ids}):
                entry = InboxEntry(*row)
                found[(entry.sender, entry.message_id)] = entry
        return found

    def put_inbox_many(self, entries: list[InboxEntry]) -> None:
        if entries:
            _INSERT_INBOX.run(
                self.c, [{**e._asdict(), "reason_code": e.reason_code[:40], "reason": e.reason[:500]} for e in entries]
            )

    def hold_message(self, held: HeldMessage) -> None:
        self.c.execute(insert(t.held_messages), held._asdict())
        self._held_present = True

    def held_count(self, sender: str) -> int:
        query = select(func.count()).select_from(t.held_messages).where(t.held_messages.c.sender == sender)
        return int(self.c.execute(query).scalar_one())

    def take_held(self, origin_node: str, origin_item_id: str) -> list[HeldMessage]:
        """Called for every referral a peer's batch applies, and almost always finds nothing: so the table is
        looked at once per transaction, and never through `c` (held messages are not write-behind rows, and
        `c` would write the batch's pending rows one referral at a time)."""
        if not self._may_hold():
            return []
        where = (t.held_messages.c.origin_node == origin_node, t.held_messages.c.origin_item_id == origin_item_id)
        return self._take(*where)

    def drop_expired_held(self, now: datetime) -> list[HeldMessage]:
        if not self._may_hold():
            return []
        return self._take(t.held_messages.c.hold_until <= now)

    def _may_hold(self) -> bool:
        if self._held_present is None:
            self._held_present = _ANY_HELD.first(self._conn) is not None
        return self._held_present

    def _take(self, *where: Any) -> list[HeldMessage]:
        query = select(t.held_messages).where(*where)
        rows = self._conn.execute(query.order_by(t.held_messages.c.held_at, t.held_messages.c.message_id)).all()
        if rows:
            self._conn.execute(delete(t.held_messages).where(*where))
        return [HeldMessage(**row._mapping) for row in rows]


_ANY_HELD = Direct(select(t.held_messages.c.message_id).limit(1))
_INSERT_INBOX = Direct(insert(t.inbox))
_INBOX_MANY = Direct(
    select(*record_columns(t.inbox, InboxEntry)).where(
        t.inbox.c.sender == bindparam("k_sender"), t.inbox.c.message_id.in_(bindparam("k_message_ids", expanding=True))
    )
)
