"""The audit log is append-only (the database refuses changes) and hash-chained (tampering is detected)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from node.app import Node
from node.cases.model import Assessment, Classification
from node.cases.requests import NewReport, NewUrl
from node.store import schema as t
from tests.conftest import ANALYST, INTAKE


def _work(node: Node) -> str:
    report = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/audit/a?q=1"),)))
    item_id = report.items[0].item_id
    node.cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL))
    return item_id


def test_every_change_is_audited_by_id_and_the_chain_verifies(node: Node) -> None:
    item_id = _work(node)
    with node.engine.connect() as connection:
        rows = connection.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all()
    assert [r.action for r in rows] == ["SubmitReport", "AssessItem"]
    assert rows[1].subject == item_id and rows[1].actor == ANALYST.name
    assert all("host.example" not in f"{r.subject} {r.detail}" for r in rows)  # ids, never URLs
    assert rows[1].prev_hash == rows[0].entry_hash
    assert node.store.verify_audit_chain() is None


def test_the_database_refuses_to_change_or_delete_audit_entries(node: Node) -> None:
    _work(node)
    for statement in (update(t.audit_log).values(detail="rewritten"), t.audit_log.delete()):
        with pytest.raises(DBAPIError, match="append-only"), node.engine.begin() as connection:
            connection.execute(statement)
    assert node.store.verify_audit_chain() is None


def test_tampering_is_detected_at_the_altered_entry(sqlite_url: str, make_node: object) -> None:
    node = make_node(sqlite_url)  # type: ignore[operator]
    _work(node)
    with node.engine.begin() as connection:  # an attacker with file access drops the guard first
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(update(t.audit_log).where(t.audit_log.c.seq == 2).values(detail="NOT_ILLEGAL"))
    assert node.store.verify_audit_chain() == 2
