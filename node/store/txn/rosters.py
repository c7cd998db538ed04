"""The trusted rosters, every version this node has verified."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import TransactionBase

__all__ = ["RostersTxn"]


class RostersTxn(TransactionBase):
    """The rosters table of a transaction."""

    def put_roster(self, version: int, signed_b64: str, at: datetime) -> None:
        """Keeping a version already kept, with the same bytes, changes nothing: a roster `roster apply` stored
        is kept again when the running node adopts it, and the two may race (the loser's insert conflicts, in
        its savepoint, and finds the same bytes). Other bytes under a kept version fail the transaction."""
        kept = self._kept_roster(version)
        if kept is None:
            try:
                with self.savepoint():
                    self.c.execute(
                        insert(t.rosters), {"version": version, "signed_roster": signed_b64, "trusted_at": at}
                    )
                return
            except IntegrityError:
                kept = self._kept_roster(version)
        if kept != signed_b64:
            raise RuntimeError(f"roster version {version} is kept already, with other bytes")

    def _kept_roster(self, version: int) -> str | None:
        kept: str | None = self.c.execute(
            select(t.rosters.c.signed_roster).where(t.rosters.c.version == version)
        ).scalar_one_or_none()
        return kept

    def rosters_after(self, version: int) -> list[tuple[int, str]]:
        return [(int(r.version), r.signed_roster) for r in _ROSTERS_AFTER.all(self.c, {"k_version": version})]


_ROSTERS_AFTER = Direct(
    select(t.rosters.c.version, t.rosters.c.signed_roster)
    .where(t.rosters.c.version > bindparam("k_version"))
    .order_by(t.rosters.c.version)
)
