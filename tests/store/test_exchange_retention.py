"""Retention covers the exchange's tables: once a case is purged, its outbox, inbox and receipt rows keep the
chain of custody (ids, digests, signatures, times) and never its URL. A message still to be sent is kept whole."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from node.app import Node
from node.cases.model import Assessment, Classification
from node.cases.requests import NewReport, NewUrl
from node.clock import ManualClock
from node.exchange.delivery import DeliveryStatus
from node.exchange.ports import InboxEntry, OutboxMark, OutboxStatus, Receipt
from node.store import schema as t
from tests.conftest import ANALYST, INTAKE

URL = "https://de.host.example/retention/7f3a"
OTHER_URL = "https://de.host.example/retention/still-sending"


def _refer_and_withdraw(node: Node, url: str) -> tuple[str, list[tuple[str, str]]]:
    """An item referred to de-hotline and then withdrawn (closed); its outbox (message id, body)."""
    report = node.cases.submit_report(INTAKE, NewReport((NewUrl(url),)))
    item_id = report.items[0].item_id
    node.cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL))
    node.cases.withdraw_referral(ANALYST, item_id, "reported in error")
    with node.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox.c.message_id, t.outbox.c.body)
            .where(t.outbox.c.item_id == item_id)
            .order_by(t.outbox.c.outbox_id)
        ).all()
    return item_id, [(r.message_id, r.body) for r in rows]


def _rows(node: Node, table: t.Table) -> list[dict[str, object]]:
    with node.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(table))]


def test_after_retention_exchange_rows_keep_the_chain_of_custody_and_no_url(node: Node, clock: ManualClock) -> None:
    item_id, [(referral_id, referral_body), (withdrawal_id, _)] = _refer_and_withdraw(node, URL)
    assert URL in referral_body
    pending_item, [(pending_referral, _), (pending_withdrawal, pending_body)] = _refer_and_withdraw(node, OTHER_URL)
    now = clock.now()
    with node.store.transaction() as tx:
        tx.mark_outbox_many(
            [OutboxMark(referral_id, OutboxStatus.ACKED), OutboxMark(pending_referral, OutboxStatus.ACKED)], now
        )
        tx.mark_outbox_many([OutboxMark(withdrawal_id, OutboxStatus.REJECTED, f"INVALIDARGUMENT: bad {URL}")], now)
        tx.put_receipts([Receipt(referral_id, "de-hotline", item_id, now, "c2lnbmVkIHJlY2VpcHQ=", now)])
        tx.put_inbox_many(
            [
                InboxEntry(
                    "de-hotline", "m-1", "status_update", now, DeliveryStatus.REJECTED, "NOTFOUND", f"no item {URL}"
                )
            ]
        )

    clock.advance(timedelta(days=400))
    assert node.cases.purge_closed(timedelta(days=365)) == 2

    outbox = {r["message_id"]: r for r in _rows(node, t.outbox)}
    inbox, receipts = _rows(node, t.inbox), _rows(node, t.receipts)
    for row in [*outbox.values(), *inbox, *receipts]:
        assert "host.example" not in repr(row)
    referral = outbox[referral_id]
    assert referral["body"] == "" and referral["body_sha256"] == hashlib.sha256(referral_body.encode()).hexdigest()
    assert (referral["status"], referral["item_id"], referral["peer_node"]) == ("acked", item_id, "de-hotline")
    assert referral["acked_at"] == now and referral["created_at"] is not None
    assert outbox[withdrawal_id]["last_error"] == "INVALIDARGUMENT"
    assert receipts == [
        {
            "message_id": referral_id,
            "peer_node": "de-hotline",
            "item_id": item_id,
            "accepted_at": now,
            "receipt": "c2lnbmVkIHJlY2VpcHQ=",
            "recorded_at": now,
        }
    ]
    assert [(r["message_id"], r["reason_code"], r["reason"]) for r in inbox] == [("m-1", "NOTFOUND", "")]
    # Still to be sent: kept whole, even though its item is gone.
    kept = outbox[pending_withdrawal]
    assert (kept["status"], kept["body"], kept["body_sha256"]) == ("pending", pending_body, None)
    assert pending_item not in {r["item_id"] for r in _rows(node, t.items)}


def test_retention_leaves_the_exchange_rows_of_open_cases_alone(node: Node, clock: ManualClock) -> None:
    report = node.cases.submit_report(INTAKE, NewReport((NewUrl(URL),)))
    node.cases.assess(ANALYST, report.items[0].item_id, Assessment(Classification.NATIONAL))
    with node.store.transaction() as tx:
        message_id = tx.pending_outbox_after("de-hotline", 0, 10)[0][1].message_id
        tx.mark_outbox_many([OutboxMark(message_id, OutboxStatus.ACKED)], clock.now())
    clock.advance(timedelta(days=400))
    assert node.cases.purge_closed(timedelta(days=365)) == 0
    assert URL in _rows(node, t.outbox)[0]["body"]  # type: ignore[operator]
