"""What the retention purge reads to learn when it can next have work (node.cases.upkeep): the oldest time a
cutoff could reach, the items closed since it looked (by the events' sequence, which every writer sharing the
database advances), and whether a message still waiting to be sent belongs to an item already purged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, select

from node.cases.event_kinds import EventKind
from node.exchange.ports import OutboxStatus
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import TransactionBase

__all__ = ["LAST_EVENT_SEQ", "RetentionDueTxn"]

_I = t.items.c
_OLDEST_CLOSED = Direct(select(func.min(_I.closed_at).label("at")).where(_I.is_open.is_(False)))
_OLDEST_REASON = Direct(select(func.min(t.inbox.c.received_at).label("at")).where(t.inbox.c.reason != ""))
_E = t.events.c
# The newest event's sequence number (0 with none): one indexed read, the primary key's maximum. Also read
# outside a transaction (SqlStore.last_event_seq): one statement is its own transaction (SQLite), or one that
# SQLAlchemy's pool rolls back when the connection returns.
LAST_EVENT_SEQ = Direct(select(func.coalesce(func.max(_E.seq), 0).label("seq")))
# The primary key's range: only the events written since the last look.
_CLOSED_BETWEEN = Direct(
    select(func.min(_E.occurred_at).label("at")).where(
        _E.seq > bindparam("k_after"), _E.seq <= bindparam("k_upto"), _E.kind == EventKind.ITEM_CLOSED.value
    )
)
_O = t.outbox.c
_WAITS_ON_PURGED = Direct(
    select(
        exists()
        .where(
            and_(
                _O.status == OutboxStatus.PENDING.value,
                _O.body != "",
                ~exists().where(_I.item_id == _O.item_id),
            )
        )
        .label("waits")
    )
)


class RetentionDueTxn(TransactionBase):
    def last_event_seq(self) -> int:
        return int(LAST_EVENT_SEQ.scalar(self.c))

    def oldest_retained(self) -> datetime | None:
        oldest = [at for at in (_OLDEST_CLOSED.scalar(self.c), _OLDEST_REASON.scalar(self.c)) if at is not None]
        return min(oldest, default=None)

    def closed_between(self, after_seq: int, upto_seq: int) -> datetime | None:
        result: datetime | None = _CLOSED_BETWEEN.scalar(self.c, {"k_after": after_seq, "k_upto": upto_seq})
        return result

    def outbox_waits_on_purged(self) -> bool:
        return bool(_WAITS_ON_PURGED.scalar(self.c))
