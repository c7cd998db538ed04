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
        # What the purge learned when it last found nothing to do: no closed item and no inbox reason older than
        # the first time, as of the event with the second sequence number (None: not known, look).
        self._retained: tuple[datetime, int] | None = None

    def escalate_overdue(self, limit: int = 500) -> list[str]:
        """Raise one escalation event for each item whose removal deadline has passed. Idempotent.

        Each run that looks also learns the next deadline: until then the runs return at once, without a
        transaction. A deadline written later is at least removal_deadline after the look (the action's time
        plus the setting, in any process sharing the database with the same setting), so the next look comes no
        later than that; one this process commits while a look runs, which the look may miss, is told after its
        commit (`NextDue.told`, by record_action)."""
        now = self._ctx.clock.now()
        deadlines = self._ctx.deadlines
        if not deadlines.due(now):
            return []
        deadlines.looking()
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
            upcoming = tx.next_deadline()  # after this run's escalations: any left over `limit` are due now
        horizon = now + self._ctx.settings.removal_deadline
        deadlines.learned(horizon if upcoming is None else min(upcoming, horizon))
        if escalated:
            self._ctx.committed()
            _log.warning("deadline.escalated", item_ids=escalated)
        return escalated

    def purge_closed(self, retention: timedelta, batch: int = 500) -> int:
        """Delete cases closed longer ago than `retention`. Returns how many items were purged.

        A run that finds nothing to do learns the oldest time a cutoff could reach; until the cutoff passes it,
        later runs only read the events written since (every close writes one, at the time the item closed,
        in whichever process sharing the database) instead of searching the items and the exchange's records."""
        if retention <= timedelta(0):
            raise InvalidArgument("must be positive", field="retention_days")
        now = self._ctx.clock.now()
        if self._retained is not None and not self._retention_due(now - retention):
            return 0
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
            self._retained = None
            _log.info("retention.purged", items=purged, exchange_records=cleared)
        else:
            self._retained = self._learn_retained(now)
        return purged

    def _retention_due(self, cutoff: datetime) -> bool:
        """Whether anything can be older than `cutoff`, from what was learned and the items closed since."""
        assert self._retained is not None
        oldest, seen = self._retained
        with self._ctx.store.transaction(read_only=True) as tx:
            newest = tx.last_event_seq()
            closed = tx.closed_between(seen, newest)
        self._retained = (oldest if closed is None else min(oldest, closed), newest)
        return cutoff > self._retained[0]

    def _learn_retained(self, now: datetime) -> tuple[datetime, int] | None:
        """After a run that found nothing: the oldest time a cutoff could reach (no later than `now`: an inbox
        entry received from here on is younger), as of the newest event, read first so that an item closed
        meanwhile is among the events after it. None while a message waits to be sent for an item already
        purged: once it is sent, the next run clears its body."""
        with self._ctx.store.transaction(read_only=True) as tx:
            seen = tx.last_event_seq()
            if tx.outbox_waits_on_purged():
                return None
            oldest = tx.oldest_retained()
        return (now if oldest is None else min(oldest, now)), seen

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
