"""Two nodes built by the composition root, federated over mutual TLS on loopback: a report taken in the
Netherlands is removed in Germany, and the Dutch node sees every status."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.app import SYSTEM, Node, build_node
from node.cases.hash_trust import KnownHashPolicy
from node.cases.model import ActionType, Assessment, Classification, ItemState
from node.cases.ports import PeerOpinions
from node.cases.requests import NewAction, NewReport, NewUrl, RawHash
from node.clock import ManualClock
from node.config import NodeConfig, parse_config
from node.crypto import SigningKeyPair
from node.crypto.keystore import KeyStore
from node.crypto.roster import sign_roster
from node.exchange.ports import PeerBackoff
from node.hashes import ContentHash, HashAlgorithm
from node.hosting import StaticResolver
from tests.conftest import ANALYST, HASHER, HOSTING, INTAKE

NODES = {"nl-hotline": "NL", "de-hotline": "DE"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _roster(
    tmp: Path,
    ports: dict[str, int],
    clock: ManualClock,
    *,
    post_quantum: bool = False,
    authority: list[SigningKeyPair] | None = None,
    expires: datetime = datetime(2030, 1, 1, tzinfo=UTC),
    keys_expire: datetime | None = None,
) -> Path:
    """Version 1 of a roster of NODES, signed by two of `authority` (three new keys by default); with
    `keys_expire`, the members' signing keys are listed with that not_after."""
    authority = authority or [SigningKeyPair.generate() for _ in range(3)]
    roster = roster_pb2.Roster(
        network_id="test-network",
        version=1,
        authority=roster_pb2.AuthorityKeys(
            threshold=2,
            keys=[
                roster_pb2.SigningKey(key_id=k.key_id, algorithm=k.algorithm, public_key=k.public.public_key)  # type: ignore[arg-type]
                for k in authority
            ],
        ),
    )
    roster.expires_at.FromDatetime(expires)
    for node_id, country in NODES.items():
        keys = KeyStore(tmp / node_id / "keys").load_or_create(node_id, clock.now(), post_quantum=post_quantum)
        roster.members.append(
            roster_pb2.Member(
                node_id=node_id,
                jurisdictions=[country],
                status=roster_pb2.MEMBER_STATUS_FULL,
                endpoints=[f"127.0.0.1:{ports[node_id]}"],
                signing_keys=[
                    roster_pb2.SigningKey(
                        key_id=k.key_id,
                        algorithm=k.algorithm,  # type: ignore[arg-type]
                        public_key=k.public.public_key,
                    )
                    for k in keys.signing
                ],
                hpke_keys=[
                    roster_pb2.HpkeKey(key_id=k.key_id, suite=k.suite, public_key=k.public.public_key)  # type: ignore[arg-type]
                    for k in keys.hpke
                ],
                tls_cert_sha256=keys.tls.sha256,
                tls_cert_pem=keys.tls.cert_pem.decode(),
                required_signatures=[k.algorithm for k in keys.signing] if post_quantum else [],  # type: ignore[misc]
            )
        )
    if keys_expire is not None:
        for member in roster.members:
            for key in member.signing_keys:
                key.not_after.FromDatetime(keys_expire)
    path = tmp / "roster.signed"
    path.write_bytes(sign_roster(roster, authority[:2]))
    return path


def build_exchange_node(
    tmp_path: Path, node_id: str, country: str, exchange_port: int, roster_file: Path, clock: ManualClock
) -> Node:
    """A node with an SQLite store under tmp_path/node_id, the exchange on `exchange_port`, and static hosting."""
    config = exchange_node_config(tmp_path, node_id, country, exchange_port, roster_file)
    return build_node(config, clock=clock, resolver=StaticResolver(HOSTING))


def exchange_node_config(
    tmp_path: Path, node_id: str, country: str, exchange_port: int, roster_file: Path
) -> NodeConfig:
    """The config of build_exchange_node's node."""
    raw = {
        "node": {
            "id": node_id,
            "jurisdiction": country,
            "listen": "127.0.0.1:0",
            "database_url": f"sqlite+pysqlite:///{tmp_path / node_id}/node.db",
        },
        "exchange": {
            "listen": f"127.0.0.1:{exchange_port}",
            "roster_file": str(roster_file),
            "key_dir": str(tmp_path / node_id / "keys"),
        },
    }
    return parse_config(raw, {})


