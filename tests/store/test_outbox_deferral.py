"""The store's side of transient refusals, held messages and clock skew, on both backends: a deferred message
waits for its own backoff, and so does every later message about the same item (order per item), while other
items go; held messages are taken by item, in order, and dropped when their hold ends; each peer's clock skew
is kept and listed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from node.cases.model import OutboxMessage
from node.exchange.ports import HeldMessage, OutboxDeferral, OutboxMark, OutboxStatus, PeerBackoff, PeerState
from node.store import schema as t
from node.store.sql_store import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DE = "de-hotline"


def _queue(store: SqlStore, *items: str) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in items]
    with store.transaction() as tx:
        for message_id, item in zip(ids, items, strict=True):
            tx.enqueue_outbox(OutboxMessage(message_id, DE, "referral", item, "{}", T0))
    return ids


def _due(store: SqlStore, at: datetime, horizon: datetime | None = None) -> list[str]:
    with store.transaction(read_only=True) as tx:
        return [m.message_id for _, m in tx.pending_outbox_after(DE, 0, 100, due_at=at, horizon=horizon)]


def test_a_deferred_message_holds_back_the_later_ones_about_its_item_only(store: SqlStore) -> None:
    a1, b1, a2, b2 = _queue(store, "item-a", "item-b", "item-a", "item-b")
    assert _due(store, T0) == [a1, b1, a2, b2]  # never deferred: due, whatever their times
    delays: list[int] = []

    def delay(attempts: int) -> timedelta:
        delays.append(attempts)
        return timedelta(minutes=attempts)

    with store.transaction() as tx:
        tx.defer_outbox_many([OutboxDeferral(a1, "FROM_THE_FUTURE: dated ahead")], T0, delay)
    assert _due(store, T0) == [b1, b2]  # a2 waits behind a1
    assert _due(store, T0 + timedelta(minutes=1)) == [a1, b1, a2, b2]
    with store.transaction() as tx:
        tx.defer_outbox_many([OutboxDeferral(a1, "NOTFOUND: not yet")], T0, delay)
    assert delays == [1, 2]  # attempts counted
    assert _due(store, T0 + timedelta(minutes=1)) == [b1, b2]
    # A clock set back (the node was ahead, then corrected): a message deferred beyond the horizon is due.
    assert _due(store, T0 - timedelta(minutes=10), horizon=T0) == [a1, b1, a2, b2]
    with store.transaction(read_only=True) as tx:  # without due_at: every pending message, as before
        assert [m.message_id for _, m in tx.pending_outbox_after(DE, 0, 100)] == [a1, b1, a2, b2]


def test_each_peers_clock_skew_is_kept_and_listed(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.set_peer_backoff("fr-hotline", PeerBackoff(2, T0), error="UNAVAILABLE")
        tx.set_peer_clock("fr-hotline", timedelta(seconds=-1.5), T0)
        tx.set_peer_clock(DE, timedelta(minutes=70), T0)
    with store.transaction() as tx:
        tx.set_peer_clock(DE, timedelta(milliseconds=12), T0 + timedelta(seconds=1))
    with store.transaction(read_only=True) as tx:
        assert tx.peer_states() == [
            PeerState(DE, 0, None, "", None, timedelta(milliseconds=12), T0 + timedelta(seconds=1)),
            PeerState("fr-hotline", 2, T0, "UNAVAILABLE", None, timedelta(seconds=-1.5), T0),
        ]


def test_an_answer_records_what_the_backoff_and_the_clock_setters_record(store: SqlStore) -> None:
    """peer_answered is set_peer_backoff(PeerBackoff(), success_at) and set_peer_clock in one statement: on a
    peer never seen, on one backed off, and without a skew (the clock as it was)."""
    at = T0 + timedelta(minutes=5)
    with store.transaction() as tx:
        tx.set_peer_backoff("fr-hotline", PeerBackoff(3, T0 + timedelta(hours=1)), error="UNAVAILABLE: refused")
        tx.set_peer_clock("fr-hotline", timedelta(seconds=2), T0)
        tx.set_peer_clock("it-hotline", timedelta(seconds=-4), T0)
    with store.transaction() as tx:
        tx.peer_answered(DE, at, timedelta(milliseconds=-250))
        tx.peer_answered("fr-hotline", at, timedelta(milliseconds=1500))
        tx.peer_answered("it-hotline", at, None)
        tx.peer_answered("pl-hotline", at, None)
    with store.transaction(read_only=True) as tx:
        assert tx.peer_states() == [
            PeerState(DE, 0, None, "", at, timedelta(milliseconds=-250), at),
            PeerState("fr-hotline", 0, None, "", at, timedelta(milliseconds=1500), at),
            PeerState("it-hotline", 0, None, "", at, timedelta(seconds=-4), T0),
            PeerState("pl-hotline", 0, None, "", at, None, None),
        ]
        assert tx.peer_backoff("fr-hotline") == PeerBackoff()


def test_held_messages_are_taken_by_item_in_order_and_dropped_when_their_hold_ends(store: SqlStore) -> None:
    def held(message_id: str, item: str, at: datetime) -> HeldMessage:
        return HeldMessage("nl-hotline", message_id, "nl-hotline", item, "withdrawal", "{}", at, at + timedelta(days=7))

    first, second, other = (
        held("m-1", "item-a", T0),
        held("m-2", "item-a", T0 + timedelta(seconds=1)),
        held("m-3", "item-b", T0),
    )
    with store.transaction() as tx:
        for message in (second, other, first):
            tx.hold_message(message)
        assert tx.held_count("nl-hotline") == 3 and tx.held_count("fr-hotline") == 0
    with store.transaction() as tx:
        assert tx.take_held("nl-hotline", "item-a") == [first, second]
        assert tx.take_held("nl-hotline", "item-a") == []
        assert tx.drop_expired_held(T0 + timedelta(days=7) - timedelta(seconds=1)) == []
        assert tx.drop_expired_held(T0 + timedelta(days=7)) == [other]
        assert tx.held_count("nl-hotline") == 0


def test_a_message_held_in_a_transaction_that_first_found_none_is_taken_in_it(store: SqlStore) -> None:
    """The store looks at held_messages once per transaction (a batch of referrals asks for each one): a
    withdrawal held after that look, in the same batch, ahead of its referral, must still be found."""
    withdrawal = HeldMessage(
        "nl-hotline", "m-1", "nl-hotline", "item-a", "withdrawal", "{}", T0, T0 + timedelta(days=7)
    )
    with store.transaction() as tx:
        assert tx.take_held("nl-hotline", "item-a") == []
        assert tx.drop_expired_held(T0 + timedelta(days=8)) == []
        tx.hold_message(withdrawal)
        assert tx.take_held("nl-hotline", "item-a") == [withdrawal]
    with store.transaction() as tx:
        tx.hold_message(withdrawal)
    with store.transaction() as tx:  # held by an earlier transaction
        assert tx.take_held("nl-hotline", "item-a") == [withdrawal]


def test_cancelling_the_pending_referrals_to_a_peer_leaves_its_other_messages(store: SqlStore) -> None:
    _, delivered = _queue(store, "item-a", "item-b")
    with store.transaction() as tx:
        tx.enqueue_outbox(OutboxMessage(str(uuid.uuid4()), DE, "withdrawal", "item-c", "{}", T0))
        tx.enqueue_outbox(OutboxMessage(str(uuid.uuid4()), "fr-hotline", "referral", "item-d", "{}", T0))
        tx.mark_outbox_many([OutboxMark(delivered, OutboxStatus.ACKED)], T0)
    with store.transaction() as tx:
        assert tx.cancel_pending_referrals(DE, "REROUTED: revoked") == ["item-a"]
    with store.transaction() as tx:
        assert tx.cancel_pending_referrals(DE, "REROUTED: revoked") == []
    with store.engine.connect() as connection:
        rows = connection.execute(select(t.outbox.c.item_id, t.outbox.c.status, t.outbox.c.last_error)).all()
    assert sorted((r.item_id, r.status, r.last_error) for r in rows) == [
        ("item-a", "rejected", "REROUTED: revoked"),
        ("item-b", "acked", ""),
        ("item-c", "pending", ""),
        ("item-d", "pending", ""),
    ]
