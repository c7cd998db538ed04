"""The trusted rosters, every version this node has verified."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from node.store import schema as t
from node.store.txn.transaction import TransactionBase

__all__ = ["RostersTxn"]


class RostersTxn(TransactionBase):
    """The rosters table of a transaction."""

    def put_roster(self, version: int, signed_b64: str, at: datetime) -> None:
        """Keeping a version already kept, with the same bytes, changes nothing (a roster installed by
        `roster apply` is kept again when the running node adopts it)."""
        kept = self.c.execute(
            select(t.rosters.c.signed_roster).where(t.rosters.c.version == version)
        ).scalar_one_or_none()
        if kept == signed_b64:
            return
        self.c.execute(insert(t.rosters), {"version": version, "signed_roster": signed_b64, "trusted_at": at})

    def rosters_after(self, version: int) -> list[tuple[int, str]]:
        rows = self.c.execute(
            select(t.rosters.c.version, t.rosters.c.signed_roster)
            .where(t.rosters.c.version > version)
            .order_by(t.rosters.c.version)
        )
        return [(int(r.version), r.signed_roster) for r in rows]
