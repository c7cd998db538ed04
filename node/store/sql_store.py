"""SQL implementation of the node's stores (the ports of node.cases, node.exchange and node.access), for SQLite
and PostgreSQL: the engine, its transactions, and the reads that run outside one."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from node.crypto.audit import SCHEME_KEYED, Checkpoint, entry_hash
from node.errors import Aborted, StoreUnavailable
from node.hashes import HashAlgorithm
from node.store import schema as t
from node.store.txn.admin_reads import AdminReadsTxn
from node.store.txn.audit import AuditTxn
from node.store.txn.exchange_retention import ExchangeRetentionTxn
from node.store.txn.idempotency import IdempotencyTxn
from node.store.txn.inbox import InboxTxn
from node.store.txn.items import ItemsTxn
from node.store.txn.known_hashes import KnownHashesTxn
from node.store.txn.metrics_reads import MetricsReadsTxn
from node.store.txn.notices import NoticesTxn
from node.store.txn.opinions import OpinionsTxn
from node.store.txn.outbox import OutboxTxn
from node.store.txn.peer_refusals import PeerRefusalsTxn
from node.store.txn.reconciliation import ReconciliationTxn
from node.store.txn.reports import ReportsTxn
from node.store.txn.retention_due import LAST_EVENT_SEQ, RetentionDueTxn
from node.store.txn.rosters import RostersTxn
from node.store.txn.tokens import TokensTxn
from node.store.txn.transaction import AUDIT_GENESIS, TransactionBase
from node.store.txn.warnings_given import WarningsGivenTxn

if TYPE_CHECKING:
    from node.access import TokenStore, TokenTransaction
    from node.cases.ports import CaseStore, CaseTransaction
    from node.exchange.ports import (
        AdminStore,
        AdminTransaction,
        ExchangeStore,
        ExchangeTransaction,
        ReceivingStore,
        ReceivingTransaction,
        ReconcilingStore,
        ReconcilingTransaction,
    )
    from node.metrics.ports import MetricsStore, MetricsTransaction
    from node.notices.ports import NoticeStore, NoticeTransaction

__all__ = ["AuditProblem", "SqlStore", "SqlTransaction"]


class SqlStore:
    """The node's one store: it implements every port (cases, exchange, access) over one engine."""

    def __init__(self, engine: Engine, *, audit_key: bytes | None = None) -> None:
        """`audit_key`: the HMAC key new audit entries are hashed with (node.crypto.audit); without it, SHA-256."""
        self.engine = engine
        self._audit_key = audit_key
        self._postgres = engine.dialect.name == "postgresql"
        # SQLite has one writer at a time. Writers queue on this lock rather than in SQLite's busy handler,
        # which sleeps in steps of up to 100 ms; readers (WAL) never wait.
        self._sqlite_writer = threading.Lock()
        # Told of every transaction: (read only?, seconds from asking to the end, committed?). The metrics.
        self.observe: Callable[[bool, float, bool], None] | None = None
        self._queue_watchers: list[Callable[[frozenset[str] | None], None]] = []
        self._event_watchers: list[Callable[[frozenset[str]], None]] = []

    def watch_queue(self, watcher: Callable[[frozenset[str] | None], None]) -> None:
        """Call `watcher` on the committing thread after each commit that queued outbox messages, with their
        peers (None when messages of peers it does not know were made pending again), before the commit's
        listeners are told."""
        self._queue_watchers.append(watcher)

    def watch_events(self, watcher: Callable[[frozenset[str]], None]) -> None:
        """Call `watcher` on the committing thread after each commit that wrote events, with their kinds, before
        the commit's listeners are told."""
        self._event_watchers.append(watcher)

    @contextmanager
    def transaction(self, *, read_only: bool = False, single_read: bool = False) -> Iterator[SqlTransaction]:
        """`single_read` (read-only): the block runs one statement, straight on the connection, which reads
        consistently on its own: on SQLite in autocommit mode (its own implicit transaction), on PostgreSQL in
        the driver's implicit transaction, which the pool rolls back when the connection returns. It saves a
        BEGIN and a COMMIT; a second statement is refused (RuntimeError)."""
        read_only = read_only or single_read
        writer_lock: AbstractContextManager[object] = (
            contextlib.nullcontext() if self._postgres or read_only else self._sqlite_writer
        )
        started, committed = time.perf_counter(), False
        try:
            with _faults(), writer_lock, self.engine.connect() as connection:
                connection.info["read_only"] = read_only
                if single_read:
                    tx = SqlTransaction(connection, postgres=self._postgres, single_read=True)
                    yield tx
                else:
                    with connection.begin():
                        tx = SqlTransaction(connection, postgres=self._postgres, audit_key=self._audit_key)
                        yield tx
                        tx.flush()
            committed = True
            self._tell_watchers(tx)
        finally:
            if self.observe is not None:
                self.observe(read_only, time.perf_counter() - started, committed)

    def _tell_watchers(self, tx: SqlTransaction) -> None:
        """After a commit: what it queued, and the kinds of the events it wrote."""
        if tx.queued_peers != set():
            queued = None if tx.queued_peers is None else frozenset(tx.queued_peers)
            for watcher in self._queue_watchers:
                watcher(queued)
        if tx.written_kinds:
            kinds = frozenset(tx.written_kinds)
            for told in self._event_watchers:
                told(kinds)

    def ping(self) -> None:
        """Return when the database answers a query; raise StoreUnavailable when it does not."""
        with _faults(), self.engine.connect() as connection:
            connection.execute(select(1))

    def last_event_seq(self) -> int:
        """The newest event's sequence number (0 with none): what event streams are woken by when another
        node sharing the database commits. One indexed read (the primary key's maximum)."""
        with _faults(), self.engine.connect() as connection:
            return int(LAST_EVENT_SEQ.scalar(connection))

    def iter_pdq_hashes(self) -> Iterator[tuple[int, bytes]]:
        query = select(t.known_hashes.c.known_hash_id, t.known_hashes.c.digest).where(
            t.known_hashes.c.algorithm == HashAlgorithm.PDQ.value
        )
        with self.engine.connect() as connection:
            for row in connection.execution_options(yield_per=10_000).execute(query):
                yield row.known_hash_id, bytes.fromhex(row.digest)

    def verify_audit_chain(self) -> int | None:
        """The sequence number of the first audit entry that does not verify, or None if all do."""
        problem = self.audit_problem()
        return None if problem is None else problem.seq

    def audit_problem(
        self, checkpoints: Sequence[Checkpoint] = (), trusted_key_ids: Collection[str] = ()
    ) -> AuditProblem | None:
        """The first thing wrong with the audit log, naming the first bad entry, or None: an entry whose hash or
        link does not verify (with this store's audit key for keyed entries), an unkeyed entry after keyed
        ones, or a log that no longer extends one of `checkpoints` (signed by one of `trusted_key_ids`): cut
        short (truncated) or different at the checkpoint's head (rewritten)."""
        for checkpoint in checkpoints:
            if not checkpoint.verifies(set(trusted_key_ids)):
                return AuditProblem(
                    None, f"the checkpoint of {checkpoint.signed_at.isoformat()} is not signed by this node"
                )
        wanted = {c.entry_count for c in checkpoints}
        at_count: dict[int, tuple[int, str]] = {}  # entry count -> (seq, hash) of the entry that makes it
        previous, count, keyed = AUDIT_GENESIS, 0, False
        with self.engine.connect() as connection:
            for row in connection.execute(select(t.audit_log).order_by(t.audit_log.c.seq)):
                count += 1
                seq = int(row.seq)
                if keyed and row.scheme != SCHEME_KEYED:
                    return AuditProblem(
                        seq, f"audit log entry {seq} is unkeyed after keyed entries: the log was rewritten"
                    )
                keyed = row.scheme == SCHEME_KEYED
                try:
                    expected = entry_hash(
                        row.scheme, self._audit_key, previous, row.at, row.actor, row.action, row.subject, row.detail
                    )
                except ValueError as error:
                    return AuditProblem(seq, f"audit log entry {seq} cannot be checked: {error}")
                if row.prev_hash != previous or row.entry_hash != expected:
                    return AuditProblem(seq, f"audit log entry {seq} does not verify: the log was altered")
                previous = row.entry_hash
                if count in wanted:
                    at_count[count] = (seq, row.entry_hash)
        for checkpoint in sorted(checkpoints, key=lambda c: c.entry_count):
            signed = checkpoint.signed_at.isoformat()
            if checkpoint.entry_count not in at_count and checkpoint.entry_count > count:
                return AuditProblem(
                    None,
                    f"audit log entry {count + 1} (by count) is missing: the checkpoint of {signed} covers "
                    f"{checkpoint.entry_count} entries, the log has {count}: the log was truncated",
                )
            seq, head = at_count.get(checkpoint.entry_count, (0, AUDIT_GENESIS))
            if head != checkpoint.head_hash:
                return AuditProblem(
                    seq or None,
                    f"audit log entry {seq} differs from the checkpoint of {signed}: the log was rewritten",
                )
        with self.engine.connect() as connection:
            missing = sorted(_AUDIT_GUARDS[self._postgres] - _audit_guards(connection, postgres=self._postgres))
        if missing:
            return AuditProblem(
                None,
                f"the audit log's append-only triggers are missing or disabled ({', '.join(missing)}): its entries "
                "verify, but the database no longer refuses changes to them",
            )
        return None


