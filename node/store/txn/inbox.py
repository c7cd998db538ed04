"""The receiving side's tables: every message received from a peer, with its result, to deduplicate on; and
the messages held until the item they are about arrives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select

from node.exchange.ports import HeldMessage, InboxEntry
from node.store import schema as t
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
            for row in self.c.execute(_INBOX_MANY, {"k_sender": sender, "k_message_ids": message_ids}):
                entry = InboxEntry(*row)
                found[(entry.sender, entry.message_id)] = entry
        return found

    def put_inbox_many(self, entries: list[InboxEntry]) -> None:
        if entries:
            self.c.execute(
                insert(t.inbox),
                [{**e._asdict(), "reason_code": e.reason_code[:40], "reason": e.reason[:500]} for e in entries],
            )

    def hold_message(self, held: HeldMessage) -> None:
        self.c.execute(insert(t.held_messages), held._asdict())

    def held_count(self, sender: str) -> int:
        query = select(func.count()).select_from(t.held_messages).where(t.held_messages.c.sender == sender)
        return int(self.c.execute(query).scalar_one())

    def take_held(self, origin_node: str, origin_item_id: str) -> list[HeldMessage]:
        where = (t.held_messages.c.origin_node == origin_node, t.held_messages.c.origin_item_id == origin_item_id)
        return self._take(*where)

    def drop_expired_held(self, now: datetime) -> list[HeldMessage]:
        return self._take(t.held_messages.c.hold_until <= now)

    def _take(self, *where: Any) -> list[HeldMessage]:
        query = select(t.held_messages).where(*where)
        rows = self.c.execute(query.order_by(t.held_messages.c.held_at, t.held_messages.c.message_id)).all()
        if rows:
            self.c.execute(delete(t.held_messages).where(*where))
        return [HeldMessage(**row._mapping) for row in rows]


_INBOX_MANY = select(
    t.inbox.c.sender,
    t.inbox.c.message_id,
    t.inbox.c.kind,
    t.inbox.c.received_at,
    t.inbox.c.status,
    t.inbox.c.reason_code,
    t.inbox.c.reason,
    t.inbox.c.receipt,
).where(t.inbox.c.sender == bindparam("k_sender"), t.inbox.c.message_id.in_(bindparam("k_message_ids", expanding=True)))
