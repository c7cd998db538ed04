"""The trusted roster is persisted, updated only through verified versions, and takes effect at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.app import Node
from node.cases.model import Assessment, Classification, ItemState
from node.cases.requests import NewReport, NewUrl
from node.crypto import SigningKeyPair
from node.crypto.roster import RosterError, sign_roster
from node.exchange.ports import PeerRefusal
from node.exchange.roster_state import RosterState
from tests.conftest import ANALYST, INTAKE

AUTHORITY = [SigningKeyPair.generate() for _ in range(3)]


def roster(version: int, de_status: int = roster_pb2.MEMBER_STATUS_FULL) -> roster_pb2.Roster:
    r = roster_pb2.Roster(
        network_id="test-network",
        version=version,
        authority=roster_pb2.AuthorityKeys(
            threshold=2,
            keys=[
                roster_pb2.SigningKey(key_id=k.key_id, algorithm=k.algorithm, public_key=k.public.public_key)  # type: ignore[arg-type]
                for k in AUTHORITY
            ],
        ),
    )
    r.expires_at.FromDatetime(datetime(2030, 1, 1, tzinfo=UTC))
    r.members.append(
        roster_pb2.Member(node_id="nl-hotline", jurisdictions=["NL"], status=roster_pb2.MEMBER_STATUS_FULL)
    )
    r.members.append(roster_pb2.Member(node_id="de-hotline", jurisdictions=["DE"], status=de_status))  # type: ignore[arg-type]
    return r


def test_a_roster_change_takes_effect_without_a_restart_and_survives_one(sqlite_url: str, make_node: object) -> None:
    node: Node = make_node(sqlite_url)  # type: ignore[operator]
    state = RosterState(node.store, node.clock)
    state.bootstrap(sign_roster(roster(1), AUTHORITY[:2]))
    node.cases.set_membership(state.membership)
    state.on_change(node.cases.set_membership)

    def route(url: str) -> ItemState:
        item_id = node.cases.submit_report(INTAKE, NewReport((NewUrl(url),))).items[0].item_id
        return node.cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL)).state

    assert route("https://de.host.example/a") is ItemState.REFERRED
    state.accept([sign_roster(roster(2, roster_pb2.MEMBER_STATUS_SUSPENDED), AUTHORITY[1:])])
    assert route("https://de.host.example/b") is ItemState.AWAITING_LEA  # DE has no active member now

    with pytest.raises(RosterError) as caught:
        state.accept([sign_roster(roster(1), AUTHORITY)])
    assert caught.value.reason == "ROLLBACK"
    assert state.membership.version == 2

    reloaded = RosterState(node.store, node.clock)  # as after a restart
    assert reloaded.membership.version == 2
    assert [len(s) > 0 for s in reloaded.signed_after(0)] == [True, True]


def test_a_warning_given_once_is_not_given_again_after_a_restart(sqlite_url: str, make_node: object) -> None:
    node: Node = make_node(sqlite_url)  # type: ignore[operator]
    state = RosterState(node.store, node.clock)
    state.bootstrap(sign_roster(roster(1), AUTHORITY[:2]))
    soon = timedelta(days=5000)  # the roster expires in 2030: within this, it is expiring

    def warnings() -> list[str]:
        return [e.detail for e in node.cases.list_events(after_seq=0, limit=100) if e.kind == "roster.expiring"]

    assert state.check_expiry(soon) == "expiring" and len(warnings()) == 1
    assert state.check_expiry(soon) == "expiring" and len(warnings()) == 1
    restarted = RosterState(node.store, node.clock)  # as after a restart
    assert restarted.check_expiry(soon) == "expiring"
    assert len(warnings()) == 1  # not given again
    with node.store.transaction(read_only=True) as tx:
        (given,) = [w for w in tx.warnings_given() if w.code == "ROSTER_EXPIRING"]
    assert given.warning == "1:expiring" and "roster version 1 expires at 2030-01-01" in given.detail
    # A warning about a long source is kept under a bounded name, and still given once.
    source = "/srv/" + "r" * 400 + "/roster.signed"
    for _ in range(2):
        restarted = RosterState(node.store, node.clock)
        restarted.install_newer(b"not a roster", source)
    refused = [e for e in node.cases.list_events(after_seq=0, limit=100) if e.kind == "roster.file_refused"]
    assert len(refused) == 1


def test_a_new_roster_lifts_the_refusals_peers_made_under_the_old_one(sqlite_url: str, make_node: object) -> None:
    node: Node = make_node(sqlite_url)  # type: ignore[operator]
    state = RosterState(node.store, node.clock)
    state.bootstrap(sign_roster(roster(1), AUTHORITY[:2]))
    with node.store.transaction() as tx:
        tx.put_peer_refusal(PeerRefusal("de-hotline", "SENDER_SUSPENDED", "suspended", 1, node.clock.now(), b"x"))
    restarted = RosterState(node.store, node.clock)  # a restart keeps it
    with node.store.transaction(read_only=True) as tx:
        assert [r.peer for r in tx.peer_refusals()] == ["de-hotline"]
    restarted.accept([sign_roster(roster(2), AUTHORITY[:2])])
    with node.store.transaction(read_only=True) as tx:
        assert tx.peer_refusals() == []
