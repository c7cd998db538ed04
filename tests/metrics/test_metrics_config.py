"""The [metrics] section: off when absent, loopback unless allow_remote, every bad value refused naming its key;
and what a scrape answers when the store does not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client import generate_latest
from sqlalchemy.exc import OperationalError

from node.clock import ManualClock
from node.config import MetricsConfig, parse_config
from node.errors import InvalidArgument
from node.metrics.endpoint import NodeMetrics
from tests.metrics.scrape import samples, value

NODE = {"id": "nl-hotline", "jurisdiction": "NL"}


def _metrics(section: Any) -> MetricsConfig | None:
    return parse_config({"node": NODE, "metrics": section}, {}).metrics


def test_no_section_no_metrics() -> None:
    assert parse_config({"node": NODE}, {}).metrics is None


def test_a_loopback_address_is_taken() -> None:
    assert _metrics({"listen": "127.0.0.1:9464"}) == MetricsConfig("127.0.0.1:9464")
    assert _metrics({"listen": "[::1]:9464"}) == MetricsConfig("[::1]:9464")


def test_another_machine_may_scrape_only_when_allowed() -> None:
    with pytest.raises(InvalidArgument) as refused:
        _metrics({"listen": "0.0.0.0:9464"})
    assert refused.value.field == "metrics.listen"
    assert "allow_remote" in str(refused.value)
    assert _metrics({"listen": "192.0.2.10:9464", "allow_remote": True}) == MetricsConfig("192.0.2.10:9464", True)


@pytest.mark.parametrize(
    ("section", "field", "says"),
    [
        ({}, "metrics.listen", "is required"),
        ({"listen": 9464}, "metrics.listen", "must be a string"),
        ({"listen": "9464"}, "metrics.listen", "host:port"),
        ({"listen": "127.0.0.1:99999"}, "metrics.listen", "host:port"),
        ({"listen": "127.0.0.1:9464", "allow_remote": "yes"}, "metrics.allow_remote", "true or false"),
        ({"listen": "127.0.0.1:9464", "listn": "x"}, "metrics.listn", "did you mean 'listen'"),
        ("127.0.0.1:9464", "metrics", "must be a table"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(section: Any, field: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _metrics(section)
    assert refused.value.field == field
    assert says in str(refused.value)


class _GoneStore:
    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Any]:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        yield  # pragma: no cover


def test_a_scrape_while_the_store_is_unreachable_says_so_and_still_answers() -> None:
    metrics = NodeMetrics(_GoneStore(), ManualClock())
    got = samples(generate_latest(metrics.registry).decode())
    assert value(got, "hx_store_up") == 0
    assert not [name for name, _ in got if name == "hx_items"]
