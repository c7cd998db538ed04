"""The audit log's checkpoints (node.crypto.audit.Checkpoint, as JSON) and its head."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select

from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import AUDIT_GENESIS, TransactionBase

__all__ = ["AuditTxn"]


# Built once: every node signs a checkpoint daily (hourly by default), all its life.
_LAST_HASH = select(t.audit_log.c.entry_hash).order_by(t.audit_log.c.seq.desc()).limit(1).scalar_subquery()
_HEAD = Direct(select(func.count().label("entries"), _LAST_HASH.label("head")).select_from(t.audit_log))
_INSERT_CHECKPOINT = Direct(insert(t.audit_checkpoints))


class AuditTxn(TransactionBase):
    def audit_head(self) -> tuple[int, str]:
        """How many entries the audit log has, and the hash of the last (the genesis hash when it is empty)."""
        self._lock_appends()  # (PostgreSQL) no append commits in between: the count and the head agree
        ((count, head),) = _HEAD.all(self.c)
        return int(count), head or AUDIT_GENESIS

    def add_audit_checkpoint(self, *, entry_count: int, head_hash: str, signed_at: datetime, checkpoint: str) -> None:
        row = {"entry_count": entry_count, "head_hash": head_hash, "signed_at": signed_at, "checkpoint": checkpoint}
        _INSERT_CHECKPOINT.run(self.c, [row])

    def audit_checkpoints(self) -> list[str]:
        """Every stored checkpoint's JSON, oldest first."""
        query = select(t.audit_checkpoints.c.checkpoint).order_by(t.audit_checkpoints.c.seq)
        return [str(c) for c in self.c.execute(query).scalars()]