def refer(node: Node, url: str) -> str:
    """Report `url` at `node` and assess it NATIONAL (on its database threads): referred abroad. The item id."""
    report = node.executor.submit(node.cases.submit_report, INTAKE, NewReport((NewUrl(url),))).result()
    item_id = report.items[0].item_id
    node.executor.submit(node.cases.assess, ANALYST, item_id, Assessment(Classification.NATIONAL)).result()
    return item_id


@pytest.fixture
async def nodes(tmp_path: Path, clock: ManualClock) -> AsyncIterator[dict[str, Node]]:
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock)
    built = {
        node_id: build_exchange_node(tmp_path, node_id, country, ports[node_id], roster_file, clock)
        for node_id, country in NODES.items()
    }
    for node in built.values():
        await node.start()
    yield built
    for node in built.values():
        await node.stop(grace=0)


async def _until(check: object, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_report_in_one_country_is_removed_in_another_with_every_status_back(nodes: dict[str, Node]) -> None:
    nl, de = nodes["nl-hotline"], nodes["de-hotline"]
    run = nl.executor.submit
    reported = run(nl.cases.submit_report, INTAKE, NewReport((NewUrl("https://de.host.example/evidence"),))).result()
    origin_id = reported.items[0].item_id
    run(nl.cases.assess, ANALYST, origin_id, Assessment(Classification.NATIONAL)).result()

    def referred_item() -> str | None:
        with de.store.transaction(read_only=True) as tx:
            item = tx.find_item_by_origin("nl-hotline", origin_id)
        return item.item_id if item else None

    await _until(referred_item)
    de_id = referred_item()
    assert de_id is not None
    de.executor.submit(de.cases.assess, ANALYST, de_id, Assessment(Classification.NATIONAL)).result()
    for action in (ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED, ActionType.CONTENT_REMOVED):
        de.executor.submit(de.cases.record_action, ANALYST, de_id, NewAction(action)).result()

    await _until(lambda: nl.cases.get_item(origin_id).state is ItemState.CLOSED_REMOVED)
    origin = nl.cases.get_item(origin_id)
    assert origin.status_sequence == 4
    assert [a.type for a in origin.actions] == [
        ActionType.LEA_NOTIFIED,
        ActionType.HP_NOTIFIED,
        ActionType.CONTENT_REMOVED,
    ]
    assert [peer for _, peer, _, _ in nl.cases.receipts(origin_id)] == ["de-hotline"]
    assert nl.store.verify_audit_chain() is None and de.store.verify_audit_chain() is None


async def test_a_call_from_a_peer_resets_the_backoff_towards_it_and_sends_what_waits(
    nodes: dict[str, Node], clock: ManualClock
) -> None:
    """NL backs off from DE after failures (persisted); when DE calls NL, NL forgets the backoff (on its
    database threads, not on the event loop) and delivers what waited for DE at once."""
    nl, de = nodes["nl-hotline"], nodes["de-hotline"]
    with nl.store.transaction() as tx:
        tx.set_peer_backoff(
            "de-hotline", PeerBackoff(5, clock.now() + timedelta(days=1)), error="UNAVAILABLE: earlier failures"
        )
    waiting = nl.executor.submit(
        nl.cases.submit_report, INTAKE, NewReport((NewUrl("https://de.host.example/waited"),))
    ).result()
    waiting_id = waiting.items[0].item_id
    nl.executor.submit(nl.cases.assess, ANALYST, waiting_id, Assessment(Classification.NATIONAL)).result()
    # DE refers an item to NL: its call is what tells NL that DE is up.
    report = de.executor.submit(
        de.cases.submit_report, INTAKE, NewReport((NewUrl("https://nl.host.example/from-de"),))
    ).result()
    de.executor.submit(de.cases.assess, ANALYST, report.items[0].item_id, Assessment(Classification.NATIONAL)).result()

    def backoff() -> int:
        with nl.store.transaction(read_only=True) as tx:
            return tx.peer_backoff("de-hotline")[0]

    def arrived() -> bool:
        with de.store.transaction(read_only=True) as tx:
            return tx.find_item_by_origin("nl-hotline", waiting_id) is not None

    await _until(lambda: backoff() == 0)
    await _until(arrived)  # long before the day of backoff, which the manual clock never reaches


async def test_the_receiving_hotline_disagrees_and_the_origin_sees_its_opinion_on_the_item_and_hashes(
    nodes: dict[str, Node],
) -> None:
    """NL refers an item with a hash its own tool computed; DE re-assesses it NOT_ILLEGAL. DE's signed status
    update is NL's record of DE's opinion: on the item, on the known entry NL's verdict made of the hash, and
    in NL's per-peer count."""
    nl, de = nodes["nl-hotline"], nodes["de-hotline"]
    digest = ContentHash(HashAlgorithm.SHA256, bytes.fromhex("c4" * 32))
    report = NewReport((NewUrl("https://de.host.example/shared", (RawHash("sha256", digest.hex),)),))
    origin_id = nl.executor.submit(nl.cases.submit_report, HASHER, report).result().items[0].item_id
    nl.executor.submit(nl.cases.assess, ANALYST, origin_id, Assessment(Classification.NATIONAL)).result()

    def referred_item() -> str | None:
        with de.store.transaction(read_only=True) as tx:
            item = tx.find_item_by_origin("nl-hotline", origin_id)
        return item.item_id if item else None

    await _until(referred_item)
    de_id = referred_item()
    assert de_id is not None and de.cases.get_item(de_id).hashes == [digest]
    de.executor.submit(de.cases.assess, ANALYST, de_id, Assessment(Classification.NOT_ILLEGAL)).result()

    def opinions() -> list[str]:
        return [e.detail for e in nl.cases.timeline(origin_id) if e.kind == "item.peer_opinion"]

    await _until(opinions)
    [opinion] = opinions()
    assert opinion.startswith("de-hotline disagrees: NOT_ILLEGAL (ours NATIONAL) on the item and its 1 hash(es)")
    assert "(learned: NATIONAL)" in opinion  # the known entry NL's verdict made of the hash
    assert nl.cases.peer_opinions() == [PeerOpinions("de-hotline", agreements=0, disagreements=1)]
    assert de.cases.peer_opinions() == []  # DE referred nothing


@pytest.fixture
async def sharing(tmp_path: Path, clock: ManualClock) -> AsyncIterator[dict[str, Node]]:
    """NL and DE as `nodes` builds them, NL publishing hash verdicts to DE, and DE trusting NL's."""
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock)
    policies = {
        "nl-hotline": KnownHashPolicy(publish_to=("de-hotline",)),
        "de-hotline": KnownHashPolicy(peer_verdicts=(("nl-hotline", "automatic"),)),
    }
    built = {}
    for node_id, country in NODES.items():
        config = exchange_node_config(tmp_path, node_id, country, ports[node_id], roster_file)
        config = dataclasses.replace(config, known_hashes=policies[node_id])
        built[node_id] = build_node(config, clock=clock, resolver=StaticResolver(HOSTING))
    for node in built.values():
        await node.start()
    yield built
    for node in built.values():
        await node.stop(grace=0)


