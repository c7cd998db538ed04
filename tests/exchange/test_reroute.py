"""A member is revoked while referrals to it wait in the origin's outbox: they follow the roster's fallback for
its countries (re-routed, with an event), each delivered once to its new receiver, never to the revoked one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.cases.model import ItemState
from node.clock import ManualClock
from node.store import schema as t
from tests.exchange.federation import Federation
from tests.exchange.test_exchange import refer


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def _outbox(fed: Federation) -> list[tuple[str, str, str]]:
    with fed.members["nl-hotline"].node.engine.connect() as connection:
        rows = connection.execute(select(t.outbox.c.peer_node, t.outbox.c.status, t.outbox.c.last_error))
        return [(r.peer_node, r.status, r.last_error) for r in rows]


def _revoke_de(fed: Federation, fallback: int, fallback_node: str = "") -> None:
    fed.roster.fallback.kind = fallback  # type: ignore[assignment]
    fed.roster.fallback.node_id = fallback_node
    fed.set_status("de-hotline", roster_pb2.MEMBER_STATUS_REVOKED)


def test_a_queued_referral_to_a_revoked_member_goes_to_the_fallback_member_once(fed: Federation) -> None:
    nl = fed.members["nl-hotline"].node
    item_id = refer(fed)  # queued for de-hotline, not yet sent
    _revoke_de(fed, roster_pb2.FALLBACK_KIND_REFER, "fr-hotline")
    reason = "de-hotline is revoked in roster version 2"
    assert nl.cases.reroute_from("de-hotline", reason) == [item_id]
    assert nl.cases.reroute_from("de-hotline", reason) == []  # nothing waits for it any more
    item = nl.cases.get_item(item_id)
    assert (item.state, item.referred_to) == (ItemState.REFERRED, "fr-hotline")
    assert _outbox(fed) == [
        ("de-hotline", "rejected", f"REROUTED: {reason}"),
        ("fr-hotline", "pending", ""),
    ]
    events = [e for e in nl.cases.list_events(after_seq=0, limit=1000) if e.kind == "item.rerouted"]
    assert [(e.item_id, e.detail) for e in events] == [(item_id, f"from de-hotline ({reason}) to fr-hotline")]
    assert fed.deliver_all() == 1
    fr = fed.members["fr-hotline"].node
    with fr.store.transaction(read_only=True) as tx:
        assert tx.find_item_by_origin("nl-hotline", item_id) is not None
    with fed.members["de-hotline"].node.engine.connect() as connection:
        assert connection.execute(select(t.items)).all() == []


def test_with_the_direct_fallback_the_origin_keeps_the_item(fed: Federation) -> None:
    nl = fed.members["nl-hotline"].node
    item_id = refer(fed)
    _revoke_de(fed, roster_pb2.FALLBACK_KIND_DIRECT)
    assert nl.cases.reroute_from("de-hotline", "revoked") == [item_id]
    item = nl.cases.get_item(item_id)
    assert (item.state, item.referred_to, item.assigned_node) == (ItemState.AWAITING_LEA, "", "nl-hotline")
    assert [status for _, status, _ in _outbox(fed)] == ["rejected"]


def test_a_delivered_referral_is_not_rerouted(fed: Federation) -> None:
    nl = fed.members["nl-hotline"].node
    item_id = refer(fed)
    assert fed.deliver_all() == 1
    _revoke_de(fed, roster_pb2.FALLBACK_KIND_REFER, "fr-hotline")
    assert nl.cases.reroute_from("de-hotline", "revoked") == []
    assert nl.cases.get_item(item_id).referred_to == "de-hotline"
