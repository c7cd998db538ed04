"""The notice queue (node.notices.ports.NoticeTransaction): what the node sends the police and hosting
providers itself, queued with the action and worked by the dispatcher."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from node.notices.compose import Notice
from node.notices.ports import NoticeRow, NoticeStatus, QueuedNotice
from node.notices.settings import NoticeKind
from node.store import schema as t
from node.store.txn.rows import record_values, row_values
from node.store.txn.transaction import TransactionBase

__all__ = ["NoticesTxn"]

_n = t.notices.c


class NoticesTxn(TransactionBase):
    """The notices table of a transaction."""

    def enqueue_notices(self, notices: list[Notice]) -> None:
        if notices:
            self.c.execute(
                insert(t.notices),
                [
                    {
                        **record_values(n),
                        "kind": str(n.kind),
                        "status": str(NoticeStatus.PENDING),
                        "attempts": 0,
                        "next_attempt_at": n.created_at,
                        "sent_at": None,
                        "last_error": "",
                    }
                    for n in notices
                ],
            )

    def due_notices(self, now: datetime, limit: int) -> list[QueuedNotice]:
        query = (
            select(t.notices)
            .where(_n.status == str(NoticeStatus.PENDING), _n.next_attempt_at <= now)
            .order_by(_n.next_attempt_at, _n.notice_id)
            .limit(limit)
        )
        return [
            QueuedNotice(
                Notice(**{**row_values(Notice, row), "kind": NoticeKind(row.kind)}),
                row.attempts,
            )
            for row in self.c.execute(query)
        ]

    def notice_sent(self, notice_id: str, now: datetime) -> bool:
        result = self.c.execute(
            update(t.notices)
            .where(_n.notice_id == notice_id, _n.status == str(NoticeStatus.PENDING))
            .values(
                status=str(NoticeStatus.SENT),
                attempts=_n.attempts + 1,
                sent_at=now,
                next_attempt_at=None,
                text="",
                xarf="",
                last_error="",
            )
        )
        return bool(result.rowcount)

    def notice_failed(self, notice_id: str, error: str, next_attempt_at: datetime | None) -> int:
        status = NoticeStatus.PENDING if next_attempt_at is not None else NoticeStatus.FAILED
        self.c.execute(
            update(t.notices)
            .where(_n.notice_id == notice_id)
            .values(
                status=str(status), attempts=_n.attempts + 1, next_attempt_at=next_attempt_at, last_error=error[:500]
            )
        )
        return int(self.c.execute(select(_n.attempts).where(_n.notice_id == notice_id)).scalar_one())

    def list_notices(self, status: NoticeStatus | None, limit: int) -> list[NoticeRow]:
        query = select(
            _n.notice_id,
            _n.item_id,
            _n.kind,
            _n.channel,
            _n.recipient,
            _n.status,
            _n.attempts,
            _n.created_at,
            _n.next_attempt_at,
            _n.sent_at,
            _n.last_error,
        )
        if status is not None:
            query = query.where(_n.status == str(status))
        rows = self.c.execute(query.order_by(_n.created_at.desc(), _n.notice_id).limit(limit))
        return [NoticeRow(*row[:5], NoticeStatus(row.status), *row[6:]) for row in rows]

    def retry_notice(self, notice_id: str, now: datetime) -> bool:
        result = self.c.execute(
            update(t.notices)
            .where(_n.notice_id == notice_id, _n.status == str(NoticeStatus.FAILED))
            .values(status=str(NoticeStatus.PENDING), next_attempt_at=now)
        )
        return bool(result.rowcount)
