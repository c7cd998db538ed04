"""Items and what hangs off them: hashes, assessments, hosting records, actions, holds, buffered status updates,
removal deadlines, retention purges and the milestones for statistics."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, String, Table, bindparam, delete, func, insert, select, update

from node.cases.model import (
    Action,
    ActionType,
    Assessment,
    Classification,
    HashProvenance,
    Hold,
    HostingRecord,
    Item,
    ItemState,
    Route,
)
from node.cases.ports import ItemQuery, ItemTimes
from node.errors import Aborted
from node.hashes import ContentHash, HashAlgorithm
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.rows import (
    _assessment,
    _assessment_columns,
    _hold,
    _hosting,
    _hosting_columns,
    _item_columns,
    _item_hash_row,
    record_columns,
    record_values,
    url_key,
)
from node.store.txn.transaction import (
    _INSERT_ASSESSMENT_DIRECT,
    _INSERT_HOSTING,
    _INSERT_ITEM_HASH,
    _OWN_ITEM_SQLITE,
    TransactionBase,
)

__all__ = ["ItemsTxn"]


class ItemsTxn(TransactionBase):
    """The items tables of a transaction (node.cases.ports.CaseTransaction)."""

    def find_open_item_by_url(self, url: str) -> Item | None:
        query = _OPEN_ITEM_BY_URL_FOR_UPDATE if self._postgres else _OPEN_ITEM_BY_URL
        row = query.first(self.c, {"k_url_key": url_key(url)})
        return self._item(row) if row else None

    def get_item(self, item_id: str, *, for_update: bool = False) -> Item | None:
        query = _ITEM_FOR_UPDATE if for_update and self._postgres else _ITEM
        row = query.first(self.c, {"k_item_id": item_id})
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
                found.update((origin_node, item_id) for item_id in _ORIGINS_PRESENT.scalars(self.c, params))
        self._absent_origins |= wanted - found

    def find_item_by_origin(self, origin_node: str, origin_item_id: str, *, for_update: bool = False) -> Item | None:
        if (origin_node, origin_item_id) in self._absent_origins:
            return None
        query = _ITEM_BY_ORIGIN_FOR_UPDATE if for_update and self._postgres else _ITEM_BY_ORIGIN
        row = query.first(self.c, {"k_origin_node": origin_node, "k_origin_item_id": origin_item_id})
        return self._item(row) if row else None

    def item_id_held_for_another_origin(self, origin_item_id: str, origin_node: str) -> bool:
        params = {"k_origin_item_id": origin_item_id, "k_origin_node": origin_node}
        return _HELD_FOR_ANOTHER_ORIGIN.first(self.c, params) is not None

    def put_pending_update(self, item_id: str, sequence: int, sender: str, body: str, at: datetime) -> None:
        key = {"k_item_id": item_id, "k_sequence": sequence, "k_sender": sender}
        if _PENDING_UPDATE.first(self.c, key) is None:
            row = dict(item_id=item_id, sequence=sequence, sender=sender, body=body, received_at=at)
            _INSERT_PENDING_UPDATE.run(self.c, [row])

    def take_pending_update(self, item_id: str, sequence: int, sender: str) -> str | None:
        key = {"k_item_id": item_id, "k_sequence": sequence, "k_sender": sender}
        body: str | None = _PENDING_UPDATE.scalar(self.c, key)
        if body is not None:
            _DELETE_PENDING_UPDATE.run(self.c, [key])
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

    def add_item_hashes(self, item_id: str, hashes: list[ContentHash], provenance: HashProvenance) -> None:
        """Written behind (see `c`)."""
        if hashes:
            self._later(_INSERT_ITEM_HASH, [_item_hash_row(item_id, h, provenance) for h in hashes])

    def set_item_hash_provenance(self, item_id: str, hashes: list[ContentHash], provenance: HashProvenance) -> None:
        for h in hashes:
            self.c.execute(
                update(t.item_hashes)
                .where(
                    t.item_hashes.c.item_id == item_id,
                    t.item_hashes.c.algorithm == h.algorithm.value,
                    t.item_hashes.c.digest == h.hex,
                )
                .values(provenance=provenance.value)
            )

    def add_assessment(self, item_id: str, assessment: Assessment) -> None:
        """Like insert_assessment, for a caller that needs no id back: written behind (see `c`)."""
        self._later(_INSERT_ASSESSMENT_DIRECT, [dict(item_id=item_id, **_assessment_columns(assessment))])

    def insert_assessment(self, item_id: str, assessment: Assessment) -> int:
        row = dict(item_id=item_id, **_assessment_columns(assessment))
        if not self._postgres:  # SQLite says the new row's id without RETURNING
            _, assessment_id = _INSERT_ASSESSMENT_DIRECT.run(self.c, [row])
            if assessment_id is not None:
                return assessment_id
        return int(_INSERT_ASSESSMENT_RETURNING.scalar(self.c, row))

    def insert_hosting(self, item_id: str, record: HostingRecord) -> None:
        """Written behind (see `c`)."""
        self._later(_INSERT_HOSTING, [_hosting_columns(item_id, record)])

    def insert_action(self, action: Action) -> None:
        _INSERT_ACTION.run(self.c, [{**record_values(action), "type": action.type.value}])

    def insert_hold(self, hold: Hold) -> None:
        self.c.execute(insert(t.holds), record_values(hold))

    def release_hold(self, hold_id: str, at: datetime) -> None:
        self.c.execute(update(t.holds).where(t.holds.c.hold_id == hold_id).values(released_at=at))

    def clear_hold(self, hold_id: str, at: datetime, by: str) -> None:
        self.c.execute(update(t.holds).where(t.holds.c.hold_id == hold_id).values(cleared_at=at, cleared_by=by))

    def list_items(self, q: ItemQuery) -> list[Item]:
        query = _item_select(t.items.c.item_id > q.after_item_id)
        if q.state is not None:
            query = query.where(t.items.c.state == q.state.value)
        if q.hosting_country:
            query = query.where(t.items.c.hosting_country == q.hosting_country)
        if q.origin_node is not None:
            query = query.where(t.items.c.origin_node == q.origin_node)
        if q.updated_since is not None:  # every change to an item is an event about it
            changed = select(t.events.c.item_id).where(t.events.c.occurred_at >= q.updated_since)
            query = query.where(t.items.c.item_id.in_(changed))
        rows = self.c.execute(query.order_by(t.items.c.item_id).limit(q.limit)).all()
        return [self._item(row) for row in rows]

    def items_past_deadline(self, now: datetime, limit: int) -> list[str]:
        return _PAST_DEADLINE.scalars(self.c, {"k_now": now, "k_limit": limit})

    def next_deadline(self) -> datetime | None:
        result: datetime | None = _NEXT_DEADLINE.scalar(self.c)
        return result

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
            t.peer_opinions,
            t.referral_copies,
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
        query = select(*record_columns(t.items, ItemTimes))
        if start is not None:
            query = query.where(t.items.c.first_reported_at >= start)
        if end is not None:
            query = query.where(t.items.c.first_reported_at < end)
        if hosting_country:
            query = query.where(t.items.c.hosting_country == hosting_country)
        return [
            ItemTimes(
                **{
                    **row._mapping,
                    "state": ItemState(row.state),
                    "classification": Classification(row.classification) if row.classification else None,
                }
            )
            for row in self.c.execute(query)
        ]

    def _item(self, row: Any) -> Item:
        item_id = row.item_id
        c, key = self.c, {"k_item_id": item_id}
        provenance = {
            ContentHash(HashAlgorithm(h.algorithm), bytes.fromhex(h.digest)): HashProvenance(h.provenance)
            for h in _ITEM_HASHES.all(c, key)
        }
        # The item's latest assessment and hosting record and its active hold came in the same row (_item_select).
        assessment_row = _AssessmentRow._make(row[_AT:_HT])
        hosting_row = _HostingRow._make(row[_HT:_OT])
        hold_row = _HoldRow._make(row[_OT:])
        action_rows = _ITEM_ACTIONS.all(c, key)
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
            assessment=None if assessment_row.assessment_id is None else _assessment(assessment_row),
            hosting=None if hosting_row.hosting_id is None else _hosting(hosting_row),
            hashes=list(provenance),
            hash_provenance=provenance,
            lea_notified_at=row.lea_notified_at,
            ntd_sent_at=row.ntd_sent_at,
            deadline_at=row.deadline_at,
            escalated_at=row.escalated_at,
            closed_at=row.closed_at,
            active_hold=None if hold_row.hold_id is None else _hold(hold_row),
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


# Hot statements: built once, compiled once per dialect and run on the DB-API cursor (node.store.direct).
_K_ITEM: BindParameter[str] = bindparam("k_item_id", type_=String())


def _latest(table: Table, order: Any, *where: Any) -> Any:
    """The key of the item's newest row of `table` (by `order`), NULL when it has none."""
    alias = table.alias()
    key = next(iter(table.primary_key.columns)).name
    return (
        select(alias.c[key])
        .where(alias.c.item_id == t.items.c.item_id, *(w(alias) for w in where))
        .order_by(alias.c[order].desc())
        .limit(1)
        .correlate(t.items)
        .scalar_subquery()
    )


