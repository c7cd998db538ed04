"""The operator's view of the federation (node.exchange.admin) on both backends: status per peer, the outbox
without bodies, refusals both ways, and forgetting a peer's backoff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from node.cases.model import OutboxMessage
from node.clock import ManualClock
from node.errors import InvalidArgument, NotFound
from node.exchange.admin import FederationAdmin, RosterSummary
from node.exchange.ports import InboxEntry, OutboxDeferral, OutboxMark, OutboxStatus, PeerBackoff, RejectionSide
from node.store.sql_store import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROSTER = RosterSummary(7, T0 + timedelta(days=30), ("nl-hotline", "de-hotline", "it-hotline"))


def _queue(store: SqlStore, peer: str, minutes: int, item: str = "item-1") -> str:
    message_id = str(uuid.uuid4())
    with store.transaction() as tx:
        tx.enqueue_outbox(
            OutboxMessage(
                message_id, peer, "referral", item, '{"url": "https://x.example/a"}', T0 + timedelta(minutes=minutes)
            )
        )
    return message_id


@pytest.fixture
def admin(store: SqlStore) -> FederationAdmin:
    return FederationAdmin("nl-hotline", store, ManualClock(T0 + timedelta(hours=1)), lambda: ROSTER)


def test_status_per_peer(store: SqlStore, admin: FederationAdmin) -> None:
    _queue(store, "de-hotline", 0)
    _queue(store, "de-hotline", 5)
    refused = _queue(store, "be-hotline", 1)
    with store.transaction() as tx:
        tx.mark_outbox_many([OutboxMark(refused, OutboxStatus.REJECTED, "MALFORMED: no url")], T0)
        tx.set_peer_backoff("de-hotline", PeerBackoff(3, T0 + timedelta(hours=2)), error="UNAVAILABLE: down")
        tx.put_inbox_many([InboxEntry("fr-hotline", str(uuid.uuid4()), "referral", T0, "rejected", "STALE", "old")])
    status = admin.status()
    assert status.node_id == "nl-hotline" and status.roster == ROSTER
    peers = {p.peer: p for p in status.peers}
    assert sorted(peers) == ["be-hotline", "de-hotline", "fr-hotline", "it-hotline"]  # members, and peers on record
    assert (peers["it-hotline"].pending, peers["it-hotline"].link, peers["it-hotline"].rejections) == (0, None, 0)
    de = peers["de-hotline"]
    assert (de.pending, de.oldest_pending_at, de.rejections) == (2, T0, 0)
    assert de.link is not None and de.link.failures == 3 and de.link.last_error == "UNAVAILABLE: down"
    assert (peers["be-hotline"].pending, peers["be-hotline"].rejections, peers["be-hotline"].link) == (0, 1, None)
    assert peers["fr-hotline"].rejections == 1


def test_rejections_both_ways_newest_first(store: SqlStore, admin: FederationAdmin) -> None:
    refused = _queue(store, "be-hotline", 1, item="item-9")
    incoming = str(uuid.uuid4())
    with store.transaction() as tx:
        tx.mark_outbox_many([OutboxMark(refused, OutboxStatus.REJECTED, "MALFORMED: no url")], T0)
        tx.put_inbox_many(
            [InboxEntry("fr-hotline", incoming, "status", T0 + timedelta(minutes=9), "rejected", "STALE", "old")]
        )
    found = admin.rejections()
    assert [(r.side, r.peer, r.message_id, r.item_id, r.reason_code, r.reason) for r in found] == [
        (RejectionSide.BY_NODE, "fr-hotline", incoming, "", "STALE", "old"),
        (RejectionSide.BY_PEER, "be-hotline", refused, "item-9", "MALFORMED", "no url"),
    ]
    assert [r.message_id for r in admin.rejections(peer="be-hotline")] == [refused]
    assert len(admin.rejections(limit=1)) == 1


def test_outbox_list_filters(store: SqlStore, admin: FederationAdmin) -> None:
    first, second = _queue(store, "de-hotline", 0), _queue(store, "de-hotline", 5)
    other = _queue(store, "be-hotline", 1)
    with store.transaction() as tx:
        tx.mark_outbox_many([OutboxMark(first, OutboxStatus.ACKED)], T0)
    assert [e.message_id for e in admin.outbox()] == [first, second, other]
    pending = admin.outbox(peer="de-hotline", status=OutboxStatus.PENDING)
    assert [(e.message_id, e.status, e.kind, e.item_id) for e in pending] == [
        (second, OutboxStatus.PENDING, "referral", "item-1")
    ]
    assert "https://" not in repr(admin.outbox())  # ids and timing, never the body


def test_reset_backoff(store: SqlStore, admin: FederationAdmin) -> None:
    deferred = _queue(store, "de-hotline", 0)
    with store.transaction() as tx:
        tx.set_peer_backoff("de-hotline", PeerBackoff(4, T0 + timedelta(hours=3)), error="UNAVAILABLE: down")
        tx.defer_outbox_many([OutboxDeferral(deferred, "BUSY: later")], T0, lambda n: timedelta(hours=5))
    assert admin.reset_backoff("de-hotline") == 1
    link = {p.peer: p.link for p in admin.status().peers}["de-hotline"]
    assert link is not None and (link.failures, link.next_attempt_at) == (0, None)
    (entry,) = admin.outbox(peer="de-hotline")
    assert entry.next_attempt_at == T0 + timedelta(hours=1)


def test_bad_input_changes_nothing(store: SqlStore, admin: FederationAdmin) -> None:
    with pytest.raises(NotFound) as unknown:
        admin.reset_backoff("xx-hotline")
    assert unknown.value.field == "peer"
    with pytest.raises(InvalidArgument) as malformed:
        admin.reset_backoff("Not A Node!")
    assert malformed.value.field == "peer"
    with pytest.raises(InvalidArgument) as limit:
        admin.outbox(limit=0)
    assert limit.value.field == "limit"
    assert [p.peer for p in admin.status().peers] == ["de-hotline", "it-hotline"]  # the roster's, unchanged
