"""The referral life cycle across nodes, on the domain: outbox bodies travel through the wire codec and are
applied in the receiver's transaction. (Signing, sealing and transport are tested on their own.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from node.app import Node, build_node
from node.cases.exchange_messages import Referral, StatusUpdate, Withdrawal
from node.cases.model import ActionType, Assessment, Classification, ItemState, Route
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.config import parse_config
from node.errors import DomainError
from node.exchange.codec import decode_body, encode_body
from node.exchange.ports import OutboxMark, OutboxStatus
from node.hosting import StaticResolver
from tests.conftest import ANALYST, HOSTING, INTAKE

MEMBERS = [
    {"node_id": "nl-hotline", "jurisdictions": ["NL"]},
    {"node_id": "de-hotline", "jurisdictions": ["DE"]},
    {"node_id": "fr-hotline", "jurisdictions": ["FR"]},
]
JURISDICTION = {"nl-hotline": "NL", "de-hotline": "DE", "fr-hotline": "FR"}


@pytest.fixture
def network(tmp_path: Path, clock: ManualClock) -> Iterator[dict[str, Node]]:
    nodes = {}
    for node_id, country in JURISDICTION.items():
        raw = {
            "node": {
                "id": node_id,
                "jurisdiction": country,
                "database_url": f"sqlite+pysqlite:///{tmp_path / node_id}.db",
            },
            "membership": {"members": MEMBERS},
        }
        nodes[node_id] = build_node(parse_config(raw, {}), clock=clock, resolver=StaticResolver(HOSTING))
    yield nodes
    for n in nodes.values():
        n.executor.shutdown(wait=False)
        n.engine.dispose()


def deliver(network: dict[str, Node], *, reverse: bool = False, only: Callable[[str], bool] = lambda _k: True) -> int:
    """Move every pending outbox message to its recipient (newest first when `reverse`). Returns the count."""
    moved = 0
    for sender, node in network.items():
        with node.store.transaction() as tx:
            waiting = [p for peer in tx.peers_with_pending() for p in tx.pending_outbox_after(peer, 0, 1000)]
            pending = [m for _, m in sorted(waiting, key=lambda p: p[0]) if only(m.kind)]  # in outbox order
        for message in reversed(pending) if reverse else pending:
            kind, body = encode_body(message.kind, message.body)
            incoming = decode_body(kind, body, sender=sender)
            recipient = network[message.peer_node]
            with recipient.store.transaction() as tx:
                if isinstance(incoming, Referral):
                    recipient.cases.receive_referral_txn(tx, sender, incoming)
                elif isinstance(incoming, StatusUpdate):
                    recipient.cases.apply_status_update_txn(tx, sender, incoming)
                elif isinstance(incoming, Withdrawal):
                    recipient.cases.apply_withdrawal_txn(tx, sender, incoming)
            with node.store.transaction() as tx:
                tx.mark_outbox_many([OutboxMark(message.message_id, OutboxStatus.ACKED)], node.clock.now())
            moved += 1
    return moved


NATIONAL = Assessment(Classification.NATIONAL)


def refer(network: dict[str, Node], url: str, classification: Classification = Classification.NATIONAL) -> str:
    nl = network["nl-hotline"]
    item_id = nl.cases.submit_report(INTAKE, NewReport((NewUrl(url),))).items[0].item_id
    nl.cases.assess(ANALYST, item_id, Assessment(classification))
    return item_id


def lea_notified_then_moved(de: Node, de_id: str, country: str) -> None:
    de.cases.assess(ANALYST, de_id, NATIONAL)
    de.cases.record_action(ANALYST, de_id, NewAction(ActionType.LEA_NOTIFIED))
    de.cases.record_action(ANALYST, de_id, NewAction(ActionType.MOVED, moved_to_country=country))


def item_at(node: Node, origin_item_id: str) -> str:
    with node.store.transaction(read_only=True) as tx:
        item = tx.find_item_by_origin("nl-hotline", origin_item_id)
    assert item is not None
    return item.item_id


def test_a_referral_goes_from_intake_in_one_country_to_removal_in_another_with_every_status_back(
    network: dict[str, Node], clock: ManualClock
) -> None:
    nl, de = network["nl-hotline"], network["de-hotline"]
    origin_id = refer(network, "https://de.host.example/a")
    assert nl.cases.get_item(origin_id).state is ItemState.REFERRED
    assert deliver(network) == 1

    de_id = item_at(de, origin_id)
    received = de.cases.get_item(de_id)
    assert received.state is ItemState.AWAITING_ASSESSMENT  # NATIONAL: re-assessed under German law
    assert received.assigned_node == "de-hotline" and received.origin_node == "nl-hotline"
    assert received.assessment is not None and received.assessment.classification is Classification.NATIONAL

    de.cases.assess(ANALYST, de_id, NATIONAL)
    for action in (ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED):
        clock.advance(timedelta(hours=2))
        de.cases.record_action(ANALYST, de_id, NewAction(action))
    clock.advance(timedelta(hours=20))
    de.cases.record_action(ANALYST, de_id, NewAction(ActionType.CONTENT_REMOVED))
    assert deliver(network) == 4  # assessed, LEA notified, NTD sent, removed

    origin = nl.cases.get_item(origin_id)
    assert origin.state is ItemState.CLOSED_REMOVED
    assert [a.type for a in origin.actions] == [
        ActionType.LEA_NOTIFIED,
        ActionType.HP_NOTIFIED,
        ActionType.CONTENT_REMOVED,
    ]
    assert {a.actor for a in origin.actions} == {"de-hotline"}
    assert origin.status_sequence == 4
    assert origin.closed_at is not None and origin.lea_notified_at is not None
    overall, _ = nl.cases.statistics(start=None, end=None)
    assert overall.removed_count == 1 and overall.removed_within_72h_count == 1


def test_baseline_stands_at_the_receiver_and_goes_straight_to_the_domestic_flow(network: dict[str, Node]) -> None:
    nl, de = network["nl-hotline"], network["de-hotline"]
    origin_id = refer(network, "https://de.host.example/b", Classification.BASELINE)
    deliver(network)
    de_item = de.cases.get_item(item_at(de, origin_id))
    assert de_item.state is ItemState.AWAITING_LEA and de_item.route is Route.DOMESTIC
    with pytest.raises(DomainError, match="BASELINE"):
        de.cases.assess(ANALYST, de_item.item_id, Assessment(Classification.NOT_ILLEGAL))
    deliver(network)
    assert nl.cases.get_item(origin_id).status_sequence == 1  # the automatic assessment was reported


def test_status_updates_arriving_out_of_order_are_applied_in_sequence(network: dict[str, Node]) -> None:
    nl, de = network["nl-hotline"], network["de-hotline"]
    origin_id = refer(network, "https://de.host.example/c")
    deliver(network)
    de_id = item_at(de, origin_id)
    de.cases.assess(ANALYST, de_id, NATIONAL)
    de.cases.record_action(ANALYST, de_id, NewAction(ActionType.LEA_NOTIFIED))
    de.cases.record_action(ANALYST, de_id, NewAction(ActionType.HP_NOTIFIED))
    de.cases.record_action(ANALYST, de_id, NewAction(ActionType.CONTENT_UNAVAILABLE))
    assert deliver(network, reverse=True) == 4
    origin = nl.cases.get_item(origin_id)
    assert origin.status_sequence == 4
    assert origin.state is ItemState.CLOSED_UNAVAILABLE
    assert [a.type for a in origin.actions] == [
        ActionType.LEA_NOTIFIED,
        ActionType.HP_NOTIFIED,
        ActionType.CONTENT_UNAVAILABLE,
    ]
    # Delivered again (a retry after a lost receipt): nothing is applied twice.
    with de.store.transaction() as tx:
        assert tx.peers_with_pending() == []


def test_moved_re_refers_to_the_new_country_and_the_new_assignee_reports_to_the_origin(
    network: dict[str, Node],
) -> None:
    nl, de, fr = network["nl-hotline"], network["de-hotline"], network["fr-hotline"]
    origin_id = refer(network, "https://de.host.example/d")
    deliver(network)
    de_id = item_at(de, origin_id)
    lea_notified_then_moved(de, de_id, "FR")
    assert de.cases.get_item(de_id).state is ItemState.REFERRED
    with de.store.transaction() as tx:  # only the MOVED update goes out: de may not refer nl's item itself
        assert tx.peers_with_pending() == ["nl-hotline"]
    deliver(network)  # the MOVED update to nl, which checks it and refers the item to fr
    deliver(network)
    origin = nl.cases.get_item(origin_id)
    assert origin.assigned_node == "fr-hotline" and origin.status_sequence == 3

    fr_id = item_at(fr, origin_id)
    fr_item = fr.cases.get_item(fr_id)
    assert fr_item.referred_by == "nl-hotline" and fr_item.status_sequence == 3
    fr.cases.assess(ANALYST, fr_id, NATIONAL)
    fr.cases.record_action(ANALYST, fr_id, NewAction(ActionType.LEA_NOTIFIED))
    fr.cases.record_action(ANALYST, fr_id, NewAction(ActionType.HP_NOTIFIED))
    fr.cases.record_action(ANALYST, fr_id, NewAction(ActionType.CONTENT_REMOVED))
    deliver(network)
    origin = nl.cases.get_item(origin_id)
    assert origin.state is ItemState.CLOSED_REMOVED
    assert origin.status_sequence == 7
    assert [a.actor for a in origin.actions][-1] == "fr-hotline"


def test_a_moved_item_that_comes_home_is_taken_back_by_the_origin(network: dict[str, Node]) -> None:
    nl, de = network["nl-hotline"], network["de-hotline"]
    origin_id = refer(network, "https://de.host.example/e")
    deliver(network)
    de_id = item_at(de, origin_id)
    lea_notified_then_moved(de, de_id, "NL")
    deliver(network)
    origin = nl.cases.get_item(origin_id)
    assert origin.assigned_node == "nl-hotline"
    assert origin.state is ItemState.AWAITING_LEA and origin.hosting_country == "NL"


def test_a_withdrawal_stops_work_at_the_recipient(network: dict[str, Node]) -> None:
    nl, de = network["nl-hotline"], network["de-hotline"]
    origin_id = refer(network, "https://de.host.example/f")
    deliver(network)
    de_id = item_at(de, origin_id)
    nl.cases.withdraw_referral(ANALYST, origin_id, "reported in error")
    assert nl.cases.get_item(origin_id).state is ItemState.WITHDRAWN
    deliver(network)
    assert de.cases.get_item(de_id).state is ItemState.WITHDRAWN
    with pytest.raises(DomainError, match="closed"):
        de.cases.assess(ANALYST, de_id, NATIONAL)


def test_only_the_assignee_can_send_status_and_only_the_referrer_can_withdraw(network: dict[str, Node]) -> None:
    nl, de, fr = network["nl-hotline"], network["de-hotline"], network["fr-hotline"]
    origin_id = refer(network, "https://de.host.example/g")
    deliver(network)
    forged = StatusUpdate(
        origin_id, 1, "fr-hotline", nl.clock.now(), ItemState.CLOSED_REMOVED, ActionType.CONTENT_REMOVED
    )
    with nl.store.transaction() as tx, pytest.raises(DomainError, match="not assigned"):
        nl.cases.apply_status_update_txn(tx, "fr-hotline", forged)
    assert nl.cases.get_item(origin_id).state is ItemState.REFERRED
    with de.store.transaction() as tx, pytest.raises(DomainError, match="only its origin withdraws it"):
        de.cases.apply_withdrawal_txn(tx, "fr-hotline", Withdrawal("nl-hotline", origin_id, "x"))
    assert fr is not None


def test_a_withdrawal_that_crosses_a_move_stops_the_item_everywhere(network: dict[str, Node]) -> None:
    nl, de, fr = network["nl-hotline"], network["de-hotline"], network["fr-hotline"]
    origin_id = refer(network, "https://de.host.example/h")
    deliver(network)
    de_id = item_at(de, origin_id)
    lea_notified_then_moved(de, de_id, "FR")
    nl.cases.withdraw_referral(ANALYST, origin_id, "reported in error")  # before the MOVED update arrives
    deliver(network)
    deliver(network)
    assert nl.cases.get_item(origin_id).state is ItemState.WITHDRAWN
    assert de.cases.get_item(de_id).state is ItemState.WITHDRAWN
    with fr.store.transaction(read_only=True) as tx:  # the origin refers a moved item on, and it was withdrawn
        assert tx.find_item_by_origin("nl-hotline", origin_id) is None
