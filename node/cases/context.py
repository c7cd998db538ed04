"""What every use case of the case workflow shares: the node's settings and collaborators (CaseContext),
loading an item, events, and the request ids that make a create idempotent."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.cases.model import Event, Item, Principal
from node.cases.ports import CaseStore, CaseTransaction, IdempotencyRecord
from node.cases.routing import Membership
from node.clock import Clock
from node.errors import AlreadyExists, FailedPrecondition, NotFound
from node.hashes import ContentHash, PdqIndex
from node.hosting import HostingResolver

__all__ = ["CaseContext", "CaseSettings", "fingerprint_of", "unique_hashes", "without_expired_hold"]


@dataclass(frozen=True, slots=True)
class CaseSettings:
    node_id: str
    jurisdiction: str
    removal_deadline: timedelta = timedelta(hours=72)
    max_urls_per_report: int = 100
    max_hashes_per_url: int = 16


class CaseContext:
    """The settings, the store, the clock, the hosting resolver, the membership (replaced when a newer roster
    arrives), the PDQ index and the commit listener, and what every use case does with them."""

    def __init__(
        self,
        *,
        settings: CaseSettings,
        store: CaseStore,
        clock: Clock,
        resolver: HostingResolver,
        membership: Membership,
        pdq_index: PdqIndex,
        on_commit: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.resolver = resolver
        self.membership = membership
        self.pdq = pdq_index
        self.on_commit = on_commit

    def load(self, tx: CaseTransaction, item_id: str, *, for_update: bool = False) -> Item:
        item = tx.get_item(item_id, for_update=for_update) if item_id else None
        if item is None:
            raise NotFound(f"no item {item_id!r}", field="item_id")
        return without_expired_hold(item, self.clock.now())

    def require_assigned(self, item: Item) -> None:
        if item.assigned_node != self.settings.node_id:
            raise FailedPrecondition(
                f"this node ({self.settings.node_id}) is not assigned to the item; {item.assigned_node} is",
                field="item_id",
            )

    def event(
        self,
        tx: CaseTransaction,
        kind: str,
        now: datetime,
        *,
        item: Item | None = None,
        report_id: str = "",
        detail: str = "",
    ) -> None:
        tx.append_event(
            Event(
                event_id=str(uuid.uuid4()),
                kind=kind,
                occurred_at=now,
                item_id=item.item_id if item else "",
                report_id=report_id,
                state=item.state if item else None,
                detail=detail,
            )
        )

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
