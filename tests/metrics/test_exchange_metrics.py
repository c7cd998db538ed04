"""Two nodes federated over mutual TLS on loopback, each with its metrics endpoint: a referral waiting for a
peer that is down shows in the outbox gauges; once the peer is up and has it, the depth is 0 and both sides
counted the delivery. The roster gauges and the exchange server's gRPC metrics come with them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from uuid6 import uuid7

from node.app import Node, build_node
from node.cases.exchange_messages import StatusUpdate
from node.cases.model import ActionType, ItemState, OutboxMessage
from node.clock import ManualClock
from node.config import MetricsConfig
from node.exchange.delivery import DeliveryResult, DeliveryStatus
from node.hosting import StaticResolver
from node.metrics.exchange import DeliveryCounters
from tests.conftest import HOSTING
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, exchange_node_config, refer
from tests.metrics.scrape import Scraped, samples, scrape, scrape_text, value


def _metered(tmp_path: Path, node_id: str, port: int, roster_file: Path, clock: ManualClock) -> Node:
    config = exchange_node_config(tmp_path, node_id, NODES[node_id], port, roster_file)
    return build_node(
        replace(config, metrics=MetricsConfig("127.0.0.1:0")), clock=clock, resolver=StaticResolver(HOSTING)
    )


@pytest.fixture
async def pair(tmp_path: Path, clock: ManualClock) -> AsyncIterator[dict[str, Node]]:
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock)
    built = {node_id: _metered(tmp_path, node_id, ports[node_id], roster_file, clock) for node_id in NODES}
    yield built
    for node in built.values():
        await node.stop(grace=0)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


def _port(node: Node) -> int:
    assert node.metrics is not None
    return node.metrics.port


async def test_a_referral_shows_pending_then_delivered_on_both_sides(pair: dict[str, Node], clock: ManualClock) -> None:
    nl, de = pair["nl-hotline"], pair["de-hotline"]
    await nl.start()  # DE is down: the referral waits
    refer(nl, "https://de.host.example/metrics")

    async def failing() -> bool:
        got = await scrape(_port(nl))
        return (value(got, "hx_exchange_peer_consecutive_failures", peer="de-hotline") or 0) >= 1

    await _until(failing)
    clock.advance(timedelta(seconds=90))
    waiting = await scrape(_port(nl))
    assert value(waiting, "hx_exchange_outbox_pending", peer="de-hotline") == 1
    assert (value(waiting, "hx_exchange_outbox_oldest_pending_age_seconds", peer="de-hotline") or 0) >= 90
    assert value(waiting, "hx_exchange_messages_delivered_total", peer="de-hotline", result="accepted") is None
    assert value(waiting, "hx_roster_version") == 1
    assert (value(waiting, "hx_roster_expiry_seconds") or 0) > 0
    certificate = value(waiting, "hx_tls_certificate_expiry_seconds", endpoint="exchange")
    assert (certificate or 0) > 800 * 86_400  # a new certificate
    assert value(waiting, "hx_items", state="REFERRED") == 1

    await de.start()

    async def delivered() -> bool:
        clock.advance(timedelta(minutes=1))  # past NL's backoff towards DE (while gRPC reconnects, it grows)
        got = await scrape(_port(nl))
        return value(got, "hx_exchange_outbox_pending", peer="de-hotline") == 0

    await _until(delivered)
    sent = await scrape(_port(nl))
    assert value(sent, "hx_exchange_messages_delivered_total", peer="de-hotline", result="accepted") == 1
    assert value(sent, "hx_exchange_peer_consecutive_failures", peer="de-hotline") == 0
    last_success = value(sent, "hx_exchange_peer_last_success_timestamp_seconds", peer="de-hotline")
    assert last_success is not None and 0 <= clock.now().timestamp() - last_success <= 120
    assert value(sent, "hx_exchange_peer_backoff_remaining_seconds", peer="de-hotline") == 0
    received = await scrape(_port(de))
    assert value(received, "hx_exchange_messages_received_total", peer="nl-hotline", result="accepted", reason="") == 1
    assert value(received, "hx_items", state="AWAITING_ASSESSMENT") == 1
    assert value(sent, "hx_exchange_receipts_total", peer="de-hotline", direction="received") == 1
    assert value(received, "hx_exchange_receipts_total", peer="nl-hotline", direction="issued") == 1
    certificate = value(sent, "hx_tls_certificate_expiry_seconds", endpoint="exchange")
    assert certificate is not None and certificate > 86400 * 365  # a fresh certificate, valid for 825 days
    assert value(sent, "hx_tls_certificate_expiry_seconds", endpoint="api") is None  # the API serves plaintext
    assert (value(sent, "hx_store_transaction_seconds_count", mode="write", outcome="commit") or 0) >= 2
    _assert_documented(await asyncio.to_thread(scrape_text, _port(nl)))
    _assert_documented(await asyncio.to_thread(scrape_text, _port(de)))
    deliver = {"grpc_type": "unary", "grpc_service": "hotline.exchange.v1.ExchangeService", "grpc_method": "Deliver"}
    assert (value(received, "grpc_server_handled_total", **deliver, grpc_code="OK") or 0) >= 1


async def test_a_refused_message_is_counted_by_reason_on_both_sides(pair: dict[str, Node], clock: ManualClock) -> None:
    """NL sends DE a status update about an item DE never referred: DE refuses it for good (UNKNOWN_ITEM), and
    both count the reason."""
    nl, de = pair["nl-hotline"], pair["de-hotline"]
    await de.start()
    await nl.start()
    update = StatusUpdate(str(uuid.uuid4()), 1, "nl-hotline", clock.now(), ItemState.NTD_SENT, ActionType.HP_NOTIFIED)
    with nl.store.transaction() as tx:
        tx.enqueue_outbox(
            OutboxMessage(str(uuid7()), "de-hotline", update.kind, "item", json.dumps(update.to_json()), clock.now())
        )
    assert nl.exchange is not None
    nl.exchange.wake()

    def refusals(got: Scraped, name: str) -> dict[str, float]:
        return {dict(labels)["reason"]: v for (n, labels), v in got.items() if n == name and v}

    async def refused() -> bool:
        clock.advance(timedelta(seconds=5))
        return bool(refusals(await scrape(_port(nl)), "hx_exchange_messages_refused_total"))

    await _until(refused)
    sent = refusals(await scrape(_port(nl)), "hx_exchange_messages_refused_total")
    received = {
        reason: v
        for reason, v in refusals(await scrape(_port(de)), "hx_exchange_messages_received_total").items()
        if reason
    }
    assert sent == received == {"UNKNOWN_ITEM": 1}
    refused_total = await scrape(_port(nl))
    assert value(
        refused_total, "hx_exchange_messages_refused_total", peer="de-hotline", reason="UNKNOWN_ITEM", kind="final"
    )


def test_refusals_are_counted_by_reason_and_a_made_up_reason_is_bounded() -> None:
    """A peer's reason code is a claim: one this node does not know is counted as OTHER, not as a new series."""
    registry = CollectorRegistry()
    counters = DeliveryCounters(registry)
    refused = [
        DeliveryResult("m1", DeliveryStatus.REJECTED, "BAD_SIGNATURE", "no"),
        DeliveryResult("m2", DeliveryStatus.REJECTED, "EXPIRED", "late"),
        DeliveryResult("m3", DeliveryStatus.REJECTED, "X" * 200, "made up"),
        DeliveryResult("m4", DeliveryStatus.DUPLICATE),
    ]
    counters.delivered("de-hotline", refused)
    counters.received(None, [DeliveryResult("m5", DeliveryStatus.REJECTED, "MALFORMED")])
    exposition = generate_latest(registry).decode()
    _assert_documented(exposition)
    got = samples(exposition)
    refused_total = "hx_exchange_messages_refused_total"
    assert value(got, refused_total, peer="de-hotline", reason="BAD_SIGNATURE", kind="final") == 1
    assert value(got, refused_total, peer="de-hotline", reason="EXPIRED", kind="transient") == 1
    assert value(got, refused_total, peer="de-hotline", reason="OTHER", kind="final") == 1
    assert value(got, "hx_exchange_messages_delivered_total", peer="de-hotline", result="duplicate") == 1
    assert value(got, "hx_exchange_messages_received_total", peer="unknown", result="rejected", reason="MALFORMED") == 1


README = Path(__file__).resolve().parents[2] / "README.md"


def _assert_documented(exposition: str) -> None:
    """Every metric family served is in the README's table (a counter's family name drops its _total; the
    client library's _created series are described under the table)."""
    table = README.read_text(encoding="utf-8").split("## Metrics", 1)[1]
    names = {f.name for f in text_string_to_metric_families(exposition) if not f.name.endswith("_created")}
    assert names
    assert sorted(n for n in names if f"| `{n}" not in table) == []


async def test_the_roster_listed_signing_key_expiry_is_scraped(tmp_path: Path, clock: ManualClock) -> None:
    ends = clock.now() + timedelta(days=90)
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock, keys_expire=ends)
    nl = _metered(tmp_path, "nl-hotline", ports["nl-hotline"], roster_file, clock)
    try:
        assert nl.exchange is not None and nl.metrics is not None
        (signing,) = nl.exchange.keys.signing
        got = samples(nl.metrics.exposition().decode())
        assert value(got, "hx_key_expiry_seconds", use="signing", key_id=signing.key_id) == 90 * 86400
        assert [name for (name, _), _v in got.items() if name == "hx_key_expiry_seconds"] == ["hx_key_expiry_seconds"]
    finally:
        await nl.stop(grace=0)
