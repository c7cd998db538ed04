"""What every use case of the case workflow shares: the node's settings and collaborators (CaseContext),
loading an item, events, the request ids that make a create idempotent, and the use-case envelope
(`CaseContext.command()`): one transaction, replayed under a known request id, audited and remembered when
done, and announced to the listeners once it has committed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from node.cases.event_details import EventDetails
from node.cases.event_kinds import EventKind
from node.cases.hash_trust import KnownHashPolicy
from node.cases.model import CLOSED_STATES, Event, Item, Principal
from node.cases.next_due import NextDue
from node.cases.ports import CaseStore, CaseTransaction, IdempotencyRecord, NoticeHook
from node.cases.refusals import state_metadata
from node.cases.routing import Membership
from node.clock import Clock
from node.errors import AlreadyExists, FailedPrecondition, NotFound, Reason
from node.hashes import ContentHash, PdqIndex
from node.hosting import HostingResolver

__all__ = ["CaseContext", "CaseSettings", "Command", "fingerprint_of", "unique_hashes", "without_expired_hold"]


@dataclass(frozen=True, slots=True)
class CaseSettings:
    node_id: str
    jurisdiction: str
    removal_deadline: timedelta = timedelta(hours=72)
    max_urls_per_report: int = 100
    max_hashes_per_url: int = 16
    # A report's received_at may be at most this far in the past (and 5 minutes in the future).
    max_report_age: timedelta = timedelta(days=365)
    # Another LEA token of the placing token's group may release a hold (off: only the token that placed it).
    lea_group_may_release: bool = False
    known_hashes: KnownHashPolicy = field(default_factory=KnownHashPolicy)


@dataclass(slots=True, kw_only=True, eq=False)
class CaseContext:
    """The node's settings and collaborators (CaseService's constructor hands them on as they are), and what
    every use case does with them."""

    settings: CaseSettings
    store: CaseStore
    clock: Clock
    resolver: HostingResolver
    membership: Membership  # replaced when a newer roster arrives
    pdq: PdqIndex
    on_commit: Callable[[], None]
    notices: NoticeHook | None = None  # with a [notices] section: what LEA_NOTIFIED and HP_NOTIFIED send
    # When an item can next be past its removal deadline: the deadline check looks only from then on.
    deadlines: NextDue = field(default_factory=NextDue)

    def load(self, tx: CaseTransaction, item_id: str, *, for_update: bool = False) -> Item:
        item = tx.get_item(item_id, for_update=for_update) if item_id else None
        if item is None:
            raise NotFound(f"no item {item_id!r}", field="item_id", reason=Reason.UNKNOWN_ITEM)
        return without_expired_hold(item, self.clock.now())

    def require_assigned(self, item: Item) -> None:
        if item.assigned_node != self.settings.node_id:
            raise FailedPrecondition(
                f"this node ({self.settings.node_id}) is not assigned to the item; {item.assigned_node} is",
                field="item_id",
                reason=Reason.NOT_ASSIGNED,
                metadata={"assigned_node": item.assigned_node, **state_metadata(item.state)},
            )

    def event(
        self,
        tx: CaseTransaction,
        kind: EventKind,
        now: datetime,
        *,
        item: Item | None = None,
        report_id: str = "",
        detail: str = "",
        details: EventDetails | None = None,
    ) -> None:
        tx.append_event(Event.new(kind, now, item=item, report_id=report_id, detail=detail, details=details))

    def replay(
        self, tx: CaseTransaction, principal: Principal, request_id: str, method: str, fingerprint: str
    ) -> str | None:
        if not request_id:
            return None
        record = tx.get_idempotency(principal.name, request_id)
        if record is None:
            return None
        if record.method != method or record.fingerprint != fingerprint:
            raise AlreadyExists(
                f"request_id {request_id!r} was already used for a different {record.method} request",
                field="request_id",
                reason=Reason.REQUEST_ID_REUSED,
                metadata={"method": record.method},
            )
        return record.result_id

    def remember(
        self,
        tx: CaseTransaction,
        principal: Principal,
        request_id: str,
        method: str,
        fingerprint: str,
        result_id: str,
        now: datetime,
    ) -> None:
        if request_id:
            tx.put_idempotency(principal.name, request_id, IdempotencyRecord(method, fingerprint, result_id), now)

    def committed(self) -> None:
        self.on_commit()

    @contextmanager
    def command(
        self,
        principal: Principal,
        method: str,
        request_id: str,
        *parts: object,
        now: datetime | None = None,
        notify: bool = True,
    ) -> Iterator[Command]:
        """One use case of `principal`'s, named `method` in the audit log and the idempotency records.

        Fingerprints the method and `parts` (what the request asks for), opens the transaction and looks the
        request id up: `previous` is the stored result id of a request already done, to answer with. On
        `done()` the audit entry and the idempotency record are written; after the commit the `after_commit`
        callbacks run and, unless `notify` is off, the listeners are told. `now` defaults to the clock's."""
        fingerprint = fingerprint_of(method, *parts)
        now = self.clock.now() if now is None else now
        with self.store.transaction() as tx:
            previous = self.replay(tx, principal, request_id, method, fingerprint)
            command = Command(self, tx, now, previous, principal, method, request_id, fingerprint)
            yield command
        if command.finished:
            for callback in command.callbacks:
                callback()
            if notify:
                self.committed()


class Command:
    """The transaction of one use case, as CaseContext.command() opened it."""

    def __init__(
        self,
        ctx: CaseContext,
        tx: CaseTransaction,
        now: datetime,
        previous: str | None,
        principal: Principal,
        method: str,
        request_id: str,
        fingerprint: str,
    ) -> None:
        self.tx = tx
        self.now = now
        self.previous = previous
        self.finished = False
        self.callbacks: list[Callable[[], None]] = []
        self._ctx = ctx
        self._principal = principal
        self._method = method
        self._request_id = request_id
        self._fingerprint = fingerprint

    def assigned_item(self, item_id: str, *, open_only: bool = False) -> Item:
        """The item, locked for the update; only the node assigned to it may change it (and with `open_only`,
        only while it is open)."""
        item = self._ctx.load(self.tx, item_id, for_update=True)
        self._ctx.require_assigned(item)
        if open_only and item.state in CLOSED_STATES:
            raise FailedPrecondition(
                f"item is closed ({item.state})",
                field="item_id",
                reason=Reason.ALREADY_CLOSED,
                metadata=state_metadata(item.state),
            )
        return item

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (and not at all if it rolls back)."""
        self.callbacks.append(callback)

    def done(self, item: Item | None = None, *, detail: str, subject: str = "", result_id: str = "") -> None:
        """Write the changed item, then the audit entry about `subject` (default: the item) and the request
        id's record of `result_id` (default: the subject)."""
        if item is not None:
            self.tx.update_item(item)
            subject = subject or item.item_id
        self.tx.append_audit(
            at=self.now, actor=self._principal.name, action=self._method, subject=subject, detail=detail
        )
        self._ctx.remember(
            self.tx, self._principal, self._request_id, self._method, self._fingerprint, result_id or subject, self.now
        )
        self.finished = True


def without_expired_hold(item: Item, now: datetime) -> Item:
    """The store keeps a hold until it is released; once its `until` has passed it is no longer the item's
    active hold."""
    if item.active_hold is not None and not item.active_hold.active_at(now):
        item.active_hold = None
    return item


def unique_hashes(hashes: Iterable[ContentHash]) -> list[ContentHash]:
    return list(dict.fromkeys(hashes))


def fingerprint_of(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()
