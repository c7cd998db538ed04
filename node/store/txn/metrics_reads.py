"""The reads the metrics take at scrape time: pending outbox depth per peer and item counts per state."""

from __future__ import annotations

from sqlalchemy import func, select

from node.exchange.ports import OutboxStatus
from node.metrics.ports import PendingDepth
from node.store import schema as t
from node.store.txn.transaction import TransactionBase

__all__ = ["MetricsReadsTxn"]


class MetricsReadsTxn(TransactionBase):
    """Aggregates, one row per peer or per state, answered from the (peer, status) and state indexes."""

    def pending_by_peer(self) -> list[PendingDepth]:
        return [PendingDepth(r.peer_node, int(r.messages), r.oldest) for r in self.c.execute(_PENDING_BY_PEER)]

    def item_counts_by_state(self) -> dict[str, int]:
        return {r.state: int(r.items) for r in self.c.execute(_ITEMS_BY_STATE)}


_PENDING_BY_PEER = (
    select(
        t.outbox.c.peer_node,
        func.count().label("messages"),
        func.min(t.outbox.c.created_at).label("oldest"),
    )
    .where(t.outbox.c.status == OutboxStatus.PENDING.value)
    .group_by(t.outbox.c.peer_node)
    .order_by(t.outbox.c.peer_node)
)
_ITEMS_BY_STATE = select(t.items.c.state, func.count().label("items")).group_by(t.items.c.state)
