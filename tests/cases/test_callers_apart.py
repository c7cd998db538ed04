"""Callers kept apart, in the domain and on both backends: reports read by their submitter, its group and
analysts; holds released and cleared by their placer (or its group, where allowed); removal under a hold."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from node.app import Node
from node.cases.actions import HOLD_ACTIVE, NOT_OWNER
from node.cases.model import ActionType, ItemState, Principal, Role
from node.cases.requests import NewAction, NewReport, NewUrl
from node.errors import FailedPrecondition, NotFound, PermissionDenied
from tests.cases.test_service import NATIONAL, act
from tests.conftest import ANALYST, INTAKE

FORM_A = Principal("t-form-a", "form-a", frozenset({Role.INTAKE}), group="integration-x")
FORM_B = Principal("t-form-b", "form-b", frozenset({Role.INTAKE}), group="integration-x")
KRIPO_1 = Principal("t-kripo-1", "kripo-1", frozenset({Role.LEA}), group="kripo")
KRIPO_2 = Principal("t-kripo-2", "kripo-2", frozenset({Role.LEA}), group="kripo")


def test_a_report_is_read_by_its_submitter_its_group_and_analysts_only(node: Node) -> None:
    submitted = node.cases.submit_report(FORM_A, NewReport((NewUrl("https://nl.host.example/apart/1"),)))
    for reader in (FORM_A, FORM_B, ANALYST):
        assert node.cases.get_report(submitted.report_id, reader).report_id == submitted.report_id
    with pytest.raises(NotFound) as refused:
        node.cases.get_report(submitted.report_id, INTAKE)
    with pytest.raises(NotFound) as missing:
        node.cases.get_report("01900000-0000-7000-8000-000000000000", INTAKE)
    assert refused.value.field == missing.value.field == "report_id"
    stored = node.cases.get_report(submitted.report_id, ANALYST)
    assert (stored.submitted_by, stored.submitted_group) == ("form-a", "integration-x")


def _held(node: Node, url: str, lea: Principal = KRIPO_1) -> str:
    (reported,) = node.cases.submit_report(INTAKE, NewReport((NewUrl(url),))).items
    node.cases.assess(ANALYST, reported.item_id, NATIONAL)
    act(node, reported.item_id, ActionType.LEA_NOTIFIED)
    node.cases.place_hold(lea, reported.item_id, None, "op-1")
    return reported.item_id


def test_a_hold_is_released_or_cleared_by_its_placer_only(node: Node) -> None:
    item_id = _held(node, "https://nl.host.example/apart/hold")
    for call in (node.cases.release_hold, node.cases.clear_removal):
        with pytest.raises(PermissionDenied) as refused:
            call(KRIPO_2, item_id)
        assert refused.value.reason == NOT_OWNER
    with pytest.raises(FailedPrecondition) as blocked:
        node.cases.record_action(ANALYST, item_id, NewAction(ActionType.CONTENT_REMOVED))
    assert blocked.value.reason == HOLD_ACTIVE
    cleared = node.cases.clear_removal(KRIPO_1, item_id)
    assert cleared.active_hold is not None and cleared.active_hold.cleared_by == "kripo-1"
    assert node.cases.get_item(item_id).active_hold == cleared.active_hold  # as stored
    closed = node.cases.record_action(ANALYST, item_id, NewAction(ActionType.CONTENT_REMOVED)).item
    assert closed.state is ItemState.CLOSED_REMOVED and node.cases.get_item(item_id).active_hold is None


def test_a_group_may_share_holds_where_the_node_allows(make_node: Callable[..., Node], database_url: str) -> None:
    node = make_node(database_url, lea_group_may_release=True)
    item_id = _held(node, "https://nl.host.example/apart/group")
    released = node.cases.release_hold(KRIPO_2, item_id)
    assert released.active_hold is None
