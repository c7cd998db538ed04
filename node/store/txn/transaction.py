"""What every part of a transaction shares: the connection after the write-behind rows (`c`), the direct
statements that write those rows, savepoints, and the buffered events and hash-chained audit entries written
just before the commit (on PostgreSQL under one advisory lock, so that they commit in sequence order)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, String, bindparam, insert, select, text
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from node.cases.event_details import details_from_json, details_to_json
from node.cases.event_kinds import EventKind
from node.cases.model import Event, ItemState
from node.crypto.audit import SCHEME_KEYED, SCHEME_UNKEYED
from node.crypto.audit import entry_hash as audit_entry_hash
from node.store import schema as t
from node.store.direct import Direct

__all__ = ["AUDIT_GENESIS", "TransactionBase"]

AUDIT_GENESIS = "0" * 64


class TransactionBase:
    """One database transaction: its connection, write-behind rows, savepoints, events and audit entries.
    The table groups of node.store.txn extend it; node.store.sql_store.SqlTransaction composes them."""

    def __init__(
        self, connection: Connection, *, postgres: bool, audit_key: bytes | None = None, single_read: bool = False
    ) -> None:
        self._conn = connection
        # A single-read transaction (SqlStore.transaction) has one statement to run, and no BEGIN around it.
        self._statements_left: int | None = 1 if single_read else None
        self._postgres = postgres
        self._audit_key = audit_key  # with it, entries are hashed with HMAC (scheme 2), else SHA-256 (scheme 1)
        self._append_locked = False
        self._events: list[dict[str, Any]] = []
        self._audits: list[tuple[datetime, str, str, str, str]] = []
        # Write-behind rows: new items (by id, so that an update right after the insert only changes the row
        # to be written) and their hashes, hosting records and assessments, and outbox messages (after their
        # items, each table's rows in the order added). They are written, in bulk, before
        # any other statement runs on this transaction (see `c`) and before it commits, so every read sees them.
        self._new_items: dict[str, dict[str, Any]] = {}
        self._new_rows: dict[Direct, list[dict[str, Any]]] = {}
        # (origin node, origin item id) pairs known to have no item: see prefetch_origins.
        self._absent_origins: set[tuple[str, str]] = set()
        # Whether held_messages may have rows (None: not looked yet): see InboxTxn.take_held.
        self._held_present: bool | None = None
        # The peers this transaction queued outbox messages for (None: messages of peers not known were made
        # pending again): told to the store's queue watchers once it commits (SqlStore.watch_queue).
        self.queued_peers: set[str] | None = set()
        # The kinds of the events it wrote: told to the store's event watchers once it commits.
        self.written_kinds: set[str] = set()

    @property
    def c(self) -> Connection:
        """The connection, with every write-behind row written first."""
        if self._statements_left is not None:
            if not self._statements_left:
                raise RuntimeError("a single-read transaction runs one statement")
            self._statements_left -= 1
        if self._new_items or self._new_rows:
            self._write_rows()
        return self._conn

    def _write_rows(self) -> None:
        items, self._new_items = list(self._new_items.values()), {}
        rows, self._new_rows = self._new_rows, {}
        if items:
            _INSERT_ITEM.run(self._conn, items)
        for statement in (_INSERT_ITEM_HASH, _INSERT_HOSTING, _INSERT_ASSESSMENT_DIRECT, _INSERT_OUTBOX):
            if statement in rows:
                statement.run(self._conn, rows[statement])

    def _later(self, statement: Direct, rows: list[dict[str, Any]]) -> None:
        self._new_rows.setdefault(statement, []).extend(rows)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception inside undoes only what the block wrote."""
        events, audits = len(self._events), len(self._audits)
        try:
            with self.c.begin_nested():  # `c` writes the rows from before the savepoint first
                yield
                self._write_rows()  # inside it: the savepoint's own rows go or stay with it
        except BaseException:
            del self._events[events:], self._audits[audits:]
            self._new_items, self._new_rows = {}, {}
            raise

    def _lock_appends(self) -> None:
        if self._postgres and not self._append_locked:
            self.c.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
            self._append_locked = True

    def append_event(self, event: Event) -> None:
        """Buffered: a transaction's events are written together, in order, just before it commits."""
        self._events.append(
            {
                "event_id": event.event_id,
                "kind": event.kind,
                "item_id": event.item_id,
                "report_id": event.report_id,
                "occurred_at": event.occurred_at,
                "state": event.state.value if event.state else None,
                "detail": event.detail[:500],
                "details": details_to_json(event.details),
            }
        )

    def list_events(self, *, after_seq: int, limit: int, item_id: str | None = None) -> list[Event]:
        if item_id is None:
            rows = _EVENTS_AFTER.all(self.c, {"k_after": after_seq, "k_limit": limit})
        else:
            rows = _ITEM_EVENTS_AFTER.all(self.c, {"k_after": after_seq, "k_limit": limit, "k_item_id": item_id})
        return [
            Event(
                event_id=row.event_id,
                kind=EventKind(row.kind),
                occurred_at=row.occurred_at,
                item_id=row.item_id,
                report_id=row.report_id,
                state=ItemState(row.state) if row.state else None,
                detail=row.detail,
                seq=row.seq,
                details=details_from_json(row.details),
            )
            for row in rows
        ]

    def append_audit(self, *, at: datetime, actor: str, action: str, subject: str, detail: str) -> None:
        """Buffered like events; the hash chain is computed when the buffer is written."""
        self._audits.append((at, actor, action, subject, detail[:500]))

    def flush(self) -> None:
        """Write the write-behind rows, then the buffered events and audit entries. Called by the store before
        every commit."""
        self._write_rows()
        if not self._events and not self._audits:
            return
        self._lock_appends()
        if self._events:
            self.written_kinds.update(event["kind"] for event in self._events)
            _INSERT_EVENT.run(self.c, self._events)
            self._events = []
        if self._audits:
            previous = _LAST_AUDIT_HASH.scalar(self.c) or AUDIT_GENESIS
            rows = []
            scheme = SCHEME_UNKEYED if self._audit_key is None else SCHEME_KEYED
            for at, actor, action, subject, detail in self._audits:
                entry_hash = audit_entry_hash(scheme, self._audit_key, previous, at, actor, action, subject, detail)
                rows.append(
                    {
                        "at": at,
                        "actor": actor,
                        "action": action,
                        "subject": subject,
                        "detail": detail,
                        "prev_hash": previous,
                        "entry_hash": entry_hash,
                        "scheme": scheme,
                    }
                )
                previous = entry_hash
            _INSERT_AUDIT.run(self.c, rows)
            self._audits = []


