"""The rogue member against two real nodes built by the composition root, over mutual TLS on loopback: every
forged, impersonating, misaddressed, malformed, expired or future-dated message is rejected and changes
nothing; the replayed referral is applied once and its replay comes back DUPLICATE."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from node.app import Node
from node.cases.model import ItemState
from node.cases.ports import ItemQuery
from node.clock import ManualClock
from node.crypto import SigningKeyPair
from node.crypto.keystore import KeyStore
from node.exchange.authority import build_signed_roster, member_entry
from node.exchange.delivery import DeliveryStatus
from simulator.rogue import (
    ACCEPTED,
    ATTACK_KINDS,
    DUPLICATE,
    LEGITIMATE,
    MEMBERSHIP_REFUSED,
    NOT_SENT,
    REFUSED,
    REJECTED,
    VARIANTS,
    AttackRecord,
    RogueMember,
    expected_outcome,
    load_membership,
    violations,
)
from tests.exchange.test_two_nodes import build_exchange_node

VICTIMS = {"nl-hotline": "NL", "de-hotline": "DE"}
ROGUE = "lu-rogue"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Network:
    nodes: dict[str, Node]
    rogue: RogueMember
    entries: list[dict[str, Any]]
    authority: list[SigningKeyPair]
    signed: bytes
    rogue_dir: Path


@pytest.fixture
async def network(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Network]:
    members = {**VICTIMS, ROGUE: "LU"}
    ports = {node_id: _free_port() for node_id in members}  # nothing listens on the rogue's port
    entries = [
        member_entry(
            node_id,
            [country],
            f"127.0.0.1:{ports[node_id]}",
            KeyStore(tmp_path / node_id / "keys").load_or_create(node_id, clock.now()),
        )
        for node_id, country in members.items()
    ]
    authority = [SigningKeyPair.generate() for _ in range(3)]
    signed = build_signed_roster(
        entries,
        version=1,
        now=clock.now(),
        valid_for=timedelta(days=365),
        authority_keys=authority[:2],
        next_authority=authority,
        threshold=2,
    )
    roster_file = tmp_path / "roster.signed"
    roster_file.write_bytes(signed)
    nodes: dict[str, Node] = {
        node_id: build_exchange_node(tmp_path, node_id, country, ports[node_id], roster_file, clock)
        for node_id, country in VICTIMS.items()
    }
    for node in nodes.values():
        await node.start()
    membership = load_membership(roster_file.read_bytes(), clock.now())
    rogue = RogueMember.from_key_dir(
        ROGUE,
        tmp_path / ROGUE / "keys",
        lambda: membership,
        clock,
        stolen_key_dirs={"nl-hotline": tmp_path / "nl-hotline" / "keys"},
        timeout=5,
    )
    try:
        yield Network(nodes, rogue, entries, authority, signed, tmp_path / ROGUE / "keys")
    finally:
        await rogue.close()
        for node in nodes.values():
            await node.stop(grace=0)


def _applied_nothing(node: Node, record: AttackRecord) -> None:
    """The victim holds no item from the message, and no accepted inbox entry for it."""
    with node.store.transaction(read_only=True) as tx:
        if record.origin_item_id:
            assert tx.find_item_by_origin(record.origin_node, record.origin_item_id) is None, record
        if record.message_id:
            key = (record.claimed_sender, record.message_id)
            inbox = tx.get_inbox_many([key]).get(key)
            assert inbox is None or inbox.status == DeliveryStatus.REJECTED, record


def _items_from(node: Node, origin: str) -> list[str]:
    with node.store.transaction(read_only=True) as tx:
        items = tx.list_items(ItemQuery(after_item_id="", limit=1000))
    return [item.item_id for item in items if item.origin_node == origin]


def _received_events(node: Node, item_id: str) -> int:
    with node.store.transaction(read_only=True) as tx:
        events = tx.list_events(after_seq=0, limit=1000, item_id=item_id)
    return sum(1 for event in events if event.kind == "referral.received")


def _check_replay(node: Node, original: AttackRecord) -> None:
    """The replayed referral was applied exactly once, then withdrawn; nothing is owed to the rogue."""
    with node.store.transaction(read_only=True) as tx:
        item = tx.find_item_by_origin(ROGUE, original.origin_item_id)
        pending_peers = tx.peers_with_pending()
        inbox = tx.get_inbox_many([(ROGUE, original.message_id)]).get((ROGUE, original.message_id))
    assert item is not None
    assert item.url.startswith("https://rogue.invalid/")
    assert item.state is ItemState.WITHDRAWN
    assert _received_events(node, item.item_id) == 1
    assert inbox is not None and inbox.status == DeliveryStatus.ACCEPTED
    assert ROGUE not in pending_peers


async def test_every_attack_of_a_campaign_is_rejected_and_the_replay_is_applied_once(network: Network) -> None:
    targets = list(VICTIMS)
    records = await network.rogue.run_campaign(targets, ATTACK_KINDS, random.Random(2026))

    assert violations(records) == []
    for target in targets:
        mine = [r for r in records if r.target == target]
        # the replay gives three records (original, replay, withdrawal), every other kind one
        assert [r.kind for r in mine] == [
            "forged",
            "impersonating",
            LEGITIMATE,
            "replayed",
            LEGITIMATE,
            "misaddressed",
            "malformed",
            "expired",
            "future_dated",
        ]
        for record in mine:
            if record.kind == LEGITIMATE:
                assert record.status == ACCEPTED, record
            elif record.kind == "replayed":
                assert record.status == DUPLICATE, record
            elif record.detail.startswith("garbage_request"):
                assert record.status in REFUSED, record
            else:
                assert record.status == REJECTED and record.reason_code, record
        node = network.nodes[target]
        for record in mine:
            if record.kind not in (LEGITIMATE, "replayed"):
                _applied_nothing(node, record)
        assert len(_items_from(node, ROGUE)) == 1
        assert _items_from(node, "nl-hotline" if target == "de-hotline" else "de-hotline") == []
        _check_replay(node, mine[2])


EXPECTED_REASONS = {
    ("forged", "bad_signature"): "BAD_SIGNATURE",
    ("forged", "unlisted_key"): "UNKNOWN_KEY",
    ("impersonating", "own_key"): "UNKNOWN_KEY",
    ("impersonating", "stolen_key"): "PEER_MISMATCH",
    ("misaddressed", "sealed_to_other"): "WRONG_RECIPIENT",
    ("malformed", "truncated"): "MALFORMED",
    ("malformed", "garbage_ciphertext"): "DECRYPTION_FAILED",
    ("malformed", "bad_body"): "INVALIDARGUMENT",
    ("expired", "expired"): "EXPIRED",
    ("future_dated", "future_dated"): "FROM_THE_FUTURE",
}


async def test_each_variant_is_refused_for_its_own_reason(network: Network) -> None:
    rng = random.Random(7)
    victim = network.nodes["de-hotline"]
    for kind, variants in VARIANTS.items():
        if kind == "replayed":
            continue
        for variant in variants:
            [record] = await network.rogue.attack(kind, "de-hotline", rng, variant)
            assert record.kind == kind
            if variant == "garbage_request":
                assert record.status in REFUSED and record.message_id == ""
            elif variant == "random_bytes":
                assert record.status == REJECTED
            else:
                assert (record.status, record.reason_code) == (REJECTED, EXPECTED_REASONS[kind, variant]), record
            _applied_nothing(victim, record)
    # the misaddressed envelope was for the other victim, which never saw it; the impersonation stolen
    # nl-hotline's keys: neither node holds anything
    assert _items_from(victim, "nl-hotline") == [] and _items_from(victim, ROGUE) == []
    assert _items_from(network.nodes["nl-hotline"], ROGUE) == []


async def test_a_replay_is_duplicate_however_often_it_is_sent(network: Network) -> None:
    records = await network.rogue.attack("replayed", "nl-hotline", random.Random(3))
    assert [(r.kind, r.status) for r in records] == [
        (LEGITIMATE, ACCEPTED),
        ("replayed", DUPLICATE),
        (LEGITIMATE, ACCEPTED),
    ]
    assert records[0].message_id == records[1].message_id
    _check_replay(network.nodes["nl-hotline"], records[0])


def test_expected_outcomes() -> None:
    assert expected_outcome("replayed") == {DUPLICATE, NOT_SENT} | REFUSED
    assert expected_outcome(LEGITIMATE) == {ACCEPTED, DUPLICATE} | REFUSED
    for kind in ATTACK_KINDS:
        if kind != "replayed":
            assert expected_outcome(kind) == {REJECTED} | REFUSED
            assert ACCEPTED not in expected_outcome(kind) and DUPLICATE not in expected_outcome(kind)
    assert "UNAVAILABLE" in REFUSED and "OK" not in REFUSED
    with pytest.raises(ValueError, match="unknown attack kind"):
        expected_outcome("polite")
    accepted_forgery = AttackRecord("forged", "de-hotline", "id", ACCEPTED)
    assert violations([accepted_forgery, AttackRecord("replayed", "de-hotline", "id", DUPLICATE)]) == [accepted_forgery]
    assert violations([AttackRecord("replayed", "de-hotline", "id", ACCEPTED)])  # applied twice


async def test_a_revoked_rogue_is_refused_before_it_can_say_anything(network: Network, clock: ManualClock) -> None:
    entries = [dict(e, status="revoked") if e["node_id"] == ROGUE else e for e in network.entries]
    v2 = build_signed_roster(
        entries,
        version=2,
        now=clock.now(),
        valid_for=timedelta(days=365),
        authority_keys=network.authority[:2],
        next_authority=network.authority,
        threshold=2,
    )
    for node in network.nodes.values():
        assert node.exchange is not None
        node.exchange.accept_roster([v2])
    membership = load_membership([network.signed, v2], clock.now())
    assert membership.version == 2 and not membership.is_active(ROGUE)
    keys = KeyStore(network.rogue_dir).load_or_create(ROGUE, clock.now())
    async with RogueMember(ROGUE, keys, lambda: membership, clock, timeout=5) as rogue:
        records = await rogue.run_campaign(list(VICTIMS), ATTACK_KINDS, random.Random(5))
    assert violations(records) == []
    # a signed refusal of the member itself, before anything it sent is opened
    assert {r.status for r in records if r.kind != "replayed"} <= {MEMBERSHIP_REFUSED}
    assert {r.status for r in records if r.kind == "replayed"} == {NOT_SENT}
    for target, node in network.nodes.items():
        assert _items_from(node, ROGUE) == []
        for record in records:
            if record.target == target:
                _applied_nothing(node, record)
