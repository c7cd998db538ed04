"""The store's exchange queries, on both backends: peers with waiting messages, a peer's outbox past a cursor,
acks and rejections in bulk, receipts kept once, and inbox entries by (sender, message id)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from node.cases.model import OutboxMessage
from node.exchange.delivery import DeliveryStatus
from node.exchange.ports import InboxEntry, OutboxDeferral, OutboxMark, OutboxStatus, Receipt
from node.store import schema as t
from node.store.sql_store import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _queue(store: SqlStore, peer: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with store.transaction() as tx:
        for message_id in ids:
            tx.enqueue_outbox(OutboxMessage(message_id, peer, "referral", "item", "{}", T0))
    return ids


def test_peers_with_pending_messages_only(store: SqlStore) -> None:
    assert _queue(store, "de-hotline", 3) and _queue(store, "be-hotline", 1)
    done = _queue(store, "fr-hotline", 2)
    with store.transaction() as tx:
        tx.mark_outbox_many(
            [OutboxMark(done[0], OutboxStatus.ACKED), OutboxMark(done[1], OutboxStatus.REJECTED, "NOTFOUND: no item")],
            T0,
        )
    with store.transaction(read_only=True) as tx:
        assert tx.peers_with_pending() == ["be-hotline", "de-hotline"]
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox.c.message_id, t.outbox.c.status, t.outbox.c.acked_at, t.outbox.c.last_error).where(
                t.outbox.c.peer_node == "fr-hotline"
            )
        ).all()
    assert {tuple(r) for r in rows} == {
        (done[0], OutboxStatus.ACKED, T0, ""),
        (done[1], OutboxStatus.REJECTED, None, "NOTFOUND: no item"),
    }


def test_a_peers_outbox_past_a_cursor_oldest_first(store: SqlStore) -> None:
    ids = _queue(store, "de-hotline", 5)
    _queue(store, "be-hotline", 2)
    with store.transaction(read_only=True) as tx:
        first = tx.pending_outbox_after("de-hotline", 0, 3)
        rest = tx.pending_outbox_after("de-hotline", first[-1][0], 10)
    assert [m.message_id for _, m in first + rest] == ids
    assert [outbox_id for outbox_id, _ in first + rest] == sorted(outbox_id for outbox_id, _ in first + rest)


def test_a_receipt_is_kept_once(store: SqlStore) -> None:
    (message_id,) = _queue(store, "de-hotline", 1)
    with store.transaction() as tx:
        tx.put_receipts([Receipt(message_id, "de-hotline", "item", T0, "first", T0)])
    with store.transaction() as tx:
        tx.put_receipts([Receipt(message_id, "de-hotline", "item", T0, "second", T0 + timedelta(hours=1))])
        assert [r.receipt for r in tx.receipts_for_item("item")] == ["first"]


def test_inbox_entries_by_sender_and_message_id(store: SqlStore) -> None:
    entries = [
        InboxEntry("nl-hotline", "m-1", "1", T0, DeliveryStatus.ACCEPTED, receipt="cmVjZWlwdA=="),
        InboxEntry("nl-hotline", "m-2", "1", T0, DeliveryStatus.REJECTED, "NOTFOUND", "no item"),
        InboxEntry("be-hotline", "m-1", "1", T0, DeliveryStatus.ACCEPTED, receipt="b3RoZXI="),
    ]
    with store.transaction() as tx:
        tx.put_inbox_many(entries)
    with store.transaction(read_only=True) as tx:
        found = tx.get_inbox_many(
            [("nl-hotline", "m-1"), ("nl-hotline", "m-2"), ("nl-hotline", "m-3"), ("be-hotline", "m-1")]
        )
    assert found == {(e.sender, e.message_id): e for e in entries}


def test_a_roster_version_kept_again_with_the_same_bytes_changes_nothing(store: SqlStore) -> None:
    """`roster apply` and the running node may both keep one version; other bytes under it are refused."""
    with store.transaction() as tx:
        tx.put_roster(1, "c2lnbmVk", T0)
    with store.transaction() as tx:
        tx.put_roster(1, "c2lnbmVk", T0 + timedelta(minutes=1))
    with store.transaction(read_only=True) as tx:
        assert tx.rosters_after(0) == [(1, "c2lnbmVk")]
    try:
        with store.transaction() as tx:
            tx.put_roster(1, "b3RoZXI=", T0)
    except RuntimeError as error:
        assert str(error) == "roster version 1 is kept already, with other bytes"
    else:
        raise AssertionError("other bytes under a kept version must fail")
    with store.transaction(read_only=True) as tx:
        assert tx.rosters_after(0) == [(1, "c2lnbmVk")]


def test_whether_a_peer_has_pending_messages_due_or_not(store: SqlStore) -> None:
    later, acked = _queue(store, "de-hotline", 1), _queue(store, "be-hotline", 1)
    with store.transaction() as tx:
        tx.defer_outbox_many([OutboxDeferral(later[0], "CLOCK_SKEW: later")], T0, lambda _: timedelta(hours=1))
        tx.mark_outbox_many([OutboxMark(acked[0], OutboxStatus.ACKED)], T0)
    with store.transaction(read_only=True) as tx:
        assert [tx.has_pending(peer) for peer in ("de-hotline", "be-hotline", "fr-hotline")] == [True, False, False]
