"""The README's state table ("Which action is allowed in which state") is what the node does: every cell is
driven through the gRPC API on an item brought to the row's state, and the result (the new state, or refused
with FAILED_PRECONDITION and nothing changed) must be the cell's."""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.api._support import action, assess, get_item, refused, submit
from tests.conftest import Served

README = Path(__file__).parents[2] / "README.md"
_counter = itertools.count()


def _table() -> tuple[list[str], dict[str, list[str]]]:
    text = README.read_text()
    section = text[text.index("### Which action is allowed in which state") :]
    lines = [line for line in section.splitlines() if line.startswith("| ")][:11]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")][1:]
    rows = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return header, rows


async def _item(served: Served, state: str) -> str:
    """A new item in `state`, through the API as an integrator would bring it there."""
    n = next(_counter)
    host = {"REFERRED": "de", "WITHDRAWN": "de", "AWAITING_HOSTING": "unknown"}.get(state, "nl")
    item_id = (await submit(served, f"https://{host}.host.example/table/{n}")).item_id
    if state == "AWAITING_ASSESSMENT":
        return item_id
    classification = pb.CLASSIFICATION_NOT_ILLEGAL if state == "CLOSED_NOT_ILLEGAL" else pb.CLASSIFICATION_NATIONAL
    await assess(served, item_id, classification)
    steps = {
        "LEA_NOTIFIED": [pb.ACTION_TYPE_LEA_NOTIFIED],
        "NTD_SENT": [pb.ACTION_TYPE_LEA_NOTIFIED, pb.ACTION_TYPE_HP_NOTIFIED],
        "CLOSED_REMOVED": [pb.ACTION_TYPE_CONTENT_REMOVED],
        "CLOSED_UNAVAILABLE": [pb.ACTION_TYPE_CONTENT_UNAVAILABLE],
    }.get(state, [])
    for step in steps:
        await action(served, item_id, step)
    if state == "WITHDRAWN":
        await _withdraw(served, item_id)
    assert pb.ItemState.Name((await get_item(served, item_id)).state) == f"ITEM_STATE_{state}"
    return item_id


async def _withdraw(served: Served, item_id: str) -> object:
    request = case_pb.WithdrawReferralRequest(item_id=item_id, reason="sent in error")
    return await served.analyst.cases.WithdrawReferral(request)


def _do(served: Served, column: str) -> Callable[[str], Awaitable[object]]:
    cases, lea = served.analyst.cases, served.lea.lea
    if column == "PlaceHold":
        return lambda item_id: lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="case 1"))
    if column == "WithdrawReferral":
        return lambda item_id: _withdraw(served, item_id)
    kind, moved = (
        (pb.ACTION_TYPE_MOVED, "DE")
        if column.startswith("MOVED")
        else (pb.ActionType.Value(f"ACTION_TYPE_{column}"), "")
    )
    return lambda item_id: cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_id, type=kind, moved_to_country=moved)  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("state", list(_table()[1]))
async def test_each_cell_of_the_state_table_holds(served: Served, state: str) -> None:
    header, rows = _table()
    for column, expected in zip(header, rows[state], strict=True):
        item_id = await _item(served, state)
        before = await get_item(served, item_id)
        if expected == "refused":
            refusal = await refused(_do(served, column)(item_id))
            assert refusal.code is grpc.StatusCode.FAILED_PRECONDITION, (state, column, refusal)
            assert await get_item(served, item_id) == before, (state, column)
        else:
            await _do(served, column)(item_id)
            after = pb.ItemState.Name((await get_item(served, item_id)).state)
            assert after == f"ITEM_STATE_{expected}", (state, column)


def test_the_table_names_every_state_once() -> None:
    _, rows = _table()
    assert sorted(rows) == sorted(re.sub("^ITEM_STATE_", "", n) for n in pb.ItemState.keys()[1:])