_INSERT_ITEM = Direct(insert(t.items))
# An item of this hotline's own (not referred here) has origin_item_id "". SQLite, which keeps no statistics
# here, would look such items up by ix_items_origin_item_id, whose key is "" for every one of them (a scan of
# them all: 39 ms at 200,000 items, every report). A unary + keeps the term off any index, so the lookup goes
# by the URL's key (SQLite's documented way to disqualify an index). SQLite only: PostgreSQL has no unary + on
# text, and plans by its statistics.
_OWN_ITEM_SQLITE = UnaryExpression(t.items.c.origin_item_id, operator=custom_op("+"), type_=String()) == ""
_INSERT_ITEM_HASH = Direct(insert(t.item_hashes))
_INSERT_ASSESSMENT = insert(t.assessments)
_INSERT_ASSESSMENT_DIRECT = Direct(_INSERT_ASSESSMENT)
_INSERT_HOSTING = Direct(insert(t.hosting_records))
_INSERT_OUTBOX = Direct(insert(t.outbox))
# PostgreSQL: one advisory lock orders all event and audit appends, so that sequence numbers commit in
# order and a reader resuming from a cursor never skips an event that commits late.
_APPEND_LOCK_KEY = 0x68780001
_LAST_AUDIT_HASH = Direct(select(t.audit_log.c.entry_hash).order_by(t.audit_log.c.seq.desc()).limit(1))
_INSERT_EVENT = Direct(insert(t.events))
_INSERT_AUDIT = Direct(insert(t.audit_log))
# The column's own type: BIGINT on PostgreSQL, so that a cursor up to 2**63 - 1 is a number, not an overflow.
_AFTER: BindParameter[int] = bindparam("k_after", type_=t.events.c.seq.type)
_EVENTS_AFTER = Direct(
    select(t.events).where(t.events.c.seq > _AFTER).order_by(t.events.c.seq).limit(bindparam("k_limit"))
)
_ITEM_EVENTS_AFTER = Direct(
    select(t.events)
    .where(t.events.c.seq > _AFTER, t.events.c.item_id == bindparam("k_item_id", type_=String()))
    .order_by(t.events.c.seq)
    .limit(bindparam("k_limit"))
)


def _audit_hash(previous: str, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    """An unkeyed entry's hash (scheme 1)."""
    return audit_entry_hash(SCHEME_UNKEYED, None, previous, at, actor, action, subject, detail)