async def test_a_published_hash_verdict_reaches_the_peers_bank_and_its_withdrawal_drops_it(
    sharing: dict[str, Node],
) -> None:
    nl, de = sharing["nl-hotline"], sharing["de-hotline"]
    digest = ContentHash(HashAlgorithm.SHA256, bytes.fromhex("e6" * 32))
    report = NewReport((NewUrl("https://nl.host.example/known", (RawHash("sha256", digest.hex),)),))
    item_id = nl.executor.submit(nl.cases.submit_report, HASHER, report).result().items[0].item_id
    nl.executor.submit(nl.cases.assess, ANALYST, item_id, Assessment(Classification.BASELINE)).result()

    assert nl.executor.submit(nl.cases.publish_hash_verdict, SYSTEM, digest).result() == ["de-hotline"]
    await _until(lambda: de.cases.peer_bank("nl-hotline"))
    [banked] = de.cases.peer_bank("nl-hotline")
    assert (banked.hash, banked.classification) == (digest, Classification.BASELINE)

    nl.executor.submit(nl.cases.withdraw_hash_verdict, SYSTEM, digest).result()
    await _until(lambda: not de.cases.peer_bank("nl-hotline"))
    assert nl.store.verify_audit_chain() is None and de.store.verify_audit_chain() is None
