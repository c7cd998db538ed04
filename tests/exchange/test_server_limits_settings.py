"""[exchange] settings that bound the exchange server's connections and calls, and roster catch-up: defaults
close a stalled connection within a minute, and every bad value is refused naming its key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from node.app import build_node
from node.clock import ManualClock
from node.config import parse_config
from node.exchange.server_limits import ServerLimits, server_options
from node.hosting import StaticResolver
from tests.conftest import HOSTING
from tests.exchange.test_exchange_settings import _raw
from tests.exchange.test_two_nodes import NODES, _free_port, _roster


def test_by_default_a_stalled_connection_is_closed_within_a_minute() -> None:
    exchange = parse_config(_raw({}), {}).exchange
    assert exchange is not None
    limits = exchange.server_limits
    assert limits == ServerLimits()
    assert limits.bound() < timedelta(minutes=1)
    assert limits.handshake_timeout < timedelta(minutes=1)
    assert limits.keepalive_time + limits.keepalive_timeout < timedelta(minutes=1)
    assert limits.max_connection_idle < timedelta(minutes=1)
    assert limits.deliver_deadline <= limits.max_connection_age_grace
    assert exchange.roster_catch_up_seconds == 10


def test_the_settings_become_grpc_server_options() -> None:
    exchange = parse_config(
        _raw(
            {
                "handshake_timeout_seconds": 5,
                "keepalive_time_seconds": 15,
                "keepalive_timeout_seconds": 4,
                "max_connection_idle_seconds": 25,
                "max_connection_age_seconds": 40,
                "max_connection_age_grace_seconds": 12,
                "deliver_deadline_seconds": 12,
                "max_concurrent_streams": 32,
                "max_calls_per_peer": 4,
                "roster_catch_up_seconds": 60,
            }
        ),
        {},
    ).exchange
    assert exchange is not None
    assert exchange.roster_catch_up_seconds == 60
    assert exchange.server_limits.max_calls_per_peer == 4
    assert exchange.server_limits.deliver_deadline == timedelta(seconds=12)
    options = dict(server_options(exchange.server_limits))
    assert options["grpc.server_handshake_timeout_ms"] == 5_000
    assert options["grpc.keepalive_time_ms"] == 15_000
    assert options["grpc.keepalive_timeout_ms"] == 4_000
    assert options["grpc.max_connection_idle_ms"] == 25_000
    assert options["grpc.max_connection_age_ms"] == 40_000
    assert options["grpc.max_connection_age_grace_ms"] == 12_000
    assert options["grpc.max_concurrent_streams"] == 32
    assert options["grpc.http2.max_pings_without_data"] == 0
    assert options["grpc.http2.min_recv_ping_interval_without_data_ms"] == 10_000


def test_the_configured_limits_reach_the_exchange_server(tmp_path: Path, clock: ManualClock) -> None:
    roster = _roster(tmp_path, {n: _free_port() for n in NODES}, clock)
    raw = _raw(
        {
            "roster_file": str(roster),
            "key_dir": str(tmp_path / "nl-hotline" / "keys"),
            "max_calls_per_peer": 3,
            "roster_catch_up_seconds": 7,
        }
    )
    raw["node"]["database_url"] = f"sqlite+pysqlite:///{tmp_path}/nl.db"
    node = build_node(parse_config(raw, {}), clock=clock, resolver=StaticResolver(HOSTING))
    try:
        assert node.exchange is not None
        assert node.exchange.server_limits.max_calls_per_peer == 3
        assert node.exchange.catch_up.interval == timedelta(seconds=7)
    finally:
        node.executor.shutdown()
        node.engine.dispose()