def _row_type(table: Table) -> Any:
    """A named tuple of `table`'s columns: what an item's joined row gives `rows`' readers, sliced."""
    return namedtuple("Row", [c.key for c in table.c])


# An item's row carries its latest assessment, latest hosting record and active hold (each NULL when it has
# none), joined by the key a correlated lookup finds: one statement, where it took four.
_A, _H, _O = t.assessments, t.hosting_records, t.holds
_ITEM_JOIN = (
    t.items.outerjoin(_A, _A.c.assessment_id == _latest(_A, "assessment_id"))
    .outerjoin(_H, _H.c.hosting_id == _latest(_H, "hosting_id"))
    .outerjoin(_O, _O.c.hold_id == _latest(_O, "placed_at", lambda o: o.c.released_at.is_(None)))
)
_AT = len(t.items.c)
_HT = _AT + len(_A.c)
_OT = _HT + len(_H.c)
_ITEM_COLUMNS = (
    *t.items.c,
    *(c.label(f"a_{c.key}") for c in _A.c),
    *(c.label(f"h_{c.key}") for c in _H.c),
    *(c.label(f"o_{c.key}") for c in _O.c),
)
_AssessmentRow, _HostingRow, _HoldRow = (_row_type(table) for table in (_A, _H, _O))


def _item_select(*where: Any) -> Select[Any]:
    return select(*_ITEM_COLUMNS).select_from(_ITEM_JOIN).where(*where)


