"""The once-only warnings already given, kept so that a restart does not give them again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from node.exchange.ports import GivenWarning
from node.store import schema as t
from node.store.txn.transaction import TransactionBase

__all__ = ["WarningsGivenTxn"]


class WarningsGivenTxn(TransactionBase):
    """The warnings_given table of a transaction."""

    def give_warning(self, warning: str, code: str, detail: str, at: datetime) -> bool:
        """Two processes may give the same warning at once (a command and the running node): the loser's insert
        conflicts in its savepoint and it learns the warning was given."""
        table = t.warnings_given
        if self.c.execute(select(table.c.warning).where(table.c.warning == warning)).first() is not None:
            return False
        try:
            with self.savepoint():
                self.c.execute(
                    insert(table), {"warning": warning, "code": code[:40], "detail": detail[:500], "given_at": at}
                )
        except IntegrityError:
            return False
        return True

    def warnings_given(self) -> list[GivenWarning]:
        table = t.warnings_given
        rows = self.c.execute(select(table).order_by(table.c.given_at, table.c.warning))
        return [GivenWarning(r.warning, r.code, r.detail, r.given_at) for r in rows]
