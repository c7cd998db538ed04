"""The receiving side's table: every message received from a peer, with its result, to deduplicate on."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from node.exchange.ports import InboxEntry
from node.store import schema as t
from node.store.txn.transaction import TransactionBase

__all__ = ["InboxTxn"]


class InboxTxn(TransactionBase):
    """The inbox table of a transaction."""

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
