"""The reads the metrics take at scrape time, on both backends: pending depth and oldest message per peer,
and items by state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from node.app import Node
from node.cases.model import OutboxMessage
from node.cases.requests import NewReport, NewUrl
from node.exchange.ports import OutboxMark, OutboxStatus
from node.metrics.ports import PendingDepth
from node.store.sql_store import SqlStore
from tests.conftest import INTAKE

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_pending_depth_and_oldest_message_per_peer(store: SqlStore) -> None:
    queued = {}
    with store.transaction() as tx:
        for peer, minutes in (("de-hotline", 0), ("de-hotline", 5), ("be-hotline", 7), ("fr-hotline", 1)):
            message_id = str(uuid.uuid4())
            queued[peer, minutes] = message_id
            created = T0 + timedelta(minutes=minutes)
            tx.enqueue_outbox(OutboxMessage(message_id, peer, "referral", "item", "{}", created))
    with store.transaction() as tx:  # answered: no longer pending
        tx.mark_outbox_many(
            [
                OutboxMark(queued["de-hotline", 0], OutboxStatus.ACKED),
                OutboxMark(queued["fr-hotline", 1], OutboxStatus.REJECTED, "MALFORMED: x"),
            ],
            T0,
        )
    with store.transaction(read_only=True) as tx:
        assert tx.pending_by_peer() == [
            PendingDepth("be-hotline", 1, T0 + timedelta(minutes=7)),
            PendingDepth("de-hotline", 1, T0 + timedelta(minutes=5)),
        ]


def test_item_counts_by_state(node: Node) -> None:
    with node.store.transaction(read_only=True) as tx:
        assert tx.item_counts_by_state() == {}
    node.cases.submit_report(
        INTAKE, NewReport((NewUrl("https://nl.host.example/1"), NewUrl("https://nl.host.example/2")))
    )
    with node.store.transaction(read_only=True) as tx:
        counts = tx.item_counts_by_state()
    assert sum(counts.values()) == 2 and len(counts) == 1
