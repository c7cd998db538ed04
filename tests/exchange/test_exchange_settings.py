"""[exchange] settings that shape the receiver: the allowed clock skew and the per-peer rate limits, from the
config file through the composition root into the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from node.app import build_node
from node.clock import ManualClock
from node.config import parse_config
from node.errors import InvalidArgument
from node.exchange.delivery import DeliveryStatus
from node.exchange.receiver import ReceiverLimits
from node.hosting import StaticResolver
from tests.conftest import HOSTING
from tests.exchange.federation import Federation
from tests.exchange.test_exchange import _deliver, _envelope
from tests.exchange.test_two_nodes import NODES, _free_port, _roster


def _raw(exchange: dict[str, Any]) -> dict[str, Any]:
    return {
        "node": {"id": "nl-hotline", "jurisdiction": "NL"},
        "exchange": {"listen": "127.0.0.1:0", "roster_file": "roster.signed", **exchange},
    }


def test_the_roster_is_checked_every_30_seconds_and_warned_about_14_days_ahead_unless_set() -> None:
    exchange = parse_config(_raw({}), {}).exchange
    assert exchange is not None
    assert (exchange.roster_check_seconds, exchange.roster_expiry_warning) == (30, timedelta(days=14))
    exchange = parse_config(_raw({"roster_check_seconds": 5, "roster_expiry_warning_days": 30}), {}).exchange
    assert exchange is not None
    assert (exchange.roster_check_seconds, exchange.roster_expiry_warning) == (5, timedelta(days=30))


def test_the_allowed_clock_skew_is_five_minutes_unless_set() -> None:
    exchange = parse_config(_raw({}), {}).exchange
    assert exchange is not None and exchange.max_clock_skew_seconds == 300
    exchange = parse_config(_raw({"max_clock_skew_seconds": 30}), {}).exchange
    assert exchange is not None and exchange.max_clock_skew_seconds == 30


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_clock_skew_seconds", "300", "must be a number"),
        ("max_clock_skew_seconds", True, "must be a number"),
        ("max_clock_skew_seconds", -1, "must be between 0 and 86400"),
        ("max_clock_skew_seconds", 86_401, "must be between 0 and 86400"),
        ("rate_limit_records_per_second", 0, "must be between 1 and"),
        ("rate_limit_bytes_per_second", "lots", "must be a number"),
        ("roster_check_seconds", 0, "must be between 1 and 86400"),
        ("roster_expiry_warning_days", 400, "must be between 0 and 365"),
        ("roster_expiry_warning_days", "soon", "must be a number"),
        # the server's connection and call bounds (tests/exchange/test_server_limits_settings.py)
        ("handshake_timeout_seconds", 0, "must be between 0.1 and 300"),
        ("handshake_timeout_seconds", "10", "must be a number"),
        ("keepalive_time_seconds", 7201, "must be between 0.1 and 7200"),
        ("keepalive_timeout_seconds", True, "must be a number"),
        ("keepalive_timeout_seconds", 301, "must be between 0.1 and 300"),
        ("max_connection_idle_seconds", -1, "must be between 0.1 and 86400"),
        ("max_connection_age_seconds", 0, "must be between 0.1 and 86400"),
        ("max_connection_age_grace_seconds", 3601, "must be between 0.1 and 3600"),
        ("deliver_deadline_seconds", 601, "must be between 0.1 and 600"),
        ("deliver_deadline_seconds", 30, "must not exceed exchange.max_connection_age_grace_seconds"),
        ("max_concurrent_streams", 0, "must be between 1 and 1000"),
        ("max_concurrent_streams", 2.5, "must be a whole number, got 2.5"),
        ("max_calls_per_peer", 1001, "must be between 1 and 1000"),
        ("max_calls_per_peer", "many", "must be a number"),
        ("roster_catch_up_seconds", 0, "must be between 0.1 and 3600"),
        ("roster_catch_up_seconds", [], "must be a number"),
    ],
)
def test_a_bad_exchange_setting_is_refused_naming_it(key: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        parse_config(_raw({key: value}), {})
    assert caught.value.field == f"exchange.{key}"
    assert f"exchange.{key}" in str(caught.value)


def test_the_configured_skew_reaches_the_receiver(tmp_path: Path, clock: ManualClock) -> None:
    roster = _roster(tmp_path, {n: _free_port() for n in NODES}, clock)
    raw = {
        "node": {
            "id": "nl-hotline",
            "jurisdiction": "NL",
            "database_url": f"sqlite+pysqlite:///{tmp_path}/nl.db",
        },
        "exchange": {
            "listen": "127.0.0.1:0",
            "roster_file": str(roster),
            "key_dir": str(tmp_path / "nl-hotline" / "keys"),
            "max_clock_skew_seconds": 42,
        },
    }
    node = build_node(parse_config(raw, {}), clock=clock, resolver=StaticResolver(HOSTING))
    try:
        assert node.exchange is not None
        assert node.exchange.receiver.limits.max_clock_skew == timedelta(seconds=42)
    finally:
        node.executor.shutdown()
        node.engine.dispose()


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def test_a_message_dated_ahead_is_refused_only_beyond_the_configured_skew(fed: Federation) -> None:
    receiver = fed.members["de-hotline"].receiver
    assert receiver is not None
    ahead = timedelta(seconds=60)
    receiver.limits = ReceiverLimits(max_clock_skew=timedelta(seconds=30))
    assert _deliver(fed, _envelope(fed, created=ahead)) == (DeliveryStatus.REJECTED, "FROM_THE_FUTURE")
    receiver.limits = ReceiverLimits(max_clock_skew=timedelta(seconds=90))
    # Within the skew it is opened and applied: a withdrawal of an item not referred (yet), held until it is.
    assert _deliver(fed, _envelope(fed, created=ahead)) == (DeliveryStatus.ACCEPTED, "")
