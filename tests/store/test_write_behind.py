"""The transaction's write-behind rows (new items, their hashes, hosting, assessments and outbox messages), on both
backends:
every read in the transaction sees them, an update right after the insert writes one row, a savepoint that
fails takes its rows with it, and a rolled-back transaction writes none. prefetch_origins answers for pairs
with no item, and an item inserted afterwards is found."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from node.cases.model import (
    Assessment,
    Classification,
    HashProvenance,
    HostingRecord,
    Item,
    ItemState,
    OutboxMessage,
)
from node.hashes import ContentHash, HashAlgorithm
from node.hosting import HostingFacts
from node.store import schema as t
from node.store.sql_store import SqlStore
from node.store.txn import items as items_txn

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _count(engine: Engine, table: t.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _referred(origin_item_id: str = "") -> Item:
    return Item(
        item_id=str(uuid.uuid4()),
        url=f"https://de.host.example/wb/{uuid.uuid4().hex}",
        host="de.host.example",
        state=ItemState.AWAITING_ASSESSMENT,
        assigned_node="de-hotline",
        first_reported_at=T0,
        created_at=T0,
        hashes=[ContentHash(HashAlgorithm.SHA256, bytes(32))],
        origin_node="nl-hotline",
        origin_item_id=origin_item_id or str(uuid.uuid4()),
    )


def _write(tx: object, item: Item) -> None:
    tx.insert_item(item)  # type: ignore[attr-defined]
    tx.add_item_hashes(item.item_id, item.hashes, HashProvenance.PEER)  # type: ignore[attr-defined]
    record = HostingRecord(HostingFacts("192.0.2.7", "DE", 64500, "Example", False, "referral:nl-hotline"), T0)
    tx.insert_hosting(item.item_id, record)  # type: ignore[attr-defined]
    assessment = Assessment(Classification.NATIONAL, assessed_by="nl-hotline", assessed_at=T0, automatic=True)
    tx.add_assessment(item.item_id, assessment)  # type: ignore[attr-defined]


def test_a_read_in_the_transaction_sees_the_write_behind_rows(store: SqlStore) -> None:
    item = _referred()
    with store.transaction() as tx:
        _write(tx, item)
        got = tx.get_item(item.item_id)
        assert got is not None and got.hashes == item.hashes
        assert got.hosting is not None and got.hosting.facts.country == "DE"
        assert got.assessment is not None and got.assessment.classification is Classification.NATIONAL
    with store.transaction(read_only=True) as tx:
        assert tx.get_item(item.item_id) == got


def test_an_update_right_after_the_insert_writes_one_row_at_version_one(store: SqlStore) -> None:
    item = _referred()
    with store.transaction() as tx:
        _write(tx, item)
        item.status_sequence = 4
        tx.update_item(item)
        item.state = ItemState.AWAITING_LEA
        tx.update_item(item)
        assert item.version == 2
    with store.transaction() as tx:
        got = tx.get_item(item.item_id)
        assert got is not None and (got.version, got.status_sequence, got.state) == (2, 4, ItemState.AWAITING_LEA)
        got.state = ItemState.LEA_NOTIFIED
        tx.update_item(got)  # a stored row: the optimistic update against version 2
    assert _count(store.engine, t.items) == 1


def test_a_failed_savepoint_takes_its_write_behind_rows_with_it(store: SqlStore) -> None:
    kept, dropped = _referred(), _referred()
    with store.transaction() as tx:
        _write(tx, kept)
        with pytest.raises(RuntimeError), tx.savepoint():
            _write(tx, dropped)
            raise RuntimeError("refused")
        assert tx.get_item(dropped.item_id) is None
    with store.transaction(read_only=True) as tx:
        assert tx.get_item(kept.item_id) is not None and tx.get_item(dropped.item_id) is None
    assert (_count(store.engine, t.items), _count(store.engine, t.item_hashes)) == (1, 1)
    assert (_count(store.engine, t.hosting_records), _count(store.engine, t.assessments)) == (1, 1)


def test_a_rolled_back_transaction_writes_none_of_them(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        _write(tx, _referred())
        raise RuntimeError("abandoned")
    assert _count(store.engine, t.items) == _count(store.engine, t.item_hashes) == 0


def test_prefetched_origins_answer_none_until_an_item_is_inserted(store: SqlStore) -> None:
    stored = _referred("stored-1")
    with store.transaction() as tx:
        _write(tx, stored)
    with store.transaction() as tx:
        tx.prefetch_origins([("nl-hotline", "stored-1"), ("nl-hotline", "new-1"), ("be-hotline", "stored-1")])
        found = tx.find_item_by_origin("nl-hotline", "stored-1", for_update=True)
        assert found is not None and found.item_id == stored.item_id
        assert tx.find_item_by_origin("nl-hotline", "new-1") is None
        assert tx.find_item_by_origin("be-hotline", "stored-1") is None  # same item id, another origin
        arrived = dataclasses.replace(_referred("new-1"))
        tx.insert_item(arrived)
        again = tx.find_item_by_origin("nl-hotline", "new-1")
        assert again is not None and again.item_id == arrived.item_id


def test_queued_messages_and_known_hash_reads_leave_a_new_items_rows_behind(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queueing a message about a new item and matching its hashes write nothing yet, so the item's update after
    them is part of its insert (no UPDATE statement); the messages are still read back in the order queued, and
    a failed savepoint takes its message with it."""
    updates: list[object] = []
    real = items_txn._UPDATE_ITEM_DIRECT

    class _Counted:
        def run(self, connection: object, rows: list[object]) -> object:
            updates.append(rows)
            return real.run(connection, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(items_txn, "_UPDATE_ITEM_DIRECT", _Counted())
    item = _referred()
    with store.transaction() as tx:
        _write(tx, item)
        for n in (1, 2):
            tx.enqueue_outbox(OutboxMessage(f"m{n}", "nl-hotline", "status_update", item.item_id, "{}", T0))
        assert tx.find_known_hashes(item.hashes[0]) == []
        item.state = ItemState.AWAITING_LEA
        tx.update_item(item)
        with pytest.raises(RuntimeError), tx.savepoint():  # it writes the rows from before it first
            tx.enqueue_outbox(OutboxMessage("m3", "nl-hotline", "status_update", item.item_id, "{}", T0))
            raise RuntimeError("refused")
        assert [m.message_id for _, m in tx.pending_outbox_after("nl-hotline", 0, 10)] == ["m1", "m2"]
    assert updates == []
    with store.transaction(read_only=True) as tx:
        got = tx.get_item(item.item_id)
        assert got is not None and (got.version, got.state) == (1, ItemState.AWAITING_LEA)
    assert _count(store.engine, t.outbox) == 2
