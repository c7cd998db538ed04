"""Reports and their links to items, and the bulk intake of a batch of reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select

from node.cases.model import Item, ItemState, Report, ReportedItem, Reporter
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.rows import _hosting_columns, _item_columns, _item_hash_row, _report_columns, url_key
from node.store.txn.transaction import (
    _INSERT_HOSTING,
    _INSERT_ITEM,
    _INSERT_ITEM_HASH,
    _OWN_ITEM_SQLITE,
    TransactionBase,
)

__all__ = ["ReportsTxn"]


class ReportsTxn(TransactionBase):
    """The reports tables of a transaction (node.cases.ports.CaseTransaction)."""

    def insert_intake_bulk(
        self,
        reports: list[tuple[Report, str, datetime]],
        items: list[Item],
        links: list[tuple[str, str, int, bool]],
    ) -> None:
        if reports:
            _INSERT_REPORT.run(self.c, [_report_columns(r, who, at) for r, who, at in reports])
        if items:
            _INSERT_ITEM.run(self.c, [dict(item_id=i.item_id, version=0, **_item_columns(i)) for i in items])
            hashes = [_item_hash_row(i.item_id, h, i.provenance_of(h)) for i in items for h in i.hashes]
            if hashes:
                _INSERT_ITEM_HASH.run(self.c, hashes)
            hosting = [_hosting_columns(i.item_id, i.hosting) for i in items if i.hosting]
            if hosting:
                _INSERT_HOSTING.run(self.c, hosting)
        if links:
            _INSERT_LINK.run(
                self.c, [{"report_id": r, "item_id": i, "position": p, "new_item": n} for r, i, p, n in links]
            )

    def open_item_urls(self, urls: list[str]) -> set[str]:
        if not urls:
            return set()
        keys = {url_key(u): u for u in urls}
        query = _OPEN_URL_KEYS if self._postgres else _OPEN_URL_KEYS_SQLITE
        return {keys[key] for key in query.scalars(self.c, {"k_url_keys": list(keys)})}

    def link_report_item(self, report_id: str, item_id: str, position: int, new_item: bool) -> None:
        _INSERT_LINK.run(self.c, [dict(report_id=report_id, item_id=item_id, position=position, new_item=new_item)])

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
        return Report(
            row.report_id,
            row.received_at,
            reported,
            row.referrer_url,
            reporter,
            submitted_by=row.submitted_by,
            submitted_group=row.submitted_group,
        )


_INSERT_REPORT = Direct(insert(t.reports))
_INSERT_LINK = Direct(insert(t.report_items))
_OPEN_URL_KEYS_WHERE = (
    t.items.c.url_key.in_(bindparam("k_url_keys", expanding=True)),
    t.items.c.is_open.is_(True),
)
_OPEN_URL_KEYS = Direct(select(t.items.c.url_key).where(*_OPEN_URL_KEYS_WHERE, t.items.c.origin_item_id == ""))
# By the URL keys' index, not a scan of every item of this hotline's own (see _OWN_ITEM_SQLITE).
_OPEN_URL_KEYS_SQLITE = Direct(select(t.items.c.url_key).where(*_OPEN_URL_KEYS_WHERE, _OWN_ITEM_SQLITE))
