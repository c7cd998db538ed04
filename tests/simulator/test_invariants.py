"""The invariant checker catches each kind of violation, and names what it found: each case's rows are written
into real node stores (SQLite, the node's schema), which the checker reads back row by row as after a run."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Integer, create_engine, insert

from node.cases.exchange_messages import Referral, dump_body
from node.exchange.ports import OutboxStatus
from node.store import schema as t
from simulator.invariants import MAX_LISTED, check_invariants
from simulator.stores import EndStores

URL = "https://c1.hosting-de-1.example/gallery/000001/0a.html"


@dataclass
class NodeRecords:
    """What one node's store holds, as rows of its tables (only the columns a case needs; the rest defaulted)."""

    node_id: str
    items: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)


_AT = datetime(2026, 3, 2, tzinfo=UTC)
_serial = itertools.count(1)


def _full(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    """The row with every other non-null column given a plain value of its type."""
    full = dict(row)
    for column in table.columns:
        if column.name in full or column.nullable or column.autoincrement is True:
            continue
        if isinstance(column.type, t.UtcDateTime):
            full[column.name] = _AT
        elif isinstance(column.type, Boolean):
            full[column.name] = False
        elif isinstance(column.type, Integer):
            full[column.name] = 0
        else:
            full[column.name] = f"x{next(_serial)}" if column.primary_key else ""
    return full


def _write(records: dict[str, NodeRecords], folder: Path) -> dict[str, Path]:
    databases = {}
    for node_id, node in records.items():
        path = folder / f"{node_id}.db"
        path.unlink(missing_ok=True)
        engine = create_engine(f"sqlite+pysqlite:///{path}")
        t.metadata.create_all(engine)
        with engine.begin() as connection:
            for table, rows in ((t.items, node.items), (t.outbox, node.outbox), (t.inbox, node.inbox)):
                for row in rows:
                    connection.execute(insert(table), _full(table, row))
            for row in node.receipts:
                connection.execute(insert(t.receipts), _full(t.receipts, {"peer_node": "", "item_id": "", **row}))
        engine.dispose()
        databases[node_id] = path
    return databases


def _item(item_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "item_id": item_id,
        "url": URL,
        "origin_node": "",
        "origin_item_id": "",
        "referred_by": "",
        "referred_to": "",
        "assigned_node": "",
        "state": "REFERRED",
        "status_sequence": 0,
    }
    return {**base, **fields}


def _healthy() -> dict[str, NodeRecords]:
    """nl referred item n1 to de; de removed it and told nl (update #3)."""
    body = dump_body(Referral("nl", "n1", URL, (), None, None, datetime(2026, 3, 2, tzinfo=UTC)).to_json())
    nl = NodeRecords(
        "nl",
        items=[_item("n1", referred_to="de", assigned_node="de", state="CLOSED_REMOVED", status_sequence=3)],
        outbox=[
            {
                "message_id": "m1",
                "peer_node": "de",
                "kind": "referral",
                "status": OutboxStatus.ACKED,
                "body": body,
                "last_error": "",
                "item_id": "n1",
            },
        ],
        receipts=[{"message_id": "m1"}],
        inbox=[{"sender": "de", "message_id": f"s{i}", "status": "accepted"} for i in range(3)],
    )
    de = NodeRecords(
        "de",
        items=[
            _item(
                "d1",
                origin_node="nl",
                origin_item_id="n1",
                referred_by="nl",
                assigned_node="de",
                state="CLOSED_REMOVED",
                status_sequence=3,
            )
        ],
        outbox=[
            {
                "message_id": f"s{i}",
                "peer_node": "nl",
                "kind": "status_update",
                "status": OutboxStatus.ACKED,
                "body": "{}",
                "last_error": "",
                "item_id": "d1",
            }
            for i in range(3)
        ],
        receipts=[{"message_id": f"s{i}"} for i in range(3)],
        inbox=[{"sender": "nl", "message_id": "m1", "status": "accepted"}],
    )
    return {"nl": nl, "de": de}


def _check(folder: Path, records: dict[str, NodeRecords], **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "submitted": {"nl": {URL}},
        "origin_items": [("nl", "n1")],
        "inactive": set(),
        "rogues": set(),
        "attacks": [],
    }
    arguments.update(overrides)
    honest = set(records) - set(arguments["rogues"])
    with EndStores(_write(records, folder), honest, scratch_parent=folder) as stores:
        return {r.name: r for r in check_invariants(stores, **arguments)}


def test_a_healthy_exchange_passes_every_invariant(tmp_path: Path) -> None:
    results = _check(tmp_path, _healthy())
    assert all(r.ok for r in results.values()), {n: r.violations for n, r in results.items()}
    assert results["exactly_once"].checked == 1
    assert results["views_match"].checked == 1


def test_a_referral_applied_twice_is_caught(tmp_path: Path) -> None:
    records = _healthy()
    records["de"].items.append(dict(records["de"].items[0], item_id="d2"))
    results = _check(tmp_path, records)
    assert not results["exactly_once"].ok
    assert "de holds 2 items for referral nl/n1" in results["exactly_once"].violations
    assert "referral m1 nl->de: 2 items at the receiver" in results["exactly_once"].violations


def test_a_message_still_pending_is_lost_unless_held_for_a_revoked_member(tmp_path: Path) -> None:
    records = _healthy()
    records["nl"].outbox[0] = dict(records["nl"].outbox[0], status=OutboxStatus.PENDING, last_error="UNAVAILABLE")
    results = _check(tmp_path, records)
    assert not results["nothing_lost"].ok
    assert "still pending after the drain (UNAVAILABLE)" in results["nothing_lost"].violations[0]
    held = _check(tmp_path, records, inactive={"de"})
    assert held["nothing_lost"].ok
    assert held["nothing_lost"].excused == {"held for a suspended or revoked member": 1}


def test_a_report_item_missing_at_the_origin_is_lost(tmp_path: Path) -> None:
    results = _check(tmp_path, _healthy(), origin_items=[("nl", "n1"), ("nl", "n9")])
    assert results["nothing_lost"].violations == ["report item n9 is missing at nl"]


def test_an_acknowledged_message_without_a_receipt_is_caught(tmp_path: Path) -> None:
    records = _healthy()
    records["nl"].receipts.clear()
    assert "without a stored receipt" in _check(tmp_path, records)["nothing_lost"].violations[0]


def test_a_rogue_message_that_was_not_rejected_fails_the_run(tmp_path: Path) -> None:
    attack = {"kind": "forged", "target": "de", "status": "ACCEPTED", "expected": {"REJECTED"}, "message_id": "x"}
    records = _healthy()
    records["de"].inbox.append({"sender": "rogue", "message_id": "x", "status": "accepted"})
    results = _check(tmp_path, records, rogues={"rogue"}, attacks=[attack])
    assert not results["rogue_rejected"].ok
    assert any("forged message to de answered ACCEPTED" in v for v in results["rogue_rejected"].violations)
    assert any("de accepted message x from rogue" in v for v in results["rogue_rejected"].violations)
    legitimate = {**attack, "kind": "legitimate", "status": "ACCEPTED", "expected": {"ACCEPTED"}, "legitimate": True}
    assert _check(tmp_path, records, rogues={"rogue"}, attacks=[legitimate])["rogue_rejected"].ok


def test_an_item_nobody_sent_is_caught(tmp_path: Path) -> None:
    records = _healthy()
    records["de"].items.append(_item("d9", url="https://other.hosting-de-2.test/x"))
    records["de"].items.append(_item("d8", origin_node="fr", origin_item_id="f1", referred_by="fr"))
    records["de"].items.append(_item("d7", origin_node="nl", origin_item_id="n7", referred_by="nl"))
    violations = _check(tmp_path, records)["no_unsent_items"].violations
    assert "de holds item d9 that no report to it named" in violations
    assert "de holds item d8 that no member referred to it" in violations
    assert "de holds item d7 that no member referred to it" in violations  # nl referred n1 to de, never n7


def test_an_originator_view_that_differs_from_the_assignee_is_caught(tmp_path: Path) -> None:
    records = _healthy()
    records["nl"].items[0] = dict(records["nl"].items[0], state="REFERRED", status_sequence=2)
    results = _check(tmp_path, records)
    assert not results["views_match"].ok
    assert "nl item n1 is REFERRED #2; de has it CLOSED_REMOVED #3" in results["views_match"].violations[0]


def test_the_count_covers_every_violation_and_the_list_the_first_in_stored_order(tmp_path: Path) -> None:
    records = _healthy()
    for i in range(MAX_LISTED + 5):
        records["nl"].outbox.append(
            {
                "message_id": f"p{i:02d}",
                "peer_node": "de",
                "kind": "status_update",
                "status": OutboxStatus.PENDING,
                "body": "{}",
                "last_error": f"e{i}",
                "item_id": "n1",
            }
        )
    result = _check(tmp_path, records)["nothing_lost"]
    assert result.violation_count == MAX_LISTED + 5
    assert result.checked == 1 + MAX_LISTED + 5 + 3 + 1  # nl's outbox, de's outbox, the report item
    assert result.violations == [
        f"status_update p{i:02d} nl->de: still pending after the drain (e{i})" for i in range(MAX_LISTED)
    ]


def test_a_referral_whose_receiver_never_accepted_it_is_caught(tmp_path: Path) -> None:
    records = _healthy()
    records["de"].inbox.clear()
    results = _check(tmp_path, records)
    assert results["exactly_once"].violations == ["referral m1 nl->de: 0 accepted"]
