"""The node's own work in its metrics: scheduled job runs by outcome, deadline escalations, store transaction
latency, and the expiry of its certificates and roster-listed keys."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from node.app import Node, build_node
from node.cases.model import ActionType, Assessment, Classification
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.config import MetricsConfig
from node.crypto.tls import make_tls_identity
from node.hosting import StaticResolver
from node.metrics.endpoint import NodeMetrics
from node.metrics.expiry import CertificateExpiry, KeyExpiry
from tests.conftest import ANALYST, HOSTING, INTAKE, node_config
from tests.metrics.scrape import samples, scrape, value
from tests.metrics.test_exchange_metrics import _assert_documented

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_job_runs_escalations_and_transactions_move(sqlite_url: str, clock: ManualClock) -> None:
    config = replace(node_config(sqlite_url, deadline_check_seconds=0.05), metrics=MetricsConfig("127.0.0.1:0"))
    node: Node = build_node(config, clock=clock, resolver=StaticResolver(HOSTING))
    (reported,) = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/m"),))).items
    node.cases.assess(ANALYST, reported.item_id, Assessment(Classification.NATIONAL))
    for action in (ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED):
        node.cases.record_action(ANALYST, reported.item_id, NewAction(action))
    assert node.metrics is not None
    metrics = node.metrics
    await node.start()
    try:
        runs = {"job": "removal-deadlines", "outcome": "ok"}

        def scraped() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
            return samples(metrics.exposition().decode())

        await _until(lambda: (value(scraped(), "hx_scheduler_job_runs_total", **runs) or 0) >= 1)
        assert value(scraped(), "hx_deadline_escalations_total") == 0  # ran, nothing due yet
        clock.advance(timedelta(hours=72))
        await _until(lambda: value(scraped(), "hx_deadline_escalations_total") == 1)
        over_http = await scrape(metrics.port)
        assert (value(over_http, "hx_store_transaction_seconds_count", mode="write", outcome="commit") or 0) >= 4
        assert (value(over_http, "hx_store_transaction_seconds_count", mode="read", outcome="commit") or 0) >= 1
        _assert_documented(metrics.exposition().decode())
    finally:
        await node.stop(grace=0)


def test_a_failed_transaction_is_observed_as_a_rollback(sqlite_url: str, clock: ManualClock) -> None:
    config = replace(node_config(sqlite_url), metrics=MetricsConfig("127.0.0.1:0"))
    node = build_node(config, clock=clock, resolver=StaticResolver(HOSTING))
    assert node.metrics is not None
    with pytest.raises(RuntimeError), node.store.transaction():
        raise RuntimeError("the use case failed")
    got = samples(node.metrics.exposition().decode())
    assert value(got, "hx_store_transaction_seconds_count", mode="write", outcome="rollback") == 1
    node.executor.shutdown()
    node.engine.dispose()


def test_certificate_and_key_expiry_are_seconds_from_now(sqlite_url: str) -> None:
    config = replace(node_config(sqlite_url), metrics=MetricsConfig("127.0.0.1:0"))
    node = build_node(config, clock=ManualClock(T0), resolver=StaticResolver(HOSTING))
    metrics = NodeMetrics(node.store, ManualClock(T0))
    metrics.watch_expiry(
        lambda: [CertificateExpiry("api", T0 + timedelta(days=30))],
        lambda: [KeyExpiry("signing", "ed25519:abc", T0 - timedelta(hours=1))],
    )
    exposition = metrics.exposition().decode()
    got = samples(exposition)
    assert value(got, "hx_tls_certificate_expiry_seconds", endpoint="api") == 30 * 86400
    assert value(got, "hx_key_expiry_seconds", use="signing", key_id="ed25519:abc") == -3600  # expired
    assert {f.name for f in text_string_to_metric_families(exposition)} >= {
        "hx_tls_certificate_expiry_seconds",
        "hx_key_expiry_seconds",
    }
    _assert_documented(exposition)
    node.executor.shutdown()
    node.engine.dispose()


def test_the_integrator_apis_certificate_expiry_is_read_from_its_file(sqlite_url: str, tmp_path: Path) -> None:
    identity = make_tls_identity("nl-hotline", T0, days=60)
    (tmp_path / "api.crt").write_bytes(identity.cert_pem)
    (tmp_path / "api.key").write_bytes(identity.key_pem)
    config = replace(
        node_config(sqlite_url, tls_cert=str(tmp_path / "api.crt"), tls_key=str(tmp_path / "api.key")),
        metrics=MetricsConfig("127.0.0.1:0"),
    )
    node = build_node(config, clock=ManualClock(T0), resolver=StaticResolver(HOSTING))
    try:
        assert node.metrics is not None
        got = samples(node.metrics.exposition().decode())
        assert value(got, "hx_tls_certificate_expiry_seconds", endpoint="api") == 60 * 86400
        (tmp_path / "api.crt").write_bytes(b"not a certificate")  # unreadable now: left out, the scrape works
        got = samples(node.metrics.exposition().decode())
        assert value(got, "hx_tls_certificate_expiry_seconds", endpoint="api") is None
        assert value(got, "hx_store_up") == 1
    finally:
        node.executor.shutdown()
        node.engine.dispose()
