"""Retention over the exchange's tables: what the chain of custody keeps once a case is gone.

A delivered (acked or rejected) outbox message whose item has been purged loses its body, which carries the
URL, and keeps its ids, kind, times, status, the digest of the body and, in the receipts table, the peer's
signed receipt (ids, times and a digest: no URL). Its error keeps only the reason code. An inbox entry older
than the cutoff loses its free-text reason (a refusal may quote what was refused) and keeps its ids, times,
status, reason code and signed receipt. A message still pending is never touched: it has yet to be sent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import bindparam, exists, select, update

from node.exchange.ports import OutboxStatus
from node.store import schema as t
from node.store.txn.transaction import TransactionBase

__all__ = ["ExchangeRetentionTxn"]


class ExchangeRetentionTxn(TransactionBase):
    """The outbox and inbox, as retention clears them."""

    def clear_exchange_records(self, received_before: datetime, limit: int) -> int:
        outbox = t.outbox
        rows = self.c.execute(
            select(outbox.c.message_id, outbox.c.body, outbox.c.last_error)
            .where(
                outbox.c.status != OutboxStatus.PENDING.value,
                outbox.c.body != "",
                ~exists().where(t.items.c.item_id == outbox.c.item_id),
            )
            .limit(limit)
        ).all()
        if rows:
            self.c.execute(
                update(outbox)
                .where(outbox.c.message_id == bindparam("k_message_id"))
                .values(body="", body_sha256=bindparam("k_digest"), last_error=bindparam("k_error")),
                [
                    {
                        "k_message_id": r.message_id,
                        "k_digest": hashlib.sha256(r.body.encode()).hexdigest(),
                        "k_error": r.last_error.split(":", 1)[0],
                    }
                    for r in rows
                ],
            )
        inbox = self.c.execute(
            update(t.inbox).where(t.inbox.c.received_at < received_before, t.inbox.c.reason != "").values(reason="")
        )
        return len(rows) + int(inbox.rowcount or 0)
