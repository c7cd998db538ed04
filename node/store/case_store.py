"""SQL implementation of the case workflow's store (node.cases.ports), for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Row,
    String,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.sql.dml import UpdateBase

from node.access import StoredToken
from node.cases.model import (
    Action,
    ActionType,
    AgeGroup,
    Assessment,
    Classification,
    Commerciality,
    ContentType,
    Event,
    Gender,
    Hold,
    HostingRecord,
    Item,
    ItemState,
    KnownHash,
    OutboxMessage,
    PaymentMethod,
    Report,
    ReportedItem,
    Reporter,
    Role,
    Route,
    SiteType,
)
from node.cases.ports import IdempotencyRecord, ItemTimes
from node.errors import Aborted
from node.hashes import ContentHash, HashAlgorithm
from node.hosting import HostingFacts
from node.store import schema as t

__all__ = ["AUDIT_GENESIS", "InboxEntry", "SqlCaseStore", "SqlTransaction", "url_key"]

AUDIT_GENESIS = "0" * 64
# PostgreSQL: one advisory lock orders all event and audit appends, so that sequence numbers commit in
# order and a reader resuming from a cursor never skips an event that commits late.
_APPEND_LOCK_KEY = 0x68780001


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class InboxEntry(NamedTuple):
    """A message received from a peer, with its result: its inbox row."""

    sender: str
    message_id: str
    kind: str
    received_at: datetime
    status: str
    reason_code: str = ""
    reason: str = ""
    receipt: str = ""  # base64 of the signed receipt, for an accepted message


# Hot statements are built once and run with parameters, so SQLAlchemy reuses their compiled form.
_K_ITEM: BindParameter[str] = bindparam("k_item_id", type_=String())
_ITEM = select(t.items).where(t.items.c.item_id == _K_ITEM)
_ITEM_FOR_UPDATE = _ITEM.with_for_update()
_OPEN_ITEM_BY_URL = select(t.items).where(
    t.items.c.url_key == bindparam("k_url_key"), t.items.c.is_open.is_(True), t.items.c.origin_item_id == ""
)
_OPEN_ITEM_BY_URL_FOR_UPDATE = _OPEN_ITEM_BY_URL.with_for_update()
_UPDATE_ITEM = update(t.items).where(t.items.c.item_id == _K_ITEM, t.items.c.version == bindparam("k_version"))
_ITEM_HASHES = (
    select(t.item_hashes)
    .where(t.item_hashes.c.item_id == _K_ITEM)
    .order_by(t.item_hashes.c.algorithm, t.item_hashes.c.digest)
)
_ITEM_ASSESSMENT = (
    select(t.assessments)
    .where(t.assessments.c.item_id == _K_ITEM)
    .order_by(t.assessments.c.assessment_id.desc())
    .limit(1)
)
_ITEM_HOSTING = (
    select(t.hosting_records)
    .where(t.hosting_records.c.item_id == _K_ITEM)
    .order_by(t.hosting_records.c.hosting_id.desc())
    .limit(1)
)
_ITEM_HOLD = (
    select(t.holds)
    .where(t.holds.c.item_id == _K_ITEM, t.holds.c.released_at.is_(None))
    .order_by(t.holds.c.placed_at.desc())
    .limit(1)
)
_ITEM_ACTIONS = select(t.actions).where(t.actions.c.item_id == _K_ITEM).order_by(t.actions.c.occurred_at)
_LAST_AUDIT_HASH = select(t.audit_log.c.entry_hash).order_by(t.audit_log.c.seq.desc()).limit(1)
_ITEM_BY_ORIGIN = (
    select(t.items)
    .where(
        t.items.c.origin_node == bindparam("k_origin_node", type_=String()),
        t.items.c.origin_item_id == bindparam("k_origin_item_id", type_=String()),
    )
    .order_by(t.items.c.created_at.desc())
    .limit(1)
)
_ITEM_BY_ORIGIN_FOR_UPDATE = _ITEM_BY_ORIGIN.with_for_update()
_ORIGINS_PRESENT = select(t.items.c.origin_item_id).where(  # by origin node first: ix_items_origin serves it
    t.items.c.origin_node == bindparam("k_origin_node", type_=String()),
    t.items.c.origin_item_id.in_(bindparam("k_item_ids", expanding=True)),
)


class _Direct:
    """A hot write run straight on the DB-API cursor of the transaction's own connection (so inside its
    transaction and savepoints). The statement is compiled once per dialect and set of parameter names; values
    go through the same bind processors SQLAlchemy uses, and DB-API errors are translated as SQLAlchemy
    translates them (an IntegrityError is still an IntegrityError). It skips SQLAlchemy's per-call execution
    bookkeeping, which is most of the cost of a small insert on SQLite (about 25-60 us against 5-10)."""

    def __init__(self, statement: UpdateBase) -> None:
        self._statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], tuple[Any, dict[str, Any]]] = {}

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> tuple[int, int | None]:
        """(rows changed, last inserted row id or None) of running the statement once per row."""
        dialect = connection.dialect
        names = tuple(rows[0])
        entry = self._compiled.get((dialect.name, names))
        if entry is None:
            compiled = self._statement.compile(dialect=dialect, column_keys=list(names))
            processors = {
                name: processor
                for name, bind in compiled.binds.items()
                if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
            }
            entry = self._compiled[(dialect.name, names)] = (compiled, processors)
        compiled, processors = entry
        args: list[Any] = []
        for row in rows:
            values = compiled.construct_params(row)
            try:
                for name, processor in processors.items():
                    if name in values:
                        values[name] = processor(values[name])
            except Exception as error:  # a bad value (a naive datetime, say): as SQLAlchemy reports it
                raise StatementError(str(error), compiled.string, row, error) from error
            args.append([values[name] for name in compiled.positiontup or ()] if compiled.positional else values)
        dbapi = dialect.loaded_dbapi
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if len(args) == 1:
                cursor.execute(compiled.string, args[0])
            else:
                cursor.executemany(compiled.string, args)
            return cursor.rowcount, getattr(cursor, "lastrowid", None)
        except dbapi.Error as error:
            raise DBAPIError.instance(compiled.string, args, error, dbapi.Error, dialect=dialect) from error
        finally:
            cursor.close()


_INSERT_ITEM = _Direct(insert(t.items))
_UPDATE_ITEM_DIRECT = _Direct(_UPDATE_ITEM)
_INSERT_ITEM_HASH = _Direct(insert(t.item_hashes))
_INSERT_ASSESSMENT = insert(t.assessments)
_INSERT_ASSESSMENT_DIRECT = _Direct(_INSERT_ASSESSMENT)
_INSERT_HOSTING = _Direct(insert(t.hosting_records))
_INSERT_OUTBOX = _Direct(insert(t.outbox))
_INBOX_MANY = select(
    t.inbox.c.sender,
    t.inbox.c.message_id,
    t.inbox.c.kind,
    t.inbox.c.received_at,
    t.inbox.c.status,
    t.inbox.c.reason_code,
    t.inbox.c.reason,
    t.inbox.c.receipt,
).where(t.inbox.c.sender == bindparam("k_sender"), t.inbox.c.message_id.in_(bindparam("k_message_ids", expanding=True)))
_PEERS_WITH_PENDING = text(
    """
    WITH RECURSIVE peers(peer) AS (
        SELECT MIN(peer_node) FROM outbox
        UNION ALL
        SELECT (SELECT MIN(o.peer_node) FROM outbox o WHERE o.peer_node > peers.peer)
        FROM peers WHERE peers.peer IS NOT NULL
    )
    SELECT peer FROM peers
    WHERE peer IS NOT NULL
      AND EXISTS (SELECT 1 FROM outbox p WHERE p.peer_node = peers.peer AND p.status = 'pending')
    ORDER BY peer
    """
)
_RECEIPTS_STORED = select(t.receipts.c.message_id).where(
    t.receipts.c.message_id.in_(bindparam("k_message_ids", expanding=True))
)
_PENDING_AFTER = (
    select(t.outbox)
    .where(
        t.outbox.c.peer_node == bindparam("k_peer"),
        t.outbox.c.status == "pending",
        t.outbox.c.outbox_id > bindparam("k_after"),
    )
    .order_by(t.outbox.c.outbox_id)
    .limit(bindparam("k_limit"))
)
_MARK_OUTBOX = (
    update(t.outbox)
    .where(t.outbox.c.message_id == bindparam("k_message_id"))
    .values(status=bindparam("k_status"), last_error=bindparam("k_error"), acked_at=bindparam("k_acked_at"))
)


class SqlCaseStore:
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
        with writer_lock, self.engine.connect() as connection:
            connection.info["read_only"] = read_only
            try:
                with connection.begin():
                    tx = SqlTransaction(connection, postgres=self._postgres)
                    yield tx
                    tx.flush()
            except IntegrityError as exc:
                raise Aborted("a concurrent change conflicted with this one; retry the request") from exc

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


class SqlTransaction:
    """One database transaction, exposing the operations of node.cases.ports.CaseTransaction."""

    def __init__(self, connection: Connection, *, postgres: bool) -> None:
        self._conn = connection
        self._postgres = postgres
        self._append_locked = False
        self._events: list[dict[str, Any]] = []
        self._audits: list[tuple[datetime, str, str, str, str]] = []
        # Write-behind rows: new items (by id, so that an update right after the insert only changes the row
        # to be written) and their hashes, hosting records and assessments. They are written, in bulk, before
        # any other statement runs on this transaction (see `c`) and before it commits, so every read sees them.
        self._new_items: dict[str, dict[str, Any]] = {}
        self._new_rows: dict[_Direct, list[dict[str, Any]]] = {}
        # (origin node, origin item id) pairs known to have no item: see prefetch_origins.
        self._absent_origins: set[tuple[str, str]] = set()

    @property
    def c(self) -> Connection:
        """The connection, with every write-behind row written first."""
        if self._new_items or self._new_rows:
            self._write_rows()
        return self._conn

    def _write_rows(self) -> None:
        items, self._new_items = list(self._new_items.values()), {}
        rows, self._new_rows = self._new_rows, {}
        if items:
            _INSERT_ITEM.run(self._conn, items)
        for statement in (_INSERT_ITEM_HASH, _INSERT_HOSTING, _INSERT_ASSESSMENT_DIRECT):  # after their items
            if statement in rows:
                statement.run(self._conn, rows[statement])

    def _later(self, statement: _Direct, rows: list[dict[str, Any]]) -> None:
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

    # ------------------------------------------------------------------ inbox, receipts and peers

    def get_inbox(self, sender: str, message_id: str) -> tuple[str, str, str, str] | None:
        """(status, reason code, reason, receipt) of a message received before, if any."""
        row = self.c.execute(
            select(t.inbox).where(t.inbox.c.sender == sender, t.inbox.c.message_id == message_id)
        ).first()
        return (row.status, row.reason_code, row.reason, row.receipt) if row else None

    def put_inbox(
        self,
        sender: str,
        message_id: str,
        kind: str,
        at: datetime,
        status: str,
        reason_code: str = "",
        reason: str = "",
        receipt: str = "",
    ) -> None:
        self.c.execute(
            insert(t.inbox),
            {
                "sender": sender,
                "message_id": message_id,
                "kind": kind,
                "received_at": at,
                "status": status,
                "reason_code": reason_code[:40],
                "reason": reason[:500],
                "receipt": receipt,
            },
        )

    def get_inbox_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], InboxEntry]:
        """The inbox entries of the (sender, message id) pairs that were received before."""
        found: dict[tuple[str, str], InboxEntry] = {}
        by_sender: dict[str, list[str]] = {}
        for sender, message_id in keys:
            by_sender.setdefault(sender, []).append(message_id)
        for sender, message_ids in by_sender.items():
            for row in self.c.execute(_INBOX_MANY, {"k_sender": sender, "k_message_ids": message_ids}):
                entry = InboxEntry(*row)
                found[(entry.sender, entry.message_id)] = entry
        return found

    def put_inbox_many(self, entries: list[InboxEntry]) -> None:
        if entries:
            self.c.execute(
                insert(t.inbox),
                [{**e._asdict(), "reason_code": e.reason_code[:40], "reason": e.reason[:500]} for e in entries],
            )

    def put_receipts(self, rows: list[tuple[str, str, str, datetime, str, datetime]], *, peer: str) -> None:
        """(message id, peer, item id, accepted at, receipt, recorded at) of each receipt from `peer`; a
        receipt already stored for a message is kept."""
        if not rows:
            return
        stored = set(self.c.execute(_RECEIPTS_STORED, {"k_message_ids": [r[0] for r in rows]}).scalars())
        fresh = {}
        for message_id, peer_node, item_id, accepted_at, receipt, at in rows:
            if message_id not in stored:
                fresh[message_id] = {
                    "message_id": message_id,
                    "peer_node": peer_node,
                    "item_id": item_id,
                    "accepted_at": accepted_at,
                    "receipt": receipt,
                    "recorded_at": at,
                }
        if fresh:
            self.c.execute(insert(t.receipts), list(fresh.values()))

    def put_receipt(
        self, message_id: str, peer: str, item_id: str, accepted_at: datetime, receipt: str, at: datetime
    ) -> None:
        exists = self.c.execute(select(func.count()).where(t.receipts.c.message_id == message_id)).scalar_one()
        if not exists:
            self.c.execute(
                insert(t.receipts),
                {
                    "message_id": message_id,
                    "peer_node": peer,
                    "item_id": item_id,
                    "accepted_at": accepted_at,
                    "receipt": receipt,
                    "recorded_at": at,
                },
            )

    def receipts_for_item(self, item_id: str) -> list[tuple[str, str, datetime, str]]:
        rows = self.c.execute(
            select(t.receipts).where(t.receipts.c.item_id == item_id).order_by(t.receipts.c.accepted_at)
        )
        return [(r.message_id, r.peer_node, r.accepted_at, r.receipt) for r in rows]

    def peer_backoff(self, peer: str) -> tuple[int, datetime | None]:
        row = self.c.execute(select(t.peer_state).where(t.peer_state.c.peer_node == peer)).first()
        return (row.failures, row.next_attempt_at) if row else (0, None)

    def set_peer_backoff(
        self, peer: str, failures: int, next_attempt_at: datetime | None, error: str, success_at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"failures": failures, "next_attempt_at": next_attempt_at, "last_error": error[:500]}
        if success_at is not None:
            values["last_success_at"] = success_at
        updated = self.c.execute(update(t.peer_state).where(t.peer_state.c.peer_node == peer).values(**values))
        if updated.rowcount == 0:
            self.c.execute(insert(t.peer_state), {"peer_node": peer, "last_success_at": success_at, **values})

    def peers_with_pending(self) -> list[str]:
        """The peers with pending messages: a skip scan of the outbox's (peer, status) index, a few lookups per
        peer however many messages the outbox keeps (a DISTINCT would read the whole index)."""
        return [row.peer for row in self.c.execute(_PEERS_WITH_PENDING)]

    # ------------------------------------------------------------------ rosters

    def put_roster(self, version: int, signed_b64: str, at: datetime) -> None:
        self.c.execute(insert(t.rosters), {"version": version, "signed_roster": signed_b64, "trusted_at": at})

    def rosters_after(self, version: int) -> list[tuple[int, str]]:
        rows = self.c.execute(
            select(t.rosters.c.version, t.rosters.c.signed_roster)
            .where(t.rosters.c.version > version)
            .order_by(t.rosters.c.version)
        )
        return [(int(r.version), r.signed_roster) for r in rows]

    # ------------------------------------------------------------------ idempotency

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

    # ------------------------------------------------------------------ reports

    def insert_report(self, report: Report, principal: str, recorded_at: datetime) -> None:
        self.c.execute(insert(t.reports), _report_columns(report, principal, recorded_at))

    def insert_intake_bulk(
        self,
        reports: list[tuple[Report, str, datetime]],
        items: list[Item],
        links: list[tuple[str, str, int, bool]],
    ) -> None:
        if reports:
            self.c.execute(insert(t.reports), [_report_columns(r, who, at) for r, who, at in reports])
        if items:
            self.c.execute(insert(t.items), [dict(item_id=i.item_id, version=0, **_item_columns(i)) for i in items])
            hashes = [
                {"item_id": i.item_id, "algorithm": h.algorithm.value, "digest": h.hex} for i in items for h in i.hashes
            ]
            if hashes:
                self.c.execute(insert(t.item_hashes), hashes)
            self.c.execute(
                insert(t.hosting_records), [_hosting_columns(i.item_id, i.hosting) for i in items if i.hosting]
            )
        if links:
            self.c.execute(
                insert(t.report_items),
                [{"report_id": r, "item_id": i, "position": p, "new_item": n} for r, i, p, n in links],
            )

    def open_item_urls(self, urls: list[str]) -> set[str]:
        if not urls:
            return set()
        keys = {url_key(u): u for u in urls}
        rows = self.c.execute(
            select(t.items.c.url_key).where(
                t.items.c.url_key.in_(list(keys)), t.items.c.is_open.is_(True), t.items.c.origin_item_id == ""
            )
        )
        return {keys[row.url_key] for row in rows}

    def link_report_item(self, report_id: str, item_id: str, position: int, new_item: bool) -> None:
        self.c.execute(
            insert(t.report_items), dict(report_id=report_id, item_id=item_id, position=position, new_item=new_item)
        )

    def get_report(self, report_id: str) -> Report | None:
        row = self.c.execute(select(t.reports).where(t.reports.c.report_id == report_id)).first()
        if row is None:
            return None
        links = self.c.execute(
            select(
                t.report_items.c.item_id,
                t.report_items.c.new_item,
                t.items.c.url,
                t.items.c.known_content,
                t.items.c.state,
            )
            .join(t.items, t.items.c.item_id == t.report_items.c.item_id)
            .where(t.report_items.c.report_id == report_id)
            .order_by(t.report_items.c.position)
        ).all()
        reported = tuple(
            ReportedItem(link.item_id, link.url, link.new_item, link.known_content, ItemState(link.state))
            for link in links
        )
        reporter = Reporter(row.reporter_anonymous, row.reporter_name, row.reporter_email, row.reporter_reference)
        return Report(row.report_id, row.received_at, reported, row.referrer_url, reporter)

    # ------------------------------------------------------------------ items

    def find_open_item_by_url(self, url: str) -> Item | None:
        query = _OPEN_ITEM_BY_URL_FOR_UPDATE if self._postgres else _OPEN_ITEM_BY_URL
        row = self.c.execute(query, {"k_url_key": url_key(url)}).first()
        return self._item(row) if row else None

    def get_item(self, item_id: str, *, for_update: bool = False) -> Item | None:
        query = _ITEM_FOR_UPDATE if for_update and self._postgres else _ITEM
        row = self.c.execute(query, {"k_item_id": item_id}).first()
        return self._item(row) if row else None

    def prefetch_origins(self, keys: Iterable[tuple[str, str]]) -> None:
        """Look up many (origin node, origin item id) pairs at once; find_item_by_origin then answers None for
        the ones with no item without a query of its own. Only insert_item creates an item with an origin."""
        wanted = set(keys) - self._absent_origins
        by_node: dict[str, list[str]] = {}
        for origin_node, origin_item_id in sorted(wanted):
            by_node.setdefault(origin_node, []).append(origin_item_id)
        found: set[tuple[str, str]] = set()
        for origin_node, item_ids in by_node.items():
            for start in range(0, len(item_ids), 500):
                params = {"k_origin_node": origin_node, "k_item_ids": item_ids[start : start + 500]}
                found.update((origin_node, item_id) for item_id in self.c.execute(_ORIGINS_PRESENT, params).scalars())
        self._absent_origins |= wanted - found

    def find_item_by_origin(self, origin_node: str, origin_item_id: str, *, for_update: bool = False) -> Item | None:
        if (origin_node, origin_item_id) in self._absent_origins:
            return None
        query = _ITEM_BY_ORIGIN_FOR_UPDATE if for_update and self._postgres else _ITEM_BY_ORIGIN
        row = self.c.execute(query, {"k_origin_node": origin_node, "k_origin_item_id": origin_item_id}).first()
        return self._item(row) if row else None

    def put_pending_update(self, item_id: str, sequence: int, sender: str, body: str, at: datetime) -> None:
        exists = self.c.execute(
            select(func.count()).where(
                t.pending_status_updates.c.item_id == item_id,
                t.pending_status_updates.c.sequence == sequence,
                t.pending_status_updates.c.sender == sender,
            )
        ).scalar_one()
        if not exists:
            self.c.execute(
                insert(t.pending_status_updates),
                dict(item_id=item_id, sequence=sequence, sender=sender, body=body, received_at=at),
            )

    def take_pending_update(self, item_id: str, sequence: int, sender: str) -> str | None:
        where = (
            t.pending_status_updates.c.item_id == item_id,
            t.pending_status_updates.c.sequence == sequence,
            t.pending_status_updates.c.sender == sender,
        )
        body = self.c.execute(select(t.pending_status_updates.c.body).where(*where)).scalar_one_or_none()
        if body is not None:
            self.c.execute(delete(t.pending_status_updates).where(*where))
        return body

    def insert_item(self, item: Item) -> None:
        """Written behind (see `c`)."""
        if item.origin_node:
            self._absent_origins.discard((item.origin_node, item.origin_item_id))
        self._new_items[item.item_id] = dict(item_id=item.item_id, version=0, **_item_columns(item))

    def update_item(self, item: Item) -> None:
        if (row := self._new_items.get(item.item_id)) is not None and row["version"] == item.version:
            self._new_items[item.item_id] = dict(item_id=item.item_id, version=item.version + 1, **_item_columns(item))
            item.version += 1
            return
        changed, _ = _UPDATE_ITEM_DIRECT.run(
            self.c,
            [
                {
                    "k_item_id": item.item_id,
                    "k_version": item.version,
                    "version": item.version + 1,
                    **_item_columns(item),
                }
            ],
        )
        if changed != 1:
            raise Aborted(f"item {item.item_id} changed concurrently; retry the request")
        item.version += 1

    def add_item_hashes(self, item_id: str, hashes: list[ContentHash]) -> None:
        """Written behind (see `c`)."""
        if hashes:
            rows = [{"item_id": item_id, "algorithm": h.algorithm.value, "digest": h.hex} for h in hashes]
            self._later(_INSERT_ITEM_HASH, rows)

    def add_assessment(self, item_id: str, assessment: Assessment) -> None:
        """Like insert_assessment, for a caller that needs no id back: written behind (see `c`)."""
        self._later(_INSERT_ASSESSMENT_DIRECT, [dict(item_id=item_id, **_assessment_columns(assessment))])

    def insert_assessment(self, item_id: str, assessment: Assessment) -> int:
        row = dict(item_id=item_id, **_assessment_columns(assessment))
        if not self._postgres:  # SQLite says the new row's id without RETURNING
            _, assessment_id = _INSERT_ASSESSMENT_DIRECT.run(self.c, [row])
            if assessment_id is not None:
                return assessment_id
        result = self.c.execute(_INSERT_ASSESSMENT, row)
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def insert_hosting(self, item_id: str, record: HostingRecord) -> None:
        """Written behind (see `c`)."""
        self._later(_INSERT_HOSTING, [_hosting_columns(item_id, record)])

    def insert_action(self, action: Action) -> None:
        self.c.execute(
            insert(t.actions),
            dict(
                action_id=action.action_id,
                item_id=action.item_id,
                type=action.type.value,
                occurred_at=action.occurred_at,
                actor=action.actor,
                note=action.note,
                moved_to_country=action.moved_to_country,
            ),
        )

    def insert_hold(self, hold: Hold) -> None:
        self.c.execute(
            insert(t.holds),
            dict(
                hold_id=hold.hold_id,
                item_id=hold.item_id,
                placed_at=hold.placed_at,
                until=hold.until,
                released_at=hold.released_at,
                reference=hold.reference,
                placed_by=hold.placed_by,
            ),
        )

    def release_hold(self, hold_id: str, at: datetime) -> None:
        self.c.execute(update(t.holds).where(t.holds.c.hold_id == hold_id).values(released_at=at))

    def list_items(
        self, *, state: ItemState | None, hosting_country: str | None, after_item_id: str, limit: int
    ) -> list[Item]:
        query = select(t.items).where(t.items.c.item_id > after_item_id)
        if state is not None:
            query = query.where(t.items.c.state == state.value)
        if hosting_country:
            query = query.where(t.items.c.hosting_country == hosting_country)
        rows = self.c.execute(query.order_by(t.items.c.item_id).limit(limit)).all()
        return [self._item(row) for row in rows]

    def items_past_deadline(self, now: datetime, limit: int) -> list[str]:
        rows = self.c.execute(
            select(t.items.c.item_id)
            .where(
                t.items.c.state == ItemState.NTD_SENT.value,
                t.items.c.deadline_at <= now,
                t.items.c.escalated_at.is_(None),
            )
            .order_by(t.items.c.deadline_at)
            .limit(limit)
        ).all()
        return [row.item_id for row in rows]

    def purge_closed_items(self, closed_before: datetime, limit: int) -> list[str]:
        item_ids = [
            row.item_id
            for row in self.c.execute(
                select(t.items.c.item_id)
                .where(t.items.c.is_open.is_(False), t.items.c.closed_at < closed_before)
                .order_by(t.items.c.closed_at)
                .limit(limit)
            )
        ]
        if not item_ids:
            return []
        purged = t.items.c.item_id.in_(item_ids)
        referenced = select(t.known_hashes.c.assessment_id).where(t.known_hashes.c.assessment_id.is_not(None))
        in_items = t.assessments.c.item_id.in_(item_ids)
        self.c.execute(
            update(t.assessments).where(in_items, t.assessments.c.assessment_id.in_(referenced)).values(item_id=None)
        )
        self.c.execute(delete(t.assessments).where(in_items))
        for table in (
            t.item_hashes,
            t.hosting_records,
            t.actions,
            t.holds,
            t.report_items,
            t.events,
            t.pending_status_updates,
        ):
            self.c.execute(delete(table).where(table.c.item_id.in_(item_ids)))
        linked = select(t.report_items.c.report_id)
        orphans = select(t.reports.c.report_id).where(t.reports.c.report_id.not_in(linked))
        self.c.execute(delete(t.events).where(t.events.c.report_id.in_(orphans)))
        self.c.execute(delete(t.reports).where(t.reports.c.report_id.in_(orphans)))
        self.c.execute(delete(t.items).where(purged))
        # Request ids older than the retention period could only replay results that are gone.
        self.c.execute(delete(t.idempotency).where(t.idempotency.c.created_at < closed_before))
        return item_ids

    def item_times(
        self, *, start: datetime | None, end: datetime | None, hosting_country: str | None
    ) -> list[ItemTimes]:
        query = select(
            t.items.c.item_id,
            t.items.c.state,
            t.items.c.classification,
            t.items.c.hosting_country,
            t.items.c.first_reported_at,
            t.items.c.lea_notified_at,
            t.items.c.ntd_sent_at,
            t.items.c.closed_at,
        )
        if start is not None:
            query = query.where(t.items.c.first_reported_at >= start)
        if end is not None:
            query = query.where(t.items.c.first_reported_at < end)
        if hosting_country:
            query = query.where(t.items.c.hosting_country == hosting_country)
        return [
            ItemTimes(
                item_id=row.item_id,
                state=ItemState(row.state),
                classification=Classification(row.classification) if row.classification else None,
                hosting_country=row.hosting_country,
                first_reported_at=row.first_reported_at,
                lea_notified_at=row.lea_notified_at,
                ntd_sent_at=row.ntd_sent_at,
                closed_at=row.closed_at,
            )
            for row in self.c.execute(query)
        ]

    def _item(self, row: Row[Any]) -> Item:
        item_id = row.item_id
        hashes = [
            ContentHash(HashAlgorithm(h.algorithm), bytes.fromhex(h.digest))
            for h in self.c.execute(_ITEM_HASHES, {"k_item_id": item_id})
        ]
        assessment_row = self.c.execute(_ITEM_ASSESSMENT, {"k_item_id": item_id}).first()
        hosting_row = self.c.execute(_ITEM_HOSTING, {"k_item_id": item_id}).first()
        hold_row = self.c.execute(_ITEM_HOLD, {"k_item_id": item_id}).first()
        action_rows = self.c.execute(_ITEM_ACTIONS, {"k_item_id": item_id}).all()
        return Item(
            item_id=item_id,
            url=row.url,
            host=row.host,
            state=ItemState(row.state),
            assigned_node=row.assigned_node,
            first_reported_at=row.first_reported_at,
            created_at=row.created_at,
            report_count=row.report_count,
            known_content=row.known_content,
            route=Route(row.route) if row.route else None,
            referred_to=row.referred_to,
            assessment=_assessment(assessment_row) if assessment_row else None,
            hosting=_hosting(hosting_row) if hosting_row else None,
            hashes=hashes,
            lea_notified_at=row.lea_notified_at,
            ntd_sent_at=row.ntd_sent_at,
            deadline_at=row.deadline_at,
            escalated_at=row.escalated_at,
            closed_at=row.closed_at,
            active_hold=_hold(hold_row) if hold_row else None,
            actions=[
                Action(
                    a.action_id,
                    a.item_id,
                    ActionType(a.type),
                    a.occurred_at,
                    a.actor,
                    a.note,
                    a.moved_to_country,
                )
                for a in action_rows
            ],
            origin_node=row.origin_node,
            origin_item_id=row.origin_item_id,
            status_sequence=row.status_sequence,
            referred_by=row.referred_by,
            version=row.version,
        )

    # ------------------------------------------------------------------ known hashes

    def find_known_hash(self, content_hash: ContentHash) -> KnownHash | None:
        row = self.c.execute(
            select(t.known_hashes).where(
                t.known_hashes.c.algorithm == content_hash.algorithm.value,
                t.known_hashes.c.digest == content_hash.hex,
            )
        ).first()
        return self._known(row) if row else None

    def get_known_hash(self, known_hash_id: int) -> KnownHash | None:
        row = self.c.execute(select(t.known_hashes).where(t.known_hashes.c.known_hash_id == known_hash_id)).first()
        return self._known(row) if row else None

    def insert_known_hash(
        self,
        content_hash: ContentHash,
        classification: Classification,
        source: str,
        assessment_id: int | None,
        at: datetime,
    ) -> int | None:
        if self.find_known_hash(content_hash) is not None:
            return None
        result = self.c.execute(
            insert(t.known_hashes),
            dict(
                algorithm=content_hash.algorithm.value,
                digest=content_hash.hex,
                classification=classification.value,
                source=source,
                assessment_id=assessment_id,
                created_at=at,
            ),
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def reclassify_known_hash(
        self, known_hash_id: int, classification: Classification, source: str, assessment_id: int | None
    ) -> None:
        self.c.execute(
            update(t.known_hashes)
            .where(t.known_hashes.c.known_hash_id == known_hash_id)
            .values(classification=classification.value, source=source, assessment_id=assessment_id)
        )

    def _known(self, row: Row[Any]) -> KnownHash:
        assessment = None
        if row.assessment_id is not None:
            a = self.c.execute(select(t.assessments).where(t.assessments.c.assessment_id == row.assessment_id)).first()
            assessment = _assessment(a) if a else None
        return KnownHash(
            known_hash_id=row.known_hash_id,
            hash=ContentHash(HashAlgorithm(row.algorithm), bytes.fromhex(row.digest)),
            classification=Classification(row.classification),
            source=row.source,
            assessment=assessment,
        )

    # ------------------------------------------------------------------ events, audit, outbox

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
            }
        )

    def list_events(self, *, after_seq: int, limit: int, item_id: str | None = None) -> list[Event]:
        query = select(t.events).where(t.events.c.seq > after_seq)
        if item_id is not None:
            query = query.where(t.events.c.item_id == item_id)
        rows = self.c.execute(query.order_by(t.events.c.seq).limit(limit)).all()
        return [
            Event(
                event_id=row.event_id,
                kind=row.kind,
                occurred_at=row.occurred_at,
                item_id=row.item_id,
                report_id=row.report_id,
                state=ItemState(row.state) if row.state else None,
                detail=row.detail,
                seq=row.seq,
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
            self.c.execute(insert(t.events), self._events)
            self._events = []
        if self._audits:
            previous = self.c.execute(_LAST_AUDIT_HASH).scalar_one_or_none() or AUDIT_GENESIS
            rows = []
            for at, actor, action, subject, detail in self._audits:
                entry_hash = _audit_hash(previous, at, actor, action, subject, detail)
                rows.append(
                    {
                        "at": at,
                        "actor": actor,
                        "action": action,
                        "subject": subject,
                        "detail": detail,
                        "prev_hash": previous,
                        "entry_hash": entry_hash,
                    }
                )
                previous = entry_hash
            self.c.execute(insert(t.audit_log), rows)
            self._audits = []

    def enqueue_outbox(self, message: OutboxMessage) -> None:
        _INSERT_OUTBOX.run(
            self.c,
            [
                dict(
                    message_id=message.message_id,
                    peer_node=message.peer_node,
                    kind=message.kind,
                    item_id=message.item_id,
                    body=message.body,
                    status="pending",
                    attempts=0,
                    created_at=message.created_at,
                    next_attempt_at=message.created_at,
                    last_error="",
                )
            ],
        )

    def pending_outbox(self, peer_node: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        query = select(t.outbox).where(t.outbox.c.status == "pending")
        if peer_node is not None:
            query = query.where(t.outbox.c.peer_node == peer_node)
        rows = self.c.execute(query.order_by(t.outbox.c.outbox_id).limit(limit)).all()
        return [OutboxMessage(r.message_id, r.peer_node, r.kind, r.item_id, r.body, r.created_at) for r in rows]

    def pending_outbox_after(self, peer_node: str, after_id: int, limit: int) -> list[tuple[int, OutboxMessage]]:
        """(outbox id, message) of `peer_node`'s pending messages past `after_id`, oldest first."""
        rows = self.c.execute(_PENDING_AFTER, {"k_peer": peer_node, "k_after": after_id, "k_limit": limit}).all()
        return [
            (r.outbox_id, OutboxMessage(r.message_id, r.peer_node, r.kind, r.item_id, r.body, r.created_at))
            for r in rows
        ]

    def mark_outbox_many(self, marks: list[tuple[str, str, str]], at: datetime) -> None:
        """(message id, status, error) for each message; an acked one records `at` as its ack time."""
        if marks:
            self.c.execute(
                _MARK_OUTBOX,
                [
                    {
                        "k_message_id": message_id,
                        "k_status": status,
                        "k_error": error[:500],
                        "k_acked_at": at if status == "acked" else None,
                    }
                    for message_id, status, error in marks
                ],
            )

    def mark_outbox(self, message_id: str, status: str, at: datetime, error: str = "") -> None:
        values: dict[str, Any] = {"status": status, "last_error": error[:500]}
        if status == "acked":
            values["acked_at"] = at
        self.c.execute(update(t.outbox).where(t.outbox.c.message_id == message_id).values(**values))

    # ------------------------------------------------------------------ tokens

    def insert_token(self, token: StoredToken) -> None:
        self.c.execute(
            insert(t.tokens),
            dict(
                token_id=token.token_id,
                name=token.name,
                secret_hash=token.secret_hash,
                roles=",".join(sorted(r.value for r in token.roles)),
                created_at=token.created_at,
                revoked_at=token.revoked_at,
            ),
        )

    def get_token(self, token_id: str) -> StoredToken | None:
        row = self.c.execute(select(t.tokens).where(t.tokens.c.token_id == token_id)).first()
        return _token(row) if row else None

    def token_name_taken(self, name: str) -> bool:
        return self.c.execute(select(func.count()).where(t.tokens.c.name == name)).scalar_one() > 0

    def list_tokens(self, after_token_id: str, limit: int) -> list[StoredToken]:
        rows = self.c.execute(
            select(t.tokens).where(t.tokens.c.token_id > after_token_id).order_by(t.tokens.c.token_id).limit(limit)
        ).all()
        return [_token(row) for row in rows]

    def revoke_token(self, token_id: str, at: datetime) -> None:
        self.c.execute(
            update(t.tokens)
            .where(and_(t.tokens.c.token_id == token_id, t.tokens.c.revoked_at.is_(None)))
            .values(revoked_at=at)
        )