_ITEM_SELECT = _item_select(t.items.c.item_id == _K_ITEM)
_ITEM = Direct(_ITEM_SELECT)
_ITEM_FOR_UPDATE = Direct(_ITEM_SELECT.with_for_update(of=t.items))
_URL_KEY = t.items.c.url_key == bindparam("k_url_key", type_=String())
_OPEN_ITEM_BY_URL_FOR_UPDATE = Direct(
    _item_select(_URL_KEY, t.items.c.is_open.is_(True), t.items.c.origin_item_id == "").with_for_update(of=t.items)
)
_OPEN_ITEM_BY_URL = Direct(_item_select(_URL_KEY, t.items.c.is_open.is_(True), _OWN_ITEM_SQLITE))
_UPDATE_ITEM = update(t.items).where(t.items.c.item_id == _K_ITEM, t.items.c.version == bindparam("k_version"))
_ITEM_HASHES = Direct(
    select(t.item_hashes)
    .where(t.item_hashes.c.item_id == _K_ITEM)
    .order_by(t.item_hashes.c.algorithm, t.item_hashes.c.digest)
)
_ITEM_ACTIONS = Direct(select(t.actions).where(t.actions.c.item_id == _K_ITEM).order_by(t.actions.c.occurred_at))
_ITEM_BY_ORIGIN_SELECT = (
    _item_select()
    .where(
        t.items.c.origin_node == bindparam("k_origin_node", type_=String()),
        t.items.c.origin_item_id == bindparam("k_origin_item_id", type_=String()),
    )
    .order_by(t.items.c.created_at.desc())
    .limit(1)
)
_ITEM_BY_ORIGIN = Direct(_ITEM_BY_ORIGIN_SELECT)
_ITEM_BY_ORIGIN_FOR_UPDATE = Direct(_ITEM_BY_ORIGIN_SELECT.with_for_update(of=t.items))
_ORIGINS_PRESENT = Direct(  # by origin node first: ix_items_origin serves it
    select(t.items.c.origin_item_id).where(
        t.items.c.origin_node == bindparam("k_origin_node", type_=String()),
        t.items.c.origin_item_id.in_(bindparam("k_item_ids", expanding=True)),
    )
)
_HELD_FOR_ANOTHER_ORIGIN = Direct(  # ix_items_origin_item_id serves it
    select(t.items.c.item_id)
    .where(
        t.items.c.origin_item_id == bindparam("k_origin_item_id", type_=String()),
        t.items.c.origin_node != bindparam("k_origin_node", type_=String()),
        t.items.c.origin_node != "",
    )
    .limit(1)
)
_UPDATE_ITEM_DIRECT = Direct(_UPDATE_ITEM)
_INSERT_ACTION = Direct(insert(t.actions))
_INSERT_ASSESSMENT_RETURNING = Direct(insert(t.assessments).returning(t.assessments.c.assessment_id))
_P = t.pending_status_updates.c
_PENDING_KEY = (
    _P.item_id == _K_ITEM,
    _P.sequence == bindparam("k_sequence"),
    _P.sender == bindparam("k_sender"),
)
_PENDING_UPDATE = Direct(select(_P.body).where(*_PENDING_KEY))
_INSERT_PENDING_UPDATE = Direct(insert(t.pending_status_updates))
_DELETE_PENDING_UPDATE = Direct(delete(t.pending_status_updates).where(*_PENDING_KEY))
_PAST_DEADLINE = Direct(
    select(t.items.c.item_id)
    .where(
        t.items.c.state == ItemState.NTD_SENT.value,
        t.items.c.deadline_at <= bindparam("k_now"),
        t.items.c.escalated_at.is_(None),
    )
    .order_by(t.items.c.deadline_at)
    .limit(bindparam("k_limit"))
)
# By the state index: the items whose NTD is out are the cases in flight, where the deadline index would also
# pass every closed item (they keep their deadline) with an earlier one.
_NEXT_DEADLINE = Direct(
    select(func.min(t.items.c.deadline_at).label("deadline_at")).where(
        t.items.c.state == ItemState.NTD_SENT.value, t.items.c.escalated_at.is_(None)
    )
)
