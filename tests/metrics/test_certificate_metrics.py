"""`hx_tls_certificate_expiry_seconds`: for the API's certificate once the node serves it over TLS, and for the
exchange's certificate from the node's keys; it counts down with the clock and goes negative once expired."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from cryptography import x509

from node.app import build_node
from node.clock import ManualClock
from node.config import MetricsConfig
from node.crypto.tls import make_tls_identity
from node.hosting import StaticResolver
from tests.conftest import HOSTING, node_config
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, exchange_node_config
from tests.metrics.scrape import samples, value

EXPIRY = "hx_tls_certificate_expiry_seconds"


async def test_the_api_certificate_counts_down_to_its_expiry(tmp_path: Path, clock: ManualClock) -> None:
    identity = make_tls_identity("localhost", clock.now(), days=30)
    (tmp_path / "api.crt").write_bytes(identity.cert_pem)
    (tmp_path / "api.key").write_bytes(identity.key_pem)
    config = node_config(
        f"sqlite+pysqlite:///{tmp_path}/n.db", tls_cert=str(tmp_path / "api.crt"), tls_key=str(tmp_path / "api.key")
    )
    config = replace(config, metrics=MetricsConfig("127.0.0.1:0"))
    node = build_node(config, clock=clock, resolver=StaticResolver(HOSTING))
    assert node.metrics is not None
    assert value(samples(node.metrics.exposition().decode()), EXPIRY, certificate="api") is None  # not served yet
    await node.start()
    try:
        assert value(samples(node.metrics.exposition().decode()), EXPIRY, certificate="api") == 30 * 86400
        clock.advance(timedelta(days=31))
        assert value(samples(node.metrics.exposition().decode()), EXPIRY, certificate="api") == -86400
    finally:
        await node.stop(grace=0)


def test_the_exchange_certificate_is_the_one_in_the_nodes_keys(tmp_path: Path, clock: ManualClock) -> None:
    node_id = next(iter(NODES))
    port = _free_port()
    roster_file = _roster(tmp_path, {n: _free_port() for n in NODES} | {node_id: port}, clock)
    config = exchange_node_config(tmp_path, node_id, NODES[node_id], port, roster_file)
    node = build_node(
        replace(config, metrics=MetricsConfig("127.0.0.1:0")), clock=clock, resolver=StaticResolver(HOSTING)
    )
    try:
        assert node.metrics is not None and node.exchange is not None
        not_after = x509.load_pem_x509_certificate(node.exchange.keys.tls.cert_pem).not_valid_after_utc
        expected = (not_after - clock.now()).total_seconds()
        assert value(samples(node.metrics.exposition().decode()), EXPIRY, certificate="exchange") == expected
        assert expected > 0
    finally:
        node.executor.shutdown(wait=True)
        node.engine.dispose()
