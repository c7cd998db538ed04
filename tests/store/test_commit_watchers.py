"""The store tells its watchers, after a commit and only then, which peers it queued messages for and the kinds
of the events it wrote (the simulator's in-process nodes use them instead of looking), on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from node.cases.event_kinds import EventKind
from node.cases.model import Event, OutboxMessage
from node.exchange.ports import OutboxDeferral
from node.store.sql_store import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _message(peer: str) -> OutboxMessage:
    return OutboxMessage(str(uuid.uuid4()), peer, "referral", str(uuid.uuid4()), "{}", T0)


def test_a_commit_tells_the_peers_it_queued_for_and_the_kinds_it_wrote(store: SqlStore) -> None:
    queued: list[frozenset[str] | None] = []
    kinds: list[frozenset[str]] = []
    store.watch_queue(queued.append)
    store.watch_events(kinds.append)
    with store.transaction() as tx:
        tx.enqueue_outbox(_message("de-hotline"))
        tx.enqueue_outbox(_message("fr-hotline"))
        tx.enqueue_outbox(_message("de-hotline"))
        tx.append_event(Event(str(uuid.uuid4()), EventKind.REFERRAL_RECEIVED, T0))
        assert queued == [] and kinds == []  # not before the commit
    assert queued == [frozenset({"de-hotline", "fr-hotline"})]
    assert kinds == [frozenset({EventKind.REFERRAL_RECEIVED})]
    with store.transaction(read_only=True) as tx:
        assert tx.peers_with_pending() == ["de-hotline", "fr-hotline"]
        tx.list_events(after_seq=0, limit=10)
    assert len(queued) == 1 and len(kinds) == 1  # a commit that queued and wrote nothing tells nothing


def test_a_rolled_back_transaction_tells_nothing(store: SqlStore) -> None:
    queued: list[frozenset[str] | None] = []
    kinds: list[frozenset[str]] = []
    store.watch_queue(queued.append)
    store.watch_events(kinds.append)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.enqueue_outbox(_message("de-hotline"))
        tx.append_event(Event(str(uuid.uuid4()), EventKind.REFERRAL_RECEIVED, T0))
        raise RuntimeError("abandoned")
    assert queued == [] and kinds == []


def test_messages_queued_again_are_told_as_of_peers_not_known(store: SqlStore) -> None:
    message = _message("de-hotline")
    with store.transaction() as tx:
        tx.enqueue_outbox(message)
    queued: list[frozenset[str] | None] = []
    store.watch_queue(queued.append)
    with store.transaction() as tx:
        tx.requeue_outbox([message.message_id], T0)
    assert queued == [None]


def test_an_operators_retry_now_tells_the_peer_whose_deferred_messages_are_due(store: SqlStore) -> None:
    waiting, other = _message("de-hotline"), _message("fr-hotline")
    with store.transaction() as tx:
        tx.enqueue_outbox(waiting)
        tx.enqueue_outbox(other)
        tx.defer_outbox_many([OutboxDeferral(waiting.message_id, "BUSY: later")], T0, lambda n: timedelta(hours=5))
    queued: list[frozenset[str] | None] = []
    store.watch_queue(queued.append)
    with store.transaction() as tx:
        assert tx.reset_peer_backoff("fr-hotline", T0) == 0  # nothing of fr's was deferred: nothing made due
    assert queued == []
    with store.transaction() as tx:
        assert tx.reset_peer_backoff("de-hotline", T0) == 1
    assert queued == [frozenset({"de-hotline"})]
