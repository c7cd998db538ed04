"""Request ids: what a repeated create returns instead of creating again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from node.cases.ports import IdempotencyRecord
from node.store import schema as t
from node.store.txn.transaction import TransactionBase

__all__ = ["IdempotencyTxn"]


class IdempotencyTxn(TransactionBase):
    """The idempotency table of a transaction."""

    def get_idempotency(self, principal: str, request_id: str) -> IdempotencyRecord | None:
        row = self.c.execute(
            select(t.idempotency).where(
                t.idempotency.c.principal == principal, t.idempotency.c.request_id == request_id
            )
        ).first()
        return IdempotencyRecord(row.method, row.fingerprint, row.result_id) if row else None

    def put_idempotency(self, principal: str, request_id: str, record: IdempotencyRecord, at: datetime) -> None:
        self.c.execute(
            insert(t.idempotency),
            dict(
                principal=principal,
                request_id=request_id,
                method=record.method,
                fingerprint=record.fingerprint,
                result_id=record.result_id,
                created_at=at,
            ),
        )
