"""Reads: reports, items, an item's timeline and receipts, the event log and the statistics. Each runs in a
read-only transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from node.cases.context import CaseContext, without_expired_hold
from node.cases.fields import check_node_id
from node.cases.model import Event, Item, Principal, Report, Role
from node.cases.ports import ItemQuery, ItemReceipt, ItemTimes
from node.cases.requests import check_country
from node.cases.statistics import Statistics, compute_statistics
from node.errors import InvalidArgument, NotFound, Reason

__all__ = ["Queries"]


class Queries:
    def __init__(self, ctx: CaseContext) -> None:
        self._ctx = ctx

    def get_report(self, report_id: str, principal: Principal | None = None) -> Report:
        """The report, for analysts and for the token (or token group) that submitted it; `principal` None is
        the node itself. Anyone else is told what a missing report tells (NOT_FOUND): no existence oracle."""
        with self._ctx.store.transaction(read_only=True) as tx:
            report = tx.get_report(report_id)
        if report is None or not (principal is None or _may_read(principal, report)):
            # The same answer as for an id that does not exist: a report id tells another caller nothing.
            raise NotFound(f"no report {report_id!r}", field="report_id", reason=Reason.UNKNOWN_REPORT)
        return report

    def get_item(self, item_id: str) -> Item:
        with self._ctx.store.transaction(read_only=True) as tx:
            return self._ctx.load(tx, item_id)

    def list_items(self, query: ItemQuery) -> list[Item]:
        hosting_country = query.hosting_country
        if hosting_country:
            hosting_country = check_country(hosting_country, field="hosting_country")
        origin_node = query.origin_node
        if origin_node is not None:
            # This node's own items have no origin; its own id names them.
            origin_node = (
                "" if origin_node == self._ctx.settings.node_id else check_node_id(origin_node, field="origin_node")
            )
        checked = replace(query, hosting_country=hosting_country or None, origin_node=origin_node)
        with self._ctx.store.transaction(read_only=True) as tx:
            items = tx.list_items(checked)
        now = self._ctx.clock.now()
        return [without_expired_hold(item, now) for item in items]

    def timeline(self, item_id: str) -> list[Event]:
        with self._ctx.store.transaction(read_only=True) as tx:
            self._ctx.load(tx, item_id)
            return tx.list_events(after_seq=0, limit=10_000, item_id=item_id)

    def receipts(self, item_id: str) -> list[ItemReceipt]:
        """The chain of custody of an item: who accepted which message about it, and when."""
        with self._ctx.store.transaction(read_only=True) as tx:
            self._ctx.load(tx, item_id)
            return tx.receipts_for_item(item_id)

    def list_events(self, *, after_seq: int, limit: int) -> list[Event]:
        with self._ctx.store.transaction(single_read=True) as tx:
            return tx.list_events(after_seq=after_seq, limit=limit)

    def statistics(
        self, *, start: datetime | None, end: datetime | None, hosting_country: str = ""
    ) -> tuple[Statistics, list[Statistics]]:
        """Figures overall and per hosting country, for items first reported in [start, end)."""
        if start is not None and end is not None and end <= start:
            raise InvalidArgument("must be after period_start", field="period_end")
        country = check_country(hosting_country, field="hosting_country") if hosting_country else None
        with self._ctx.store.transaction(read_only=True) as tx:
            rows = tx.item_times(start=start, end=end, hosting_country=country)
        per_country: dict[str, list[ItemTimes]] = {}
        for row in rows:
            per_country.setdefault(row.hosting_country or "", []).append(row)
        overall = compute_statistics(rows, country or "")
        return overall, [compute_statistics(r, c) for c, r in sorted(per_country.items()) if c]


def _may_read(principal: Principal, report: Report) -> bool:
    return Role.ANALYST in principal.roles or principal.owns(report.submitted_by, report.submitted_group)
