"""What the scheduler runs: escalating items past their removal deadline, and purging cases closed longer ago
than the retention period, with the URLs the exchange's records kept for them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from node.cases.context import CaseContext
from node.cases.event_details import DeadlineDetails
from node.cases.event_kinds import EventKind
from node.cases.model import ItemState
from node.errors import InvalidArgument

__all__ = ["Upkeep"]

_log = structlog.get_logger(__name__)


class Upkeep:
    def __init__(self, ctx: CaseContext) -> None:
        self._ctx = ctx

    def escalate_overdue(self, limit: int = 500) -> list[str]:
        """Raise one escalation event for each item whose removal deadline has passed. Idempotent."""
        now = self._ctx.clock.now()
        with self._ctx.store.transaction() as tx:
            escalated = []
            for item_id in tx.items_past_deadline(now, limit):
                item = self._ctx.load(tx, item_id, for_update=True)
                if item.escalated_at is not None or item.state is not ItemState.NTD_SENT:
                    continue
                item.escalated_at = now
                overdue = now - item.deadline_at if item.deadline_at else timedelta(0)
                self._ctx.event(
                    tx,
                    EventKind.DEADLINE_ESCALATED,
                    now,
                    item=item,
                    detail=f"overdue by {overdue}",
                    details=DeadlineDetails(item.deadline_at or now, int(overdue.total_seconds())),
                )
                tx.update_item(item)
                tx.append_audit(at=now, actor="scheduler", action="EscalateDeadline", subject=item_id, detail="")
                escalated.append(item_id)
        if escalated:
            self._ctx.committed()
            _log.warning("deadline.escalated", item_ids=escalated)
        return escalated

    def purge_closed(self, retention: timedelta, batch: int = 500) -> int:
        """Delete cases closed longer ago than `retention`. Returns how many items were purged."""
        if retention <= timedelta(0):
            raise InvalidArgument("must be positive", field="retention_days")
        now = self._ctx.clock.now()
        purged = 0
        while True:
            with self._ctx.store.transaction() as tx:
                item_ids = tx.purge_closed_items(now - retention, batch)
                if item_ids:
                    tx.append_audit(
                        at=now,
                        actor="scheduler",
                        action="PurgeClosed",
                        subject=f"{len(item_ids)} items",
                        detail=",".join(item_ids)[:500],
                    )
            purged += len(item_ids)
            if len(item_ids) < batch:
                break
        cleared = self._clear_exchange_records(now - retention, batch)
        if purged or cleared:
            _log.info("retention.purged", items=purged, exchange_records=cleared)
        return purged

    def _clear_exchange_records(self, before: datetime, batch: int) -> int:
        """Clear the URLs the exchange's records keep for purged items (node.cases.ports:
        clear_exchange_records), a batch per transaction. Returns how many records changed."""
        cleared = 0
        while True:
            with self._ctx.store.transaction() as tx:
                changed = tx.clear_exchange_records(before, batch)
            cleared += changed
            if changed < batch:
                return cleared
