"""The store's side of reconciliation, on both backends: the items shared with a peer (referred to it, or held
for it as origin) within a time range; messages queued again with their ids, unless retention cleared them;
a status sequence only ever raised; each peer's last comparison, keeping when it last agreed; restores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from node.cases.model import Item, ItemState, OutboxMessage
from node.exchange.ports import OutboxMark, OutboxStatus, ReconcileState
from node.store import schema as t
from node.store.sql_store import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NL, DE, FR = "nl-hotline", "de-hotline", "fr-hotline"


def _item(n: int, *, referred_to: str = "", origin: str = "", sequence: int = 0, days: int = 0) -> Item:
    return Item(
        item_id=str(uuid.uuid4()),
        url=f"https://de.host.example/{n}",
        host="de.host.example",
        state=ItemState.REFERRED if referred_to else ItemState.AWAITING_ASSESSMENT,
        assigned_node=referred_to or NL,
        first_reported_at=T0 + timedelta(days=days),
        created_at=T0,
        referred_to=referred_to,
        origin_node=origin,
        origin_item_id=str(uuid.uuid4()) if origin else "",
        status_sequence=sequence,
    )


def test_the_items_shared_with_a_peer_within_a_range(store: SqlStore) -> None:
    ours = _item(1, referred_to=DE, sequence=2)
    theirs = _item(2, origin=DE, sequence=3)
    items = [ours, theirs, _item(3, referred_to=FR), _item(4, origin=FR), _item(5), _item(6, referred_to=DE, days=40)]
    with store.transaction() as tx:
        for item in items:
            tx.insert_item(item)
    with store.transaction(read_only=True) as tx:
        shared = tx.shared_items(DE, NL, T0, T0 + timedelta(days=30), 100)
        assert len(tx.shared_items(DE, NL, T0, T0 + timedelta(days=60), 100)) == 3
        assert len(tx.shared_items(DE, NL, T0, T0 + timedelta(days=60), 2)) == 2
    assert sorted((s.origin_node, s.origin_item_id, s.status_sequence, s.item_id) for s in shared) == sorted(
        [(NL, ours.item_id, 2, ours.item_id), (DE, theirs.origin_item_id, 3, theirs.item_id)]
    )
    assert not any(s.withdrawn for s in shared)
    with store.transaction() as tx:
        tx.c.execute(update(t.items).where(t.items.c.item_id == ours.item_id).values(state=ItemState.WITHDRAWN.value))
        assert [
            s.withdrawn for s in tx.shared_items(DE, NL, T0, T0 + timedelta(days=30), 100) if s.origin_node == NL
        ] == [True]


def test_messages_are_queued_again_under_their_ids_unless_retention_cleared_them(store: SqlStore) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    with store.transaction() as tx:
        for message_id in ids:
            tx.enqueue_outbox(OutboxMessage(message_id, DE, "referral", "item-a", "{}", T0))
        tx.mark_outbox_many([OutboxMark(m, OutboxStatus.ACKED) for m in ids], T0)
        tx.c.execute(update(t.outbox).where(t.outbox.c.message_id == ids[2]).values(body="", body_sha256="0" * 64))
    with store.transaction() as tx:
        assert [m.message_id for m in tx.sent_about(DE, ["item-a"])] == ids
        assert tx.sent_about(FR, ["item-a"]) == [] and tx.sent_about(DE, []) == []
        assert tx.requeue_outbox(ids, T0 + timedelta(hours=1)) == 2
    with store.transaction(read_only=True) as tx:
        assert [m.message_id for _, m in tx.pending_outbox_after(DE, 0, 10)] == ids[:2]


def test_a_status_sequence_is_only_ever_raised(store: SqlStore) -> None:
    item = _item(1, origin=DE, sequence=3)
    with store.transaction() as tx:
        tx.insert_item(item)
        assert tx.raise_status_sequence(item.item_id, 5) is True
        assert tx.raise_status_sequence(item.item_id, 4) is False
        stored = tx.get_item(item.item_id)
    assert stored is not None and stored.status_sequence == 5


def test_each_peers_last_comparison_keeps_when_it_last_agreed_and_restores_are_kept(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.reconciliations() == [] and tx.last_restored_at() is None
        tx.put_reconciliation(ReconcileState(DE, T0, T0, 0, 0, ""))
        tx.put_reconciliation(ReconcileState(DE, T0 + timedelta(hours=1), None, 2, 1, "x" * 600))
        tx.put_reconciliation(ReconcileState(FR, T0, None, 1, 0, ""))
        tx.mark_restored(T0, "/backups/a")
        tx.mark_restored(T0 + timedelta(days=1), "/backups/b")
    with store.transaction(read_only=True) as tx:
        de, fr = tx.reconciliations()
        assert (de.peer, de.checked_at, de.agreed_at, de.differences, de.resent, len(de.detail)) == (
            DE,
            T0 + timedelta(hours=1),
            T0,
            2,
            1,
            500,
        )
        assert (fr.peer, fr.agreed_at) == (FR, None)
        assert tx.last_restored_at() == T0 + timedelta(days=1)
