"""The use-case envelope (CaseContext.command) as callers see it: a request id answers a repeat with the first
result and writes nothing more, the stored result ids keep their form, and the listeners hear of a commit
only when a use case changed something."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select

from node.app import Node
from node.cases.model import ActionType, Assessment, Classification
from node.cases.requests import NewAction, NewReport, NewUrl
from node.cases.results import ImportResult, RecordedAction
from node.cases.service import CaseService
from node.errors import FailedPrecondition
from node.hashes import ContentHash, HashAlgorithm, PdqIndex
from node.hosting import StaticResolver
from node.store import schema as t
from tests.conftest import ANALYST, HOSTING, INTAKE


@pytest.fixture
def commits(node: Node) -> tuple[CaseService, list[int]]:
    """A CaseService on the node's store that counts the commits it announces."""
    announced: list[int] = []
    cases = CaseService(
        settings=node.cases.settings,
        store=node.store,
        clock=node.clock,
        resolver=StaticResolver(HOSTING),
        membership=node.config.membership(),
        pdq_index=PdqIndex(),
        on_commit=lambda: announced.append(1),
    )
    return cases, announced


def _count(node: Node, table: Table) -> int:
    with node.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _result_id(node: Node, request_id: str) -> str:
    with node.engine.connect() as connection:
        return str(
            connection.execute(
                select(t.idempotency.c.result_id).where(t.idempotency.c.request_id == request_id)
            ).scalar_one()
        )


def _assessed_item(cases: CaseService) -> str:
    item_id = cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/command"),))).items[0].item_id
    cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL))
    return item_id


def test_a_repeated_action_is_answered_with_the_first_and_writes_nothing(
    node: Node, commits: tuple[CaseService, list[int]]
) -> None:
    cases, announced = commits
    item_id = _assessed_item(cases)
    first = cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED), "act-1")
    written = (_count(node, t.audit_log), _count(node, t.events), _count(node, t.actions), len(announced))
    again = cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED), "act-1")
    assert isinstance(again, RecordedAction) and again.action == first.action and again.item.item_id == item_id
    item, action = again  # still a pair for the callers that unpack it
    assert (item.item_id, action.action_id) == (first.item.item_id, first.action.action_id)
    assert (_count(node, t.audit_log), _count(node, t.events), _count(node, t.actions), len(announced)) == written
    assert _result_id(node, "act-1") == f"{item_id}/{first.action.action_id}"
    assert RecordedAction.ids_of(_result_id(node, "act-1")) == (item_id, first.action.action_id)


def test_a_repeated_import_is_answered_with_the_first_counts_and_no_listener_is_told(
    node: Node, commits: tuple[CaseService, list[int]]
) -> None:
    cases, announced = commits
    entries = [(ContentHash(HashAlgorithm.SHA256, bytes(32)), Classification.NATIONAL)]
    assert cases.import_known_hashes(ANALYST, entries, "a list", "import-1") == ImportResult(1, 0)
    assert cases.import_known_hashes(ANALYST, entries, "a list", "import-1") == ImportResult(1, 0)
    assert cases.import_known_hashes(ANALYST, entries, "a list", "import-2") == ImportResult(0, 1)
    assert (_result_id(node, "import-1"), _result_id(node, "import-2")) == ("1/0", "0/1")
    assert ImportResult.of_result_id("0/1") == ImportResult(imported=0, already_known=1)
    assert announced == []  # an import with no conflict writes no events


def test_a_refused_use_case_writes_nothing_and_tells_no_listener(
    node: Node, commits: tuple[CaseService, list[int]]
) -> None:
    cases, announced = commits
    item_id = _assessed_item(cases)
    before = (_count(node, t.audit_log), _count(node, t.events), _count(node, t.idempotency), len(announced))
    with pytest.raises(FailedPrecondition):  # the NTD needs the LEA told first
        cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED), "act-early")
    assert (_count(node, t.audit_log), _count(node, t.events), _count(node, t.idempotency), len(announced)) == before
