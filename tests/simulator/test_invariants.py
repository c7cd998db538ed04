"""The invariant checker catches each kind of violation, and names what it found."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from node.cases.exchange_messages import Referral, dump_body
from node.exchange.ports import OutboxStatus
from simulator.invariants import check_invariants
from simulator.records import NodeRecords

URL = "https://c1.hosting-de-1.example/gallery/000001/0a.html"


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


def _check(records: dict[str, NodeRecords], **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "submitted": {"nl": {URL}},
        "origin_items": [("nl", "n1")],
        "inactive": set(),
        "rogues": set(),
        "attacks": [],
    }
    arguments.update(overrides)
    return {r.name: r for r in check_invariants(records, **arguments)}


def test_a_healthy_exchange_passes_every_invariant() -> None:
    results = _check(_healthy())
    assert all(r.ok for r in results.values()), {n: r.violations for n, r in results.items()}
    assert results["exactly_once"].checked == 1
    assert results["views_match"].checked == 1


def test_a_referral_applied_twice_is_caught() -> None:
    records = _healthy()
    records["de"].items.append(dict(records["de"].items[0], item_id="d2"))
    results = _check(records)
    assert not results["exactly_once"].ok
    assert "de holds 2 items for referral nl/n1" in results["exactly_once"].violations
    assert "referral m1 nl->de: 2 items at the receiver" in results["exactly_once"].violations


def test_a_message_still_pending_is_lost_unless_held_for_a_revoked_member() -> None:
    records = _healthy()
    records["nl"].outbox[0] = dict(records["nl"].outbox[0], status=OutboxStatus.PENDING, last_error="UNAVAILABLE")
    results = _check(records)
    assert not results["nothing_lost"].ok
    assert "still pending after the drain (UNAVAILABLE)" in results["nothing_lost"].violations[0]
    held = _check(records, inactive={"de"})
    assert held["nothing_lost"].ok
    assert held["nothing_lost"].excused == {"held for a suspended or revoked member": 1}


def test_a_report_item_missing_at_the_origin_is_lost() -> None:
    results = _check(_healthy(), origin_items=[("nl", "n1"), ("nl", "n9")])
    assert results["nothing_lost"].violations == ["report item n9 is missing at nl"]


def test_an_acknowledged_message_without_a_receipt_is_caught() -> None:
    records = _healthy()
    records["nl"].receipts.clear()
    assert "without a stored receipt" in _check(records)["nothing_lost"].violations[0]


def test_a_rogue_message_that_was_not_rejected_fails_the_run() -> None:
    attack = {"kind": "forged", "target": "de", "status": "ACCEPTED", "expected": {"REJECTED"}, "message_id": "x"}
    records = _healthy()
    records["de"].inbox.append({"sender": "rogue", "message_id": "x", "status": "accepted"})
    results = _check(records, rogues={"rogue"}, attacks=[attack])
    assert not results["rogue_rejected"].ok
    assert any("forged message to de answered ACCEPTED" in v for v in results["rogue_rejected"].violations)
    assert any("de accepted message x from rogue" in v for v in results["rogue_rejected"].violations)
    legitimate = {**attack, "kind": "legitimate", "status": "ACCEPTED", "expected": {"ACCEPTED"}, "legitimate": True}
    assert _check(records, rogues={"rogue"}, attacks=[legitimate])["rogue_rejected"].ok


def test_an_item_nobody_sent_is_caught() -> None:
    records = _healthy()
    records["de"].items.append(_item("d9", url="https://other.hosting-de-2.test/x"))
    records["de"].items.append(_item("d8", origin_node="fr", origin_item_id="f1", referred_by="fr"))
    violations = _check(records)["no_unsent_items"].violations
    assert "de holds item d9 that no report to it named" in violations
    assert "de holds item d8 that no member referred to it" in violations


def test_an_originator_view_that_differs_from_the_assignee_is_caught() -> None:
    records = _healthy()
    records["nl"].items[0] = dict(records["nl"].items[0], state="REFERRED", status_sequence=2)
    results = _check(records)
    assert not results["views_match"].ok
    assert "nl item n1 is REFERRED #2; de has it CLOSED_REMOVED #3" in results["views_match"].violations[0]
