"""Request ids: what a repeated create returns instead of creating again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select

from node.cases.ports import IdempotencyRecord
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import TransactionBase

__all__ = ["IdempotencyTxn"]


class IdempotencyTxn(TransactionBase):
    """The idempotency table of a transaction."""

    def get_idempotency(self, principal: str, request_id: str) -> IdempotencyRecord | None:
        row = _IDEMPOTENCY.first(self.c, {"k_principal": principal, "k_request_id": request_id})
        return IdempotencyRecord(row.method, row.fingerprint, row.result_id) if row else None

    def put_idempotency(self, principal: str, request_id: str, record: IdempotencyRecord, at: datetime) -> None:
        row = dict(
            principal=principal,
            request_id=request_id,
            method=record.method,
            fingerprint=record.fingerprint,
            result_id=record.result_id,
            created_at=at,
        )
        _INSERT_IDEMPOTENCY.run(self.c, [row])


_IDEMPOTENCY = Direct(
    select(t.idempotency).where(
        t.idempotency.c.principal == bindparam("k_principal"), t.idempotency.c.request_id == bindparam("k_request_id")
    )
)
_INSERT_IDEMPOTENCY = Direct(insert(t.idempotency))
