"""SQL implementation of the node's stores (the ports of node.cases, node.exchange and node.access), for SQLite
and PostgreSQL: the engine, its transactions, and the reads that run outside one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from node.errors import Aborted, StoreUnavailable
from node.hashes import HashAlgorithm
from node.store import schema as t
from node.store.txn.exchange_retention import ExchangeRetentionTxn
from node.store.txn.idempotency import IdempotencyTxn
from node.store.txn.inbox import InboxTxn
from node.store.txn.items import ItemsTxn
from node.store.txn.known_hashes import KnownHashesTxn
from node.store.txn.metrics_reads import MetricsReadsTxn
from node.store.txn.opinions import OpinionsTxn
from node.store.txn.outbox import OutboxTxn
from node.store.txn.reports import ReportsTxn
from node.store.txn.rosters import RostersTxn
from node.store.txn.tokens import TokensTxn
from node.store.txn.transaction import AUDIT_GENESIS, TransactionBase, _audit_hash

if TYPE_CHECKING:
    from node.access import TokenStore, TokenTransaction
    from node.cases.ports import CaseStore, CaseTransaction
    from node.exchange.ports import ExchangeStore, ExchangeTransaction, ReceivingStore, ReceivingTransaction
    from node.metrics.ports import MetricsStore, MetricsTransaction

__all__ = ["SqlStore", "SqlTransaction"]


class SqlStore:
    """The node's one store: it implements every port (cases, exchange, access) over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        # SQLite has one writer at a time. Writers queue on this lock rather than in SQLite's busy handler,
        # which sleeps in steps of up to 100 ms; readers (WAL) never wait.
        self._sqlite_writer = threading.Lock()

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[SqlTransaction]:
        writer_lock: AbstractContextManager[object] = (
            contextlib.nullcontext() if self._postgres or read_only else self._sqlite_writer
        )
        with _faults(), writer_lock, self.engine.connect() as connection:
            connection.info["read_only"] = read_only
            with connection.begin():
                tx = SqlTransaction(connection, postgres=self._postgres)
                yield tx
                tx.flush()

    def ping(self) -> None:
        """Return when the database answers a query; raise StoreUnavailable when it does not."""
        with _faults(), self.engine.connect() as connection:
            connection.execute(select(1))

    def iter_pdq_hashes(self) -> Iterator[tuple[int, bytes]]:
        query = select(t.known_hashes.c.known_hash_id, t.known_hashes.c.digest).where(
            t.known_hashes.c.algorithm == HashAlgorithm.PDQ.value
        )
        with self.engine.connect() as connection:
            for row in connection.execution_options(yield_per=10_000).execute(query):
                yield row.known_hash_id, bytes.fromhex(row.digest)

    def verify_audit_chain(self) -> int | None:
        """The sequence number of the first audit entry that does not verify, or None if all do."""
        previous = AUDIT_GENESIS
        with self.engine.connect() as connection:
            for row in connection.execute(select(t.audit_log).order_by(t.audit_log.c.seq)):
                if row.prev_hash != previous or row.entry_hash != _audit_hash(
                    previous, row.at, row.actor, row.action, row.subject, row.detail
                ):
                    return int(row.seq)
                previous = row.entry_hash
        return None


@contextmanager
def _faults() -> Iterator[None]:
    """Database errors that are about the database rather than the request, as the caller should see them: a
    unique or foreign key conflict, a serialization failure or a deadlock (SQLSTATE class 40) is a conflict to
    retry (Aborted); a refused, dropped or timed-out connection is an outage (StoreUnavailable). The driver's
    text, which names the server's host, port and database, stays in the chained exception, for the log."""
    try:
        yield
    except IntegrityError as exc:
        raise Aborted(_CONFLICT) from exc
    except (DBAPIError, DisconnectionError, PoolTimeout) as exc:
        if isinstance(exc, DBAPIError):
            sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
            if not (isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated) or (
                sqlite_code is not None and sqlite_code & 0xFF not in _SQLITE_OUTAGES
            ):
                raise  # a bad statement or value ("no such table" is an OperationalError too): a bug
            if str(getattr(exc.orig, "sqlstate", None) or "").startswith("40"):
                raise Aborted(_CONFLICT) from exc
        raise StoreUnavailable("the node's database is not answering; retry later") from exc


_CONFLICT = "a concurrent change conflicted with this one; retry the request"
# SQLite's primary result codes that mean the file, not the statement: BUSY, LOCKED, NOMEM, READONLY, IOERR,
# CORRUPT, FULL, CANTOPEN, PROTOCOL.
_SQLITE_OUTAGES = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15})


class SqlTransaction(
    ItemsTxn,
    ReportsTxn,
    KnownHashesTxn,
    OpinionsTxn,
    OutboxTxn,
    InboxTxn,
    ExchangeRetentionTxn,
    MetricsReadsTxn,
    RostersTxn,
    TokensTxn,
    IdempotencyTxn,
    TransactionBase,
):
    """One database transaction over every table, so that one transaction spans them all: it implements
    CaseTransaction, TokenTransaction, ExchangeTransaction, ReceivingTransaction and MetricsTransaction
    (checked below)."""


if TYPE_CHECKING:  # mypy checks here that the one store and its transaction implement every port

    def _as_stores(store: SqlStore) -> tuple[CaseStore, TokenStore, ExchangeStore, ReceivingStore, MetricsStore]:
        return store, store, store, store, store

    def _as_transactions(
        tx: SqlTransaction,
    ) -> tuple[CaseTransaction, TokenTransaction, ExchangeTransaction, ReceivingTransaction, MetricsTransaction]:
        return tx, tx, tx, tx, tx
