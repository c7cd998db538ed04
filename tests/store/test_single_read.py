"""A single-read transaction, on both backends: its one statement reads what is committed, with no BEGIN and no
COMMIT around it; a second statement is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from node.cases.model import OutboxMessage
from node.store.sql_store import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _transactions_begun(store: SqlStore) -> list[str]:
    begun: list[str] = []

    def began(_connection: Any) -> None:
        begun.append("begin")

    event.listen(store.engine, "begin", began)
    return begun


def test_one_statement_reads_what_is_committed_without_a_transaction_around_it(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.enqueue_outbox(OutboxMessage(str(uuid.uuid4()), "de-hotline", "referral", "item", "{}", T0))
    begun = _transactions_begun(store)
    with store.transaction(single_read=True) as tx:
        assert tx.peers_with_pending() == ["de-hotline"]
    assert begun == []
    with store.transaction(read_only=True) as tx:
        assert tx.peers_with_pending() == ["de-hotline"]
    assert begun == ["begin"]  # an ordinary read-only transaction begins one


def test_a_second_statement_is_refused(store: SqlStore) -> None:
    with pytest.raises(RuntimeError, match="one statement"), store.transaction(single_read=True) as tx:
        tx.peers_with_pending()
        tx.list_events(after_seq=0, limit=10)
