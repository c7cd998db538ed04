"""Closed cases are purged after the retention period; open cases, known hashes and the audit log stay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from node.app import Node
from node.cases.model import ActionType, Assessment, Classification, ItemState
from node.cases.requests import NewAction, NewReport, NewUrl, RawHash
from node.clock import ManualClock
from node.errors import InvalidArgument
from node.store import schema as t
from tests.conftest import ANALYST, HASHER, INTAKE

SHA = "ab" * 32


def _count(node: Node, table: t.Table) -> int:
    with node.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_closed_items_past_retention_are_purged_and_known_hashes_survive(node: Node, clock: ManualClock) -> None:
    report = node.cases.submit_report(
        HASHER,
        NewReport(
            (NewUrl("https://nl.host.example/old", (RawHash("sha256", SHA),)), NewUrl("https://nl.host.example/open"))
        ),
        request_id="r-1",
    )
    old_id, open_id = (i.item_id for i in report.items)
    node.cases.assess(ANALYST, old_id, Assessment(Classification.NATIONAL))  # its (trusted) hash becomes known
    for action in (ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED, ActionType.CONTENT_REMOVED):
        node.cases.record_action(ANALYST, old_id, NewAction(action))
    assert node.cases.get_item(old_id).state is ItemState.CLOSED_REMOVED

    clock.advance(timedelta(days=29))
    assert node.cases.purge_closed(timedelta(days=30)) == 0  # not yet past retention

    clock.advance(timedelta(days=2))
    audit_before = _count(node, t.audit_log)
    assert node.cases.purge_closed(timedelta(days=30)) == 1

    assert node.cases.get_item(open_id).state is ItemState.AWAITING_ASSESSMENT
    with pytest.raises(Exception, match="no item"):
        node.cases.get_item(old_id)
    for table in (t.item_hashes, t.hosting_records, t.actions):
        with node.engine.connect() as connection:
            rows = connection.execute(select(func.count()).select_from(table).where(table.c.item_id == old_id))
            assert rows.scalar_one() == 0
    # The report still links the open item, so it stays.
    assert node.cases.get_report(report.report_id).report_id == report.report_id
    # Known content stays known, with its assessment; the audit log only grows.
    assert _count(node, t.known_hashes) == 1
    assert _count(node, t.assessments) == 1
    assert _count(node, t.audit_log) == audit_before + 1
    assert node.store.verify_audit_chain() is None

    again = node.cases.submit_report(
        HASHER, NewReport((NewUrl("https://nl.host.example/old", (RawHash("sha256", SHA),)),))
    )
    assert again.items[0].new_item and again.items[0].known_content


def test_a_report_whose_items_are_all_purged_goes_too(node: Node, clock: ManualClock) -> None:
    report = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/x"),)))
    node.cases.assess(ANALYST, report.items[0].item_id, Assessment(Classification.NOT_ILLEGAL))
    clock.advance(timedelta(days=400))
    assert node.cases.purge_closed(timedelta(days=365)) == 1
    assert _count(node, t.reports) == 0
    assert _count(node, t.events) == 0


def test_retention_must_be_positive(node: Node) -> None:
    with pytest.raises(InvalidArgument, match="retention_days"):
        node.cases.purge_closed(timedelta(0))


async def test_a_serving_node_purges_on_its_configured_interval(
    make_node: Callable[..., Node], database_url: str, clock: ManualClock
) -> None:
    """[node] retention_days and retention_check_seconds drive the scheduled purge of a started node."""
    node = make_node(database_url, retention_days=1, retention_check_seconds=1)
    assert node.config.retention_check_seconds == 1 and node.config.retention == timedelta(days=1)
    [item] = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/purge-me"),)), "r-p").items
    node.cases.assess(ANALYST, item.item_id, Assessment(Classification.NOT_ILLEGAL))
    clock.advance(timedelta(days=2))
    await node.start()
    try:
        for _ in range(100):  # the first run comes one interval after the start
            if _count(node, t.items) == 0:
                break
            await asyncio.sleep(0.1)
        assert _count(node, t.items) == 0
    finally:
        await node.stop(grace=0)