def _audit_hash(previous: str, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    entry = json.dumps([previous, at.isoformat(), actor, action, subject, detail], separators=(",", ":"))
    return hashlib.sha256(entry.encode()).hexdigest()


def _item_columns(item: Item) -> dict[str, Any]:
    return {
        "url": item.url,
        "url_key": url_key(item.url),
        "host": item.host,
        "state": item.state.value,
        "is_open": item.is_open,
        "assigned_node": item.assigned_node,
        "route": item.route.value if item.route else None,
        "referred_to": item.referred_to,
        "known_content": item.known_content,
        "report_count": item.report_count,
        "hosting_country": item.hosting_country,
        "classification": item.classification.value if item.classification else None,
        "first_reported_at": item.first_reported_at,
        "created_at": item.created_at,
        "lea_notified_at": item.lea_notified_at,
        "ntd_sent_at": item.ntd_sent_at,
        "deadline_at": item.deadline_at,
        "escalated_at": item.escalated_at,
        "closed_at": item.closed_at,
        "origin_node": item.origin_node,
        "origin_item_id": item.origin_item_id,
        "status_sequence": item.status_sequence,
        "referred_by": item.referred_by,
    }


def _report_columns(report: Report, principal: str, recorded_at: datetime) -> dict[str, Any]:
    return {
        "report_id": report.report_id,
        "received_at": report.received_at,
        "recorded_at": recorded_at,
        "referrer_url": report.referrer_url,
        "reporter_anonymous": report.reporter.anonymous,
        "reporter_name": report.reporter.name,
        "reporter_email": report.reporter.email,
        "reporter_reference": report.reporter.reference,
        "submitted_by": principal,
    }


def _hosting_columns(item_id: str, record: HostingRecord) -> dict[str, Any]:
    facts = record.facts
    return {
        "item_id": item_id,
        "ip": facts.ip,
        "country": facts.country,
        "asn": facts.asn,
        "organisation": facts.organisation,
        "cdn": facts.cdn,
        "source": facts.source,
        "overridden": record.overridden,
        "override_reason": record.override_reason,
        "actor": record.actor,
        "traced_at": record.traced_at,
    }


def _assessment_columns(a: Assessment) -> dict[str, Any]:
    assert a.assessed_at is not None
    return {
        "classification": a.classification.value,
        "age_group": a.age_group.value,
        "gender": a.gender.value,
        "content_type": a.content_type.value,
        "site_type": a.site_type.value,
        "commerciality": a.commerciality.value,
        "payment_methods": ",".join(sorted(p.value for p in a.payment_methods)),
        "virtual": a.virtual,
        "child_modelling": a.child_modelling,
        "user_generated": a.user_generated,
        "jurisdiction": a.jurisdiction,
        "assessed_by": a.assessed_by,
        "assessed_at": a.assessed_at,
        "automatic": a.automatic,
        "note": a.note,
    }


def _assessment(row: Row[Any]) -> Assessment:
    return Assessment(
        classification=Classification(row.classification),
        age_group=AgeGroup(row.age_group),
        gender=Gender(row.gender),
        content_type=ContentType(row.content_type),
        site_type=SiteType(row.site_type),
        commerciality=Commerciality(row.commerciality),
        payment_methods=frozenset(PaymentMethod(p) for p in row.payment_methods.split(",") if p),
        virtual=row.virtual,
        child_modelling=row.child_modelling,
        user_generated=row.user_generated,
        note=row.note,
        jurisdiction=row.jurisdiction,
        assessed_by=row.assessed_by,
        assessed_at=row.assessed_at,
        automatic=row.automatic,
    )


def _hosting(row: Row[Any]) -> HostingRecord:
    facts = HostingFacts(
        ip=row.ip,
        country=row.country,
        asn=row.asn,
        organisation=row.organisation,
        cdn=row.cdn,
        source=row.source,
    )
    return HostingRecord(facts, row.traced_at, row.overridden, row.override_reason, row.actor)


def _hold(row: Row[Any]) -> Hold:
    return Hold(row.hold_id, row.item_id, row.placed_at, row.until, row.reference, row.placed_by, row.released_at)


def _token(row: Row[Any]) -> StoredToken:
    return StoredToken(
        token_id=row.token_id,
        name=row.name,
        secret_hash=row.secret_hash,
        roles=frozenset(Role(r) for r in row.roles.split(",") if r),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
