"""Peer opinions (issue 16, item 4a) as an integrator sees them, on SQLite and PostgreSQL: the re-assessment that
the hotline an item was referred to sends back in its signed status updates is an opinion on the item and its
hashes, on the item's timeline and counted per peer in GetStatistics; a member the item was not referred to
gives none (the update is refused, nothing is counted).

The peer's status update is applied as the exchange receiver applies it (in the receiver's transaction); the
two-node test in tests/exchange/test_two_nodes.py sends it for real.
"""

from __future__ import annotations

import pytest

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.exchange_messages import StatusUpdate
from node.cases.exchange_rules import ExchangeRefusal
from node.cases.model import ActionType, Classification, ItemState
from tests.api._known_hashes import Serve, h, hashed, serve
from tests.api._support import assess, get_item, snapshot
from tests.conftest import Served

__all__ = ["serve"]  # the fixture


def status_from(served: Served, sender: str, item_id: str, classification: Classification) -> None:
    """`sender`'s status update #1 on the item, applied as the exchange receiver applies it."""
    update = StatusUpdate(
        origin_item_id=item_id,
        sequence=1,
        assigned_node=sender,
        occurred_at=served.clock.now(),
        state=ItemState.CLOSED_NOT_ILLEGAL if classification is Classification.NOT_ILLEGAL else ItemState.AWAITING_LEA,
        action=ActionType.NOT_ILLEGAL if classification is Classification.NOT_ILLEGAL else None,
        classification=classification,
    )
    with served.node.store.transaction() as tx:
        served.node.cases.apply_status_update_txn(tx, sender, update)


async def opinions(served: Served) -> list[tuple[str, int, int]]:
    stats = await served.analyst.events.GetStatistics(event_pb.GetStatisticsRequest())
    return [(o.peer_node, o.agreements, o.disagreements) for o in stats.peer_opinions]


async def timeline(served: Served, item_id: str) -> list[str]:
    response = await served.analyst.cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=item_id))
    return [e.detail for e in response.events if e.kind == "item.peer_opinion"]


async def test_the_receiving_hotlines_disagreement_is_on_the_timeline_and_counted_per_peer(serve: Serve) -> None:
    served = await serve()
    disputed = await hashed(served, "https://de.host.example/shared/1", h())
    confirmed = await hashed(served, "https://de.host.example/shared/2", h("b3" * 32))
    for item_id in (disputed, confirmed):
        assert (await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)).state == pb.ITEM_STATE_REFERRED
    assert await opinions(served) == []

    status_from(served, "de-hotline", disputed, Classification.NOT_ILLEGAL)
    status_from(served, "de-hotline", confirmed, Classification.NATIONAL)
    [opinion] = await timeline(served, disputed)
    assert opinion.startswith("de-hotline disagrees: NOT_ILLEGAL (ours NATIONAL) on the item and its 1 hash(es)")
    assert "(learned: NATIONAL)" in opinion  # the known entry this node's verdict made of the hash
    assert (await timeline(served, confirmed))[0].startswith("de-hotline confirms: NATIONAL (ours NATIONAL)")
    assert await opinions(served) == [("de-hotline", 1, 1)]
    assert (await get_item(served, disputed)).state == pb.ITEM_STATE_CLOSED_NOT_ILLEGAL


async def test_a_member_the_item_was_not_referred_to_gives_no_opinion(serve: Serve) -> None:
    served = await serve()
    item_id = await hashed(served, "https://de.host.example/shared/1", h())
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    before = await snapshot(served)
    with pytest.raises(ExchangeRefusal) as refused:
        status_from(served, "fr-hotline", item_id, Classification.NOT_ILLEGAL)
    assert refused.value.code == "NOT_ASSIGNEE"
    assert await snapshot(served) == before and await opinions(served) == []