# The triggers that make the audit log append-only (node.store.schema; migrations 0001, 0003), by backend.
_AUDIT_GUARDS = {
    True: frozenset({"audit_log_append_only", "audit_log_no_truncate"}),
    False: frozenset({"audit_log_no_update", "audit_log_no_delete"}),
}


def _audit_guards(connection: Connection, *, postgres: bool) -> set[str]:
    """The audit log's triggers that are in place and enabled."""
    if postgres:
        query = text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal "
            "AND tgenabled <> 'D'"
        )
    else:
        query = text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
    return {str(name) for name in connection.execute(query).scalars()}


@dataclass(frozen=True, slots=True)
class AuditProblem:
    seq: int | None  # the first bad entry's sequence number, when there is one to name
    message: str


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
    ReconciliationTxn,
    ExchangeRetentionTxn,
    RetentionDueTxn,
    MetricsReadsTxn,
    AdminReadsTxn,
    RostersTxn,
    PeerRefusalsTxn,
    WarningsGivenTxn,
    TokensTxn,
    IdempotencyTxn,
    NoticesTxn,
    AuditTxn,
    TransactionBase,
):
    """One database transaction over every table, so that one transaction spans them all: it implements
    CaseTransaction, TokenTransaction, ExchangeTransaction, ReceivingTransaction and MetricsTransaction
    (checked below)."""


if TYPE_CHECKING:  # mypy checks here that the one store and its transaction implement every port

    def _as_stores(
        store: SqlStore,
    ) -> tuple[
        CaseStore, TokenStore, ExchangeStore, ReceivingStore, MetricsStore, NoticeStore, AdminStore, ReconcilingStore
    ]:
        return store, store, store, store, store, store, store, store

    def _as_transactions(
        tx: SqlTransaction,
    ) -> tuple[
        CaseTransaction,
        TokenTransaction,
        ExchangeTransaction,
        ReceivingTransaction,
        MetricsTransaction,
        NoticeTransaction,
        AdminTransaction,
        ReconcilingTransaction,
    ]:
        return tx, tx, tx, tx, tx, tx, tx, tx
