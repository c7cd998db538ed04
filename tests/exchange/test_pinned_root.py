"""The first roster a node trusts is checked against the network authority's key ids pinned in its config
(exchange.authority_key_ids, exchange.authority_threshold), like a TUF client's pinned root."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner

from node.app import Node, build_node
from node.cli import app
from node.clock import ManualClock
from node.config import parse_config
from node.crypto import SigningKeyPair
from node.crypto.keystore import KeyStore
from node.errors import InvalidArgument
from node.exchange.authority import build_signed_roster, member_entry
from node.hosting import StaticResolver
from tests.conftest import HOSTING

AUTHORITY = [SigningKeyPair.generate() for _ in range(3)]
ATTACKER = [SigningKeyPair.generate() for _ in range(3)]
PINS = [k.key_id for k in AUTHORITY]


def signed_roster(tmp_path: Path, clock: ManualClock, authority: list[SigningKeyPair], signers: int = 2) -> Path:
    keys = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", clock.now())
    signed = build_signed_roster(
        [member_entry("nl-hotline", ["NL"], "127.0.0.1:50061", keys)],
        version=1,
        now=clock.now(),
        valid_for=timedelta(days=90),
        authority_keys=authority[:signers],
        next_authority=authority,
        threshold=2,
    )
    path = tmp_path / "roster.signed"
    path.write_bytes(signed)
    return path


def raw(tmp_path: Path, **exchange: Any) -> dict[str, Any]:
    return {
        "node": {"id": "nl-hotline", "jurisdiction": "NL", "database_url": f"sqlite+pysqlite:///{tmp_path}/n.db"},
        "hosting": {"resolver": "static"},
        "exchange": {
            "listen": "127.0.0.1:0",
            "roster_file": str(tmp_path / "roster.signed"),
            "key_dir": str(tmp_path / "keys"),
            **exchange,
        },
    }


@pytest.fixture
def built() -> Iterator[list[Node]]:
    nodes: list[Node] = []
    yield nodes
    for node in nodes:
        node.executor.shutdown()
        node.engine.dispose()


def start(config: dict[str, Any], clock: ManualClock, built: list[Node]) -> Node:
    node = build_node(parse_config(config, {}), clock=clock, resolver=StaticResolver(HOSTING))
    built.append(node)
    return node


@pytest.mark.parametrize(
    ("exchange", "field", "message"),
    [
        ({"authority_key_ids": "ed25519:0123456789abcdef"}, "exchange.authority_key_ids", "must be a list"),
        ({"authority_key_ids": ["0123456789abcdef"]}, "exchange.authority_key_ids", "must be a list"),
        ({"authority_key_ids": ["ed25519:0123456789ABCDEF"]}, "exchange.authority_key_ids", "must be a list"),
        (
            {"authority_key_ids": ["ed25519:0123456789abcdef", "ed25519:0123456789abcdef"]},
            "exchange.authority_key_ids",
            "lists ed25519:0123456789abcdef more than once",
        ),
        ({"authority_threshold": 1}, "exchange.authority_threshold", "needs exchange.authority_key_ids"),
        (
            {"authority_key_ids": ["ed25519:0123456789abcdef"], "authority_threshold": 2},
            "exchange.authority_threshold",
            "from 1 to the 1 pinned key(s)",
        ),
        (
            {"authority_key_ids": ["ed25519:0123456789abcdef"], "authority_threshold": 0},
            "exchange.authority_threshold",
            "from 1 to the 1 pinned key(s)",
        ),
        (
            {"authority_key_ids": ["ed25519:0123456789abcdef"], "authority_threshold": "1"},
            "exchange.authority_threshold",
            "must be a whole number",
        ),
    ],
)
def test_a_bad_pin_is_refused_naming_its_key(
    tmp_path: Path, exchange: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_config(raw(tmp_path, **exchange), {})
    assert caught.value.field == field and message in str(caught.value)


def test_the_pin_defaults_to_every_pinned_key(tmp_path: Path) -> None:
    exchange = parse_config(raw(tmp_path, authority_key_ids=PINS), {}).exchange
    assert exchange is not None and exchange.authority_key_ids == tuple(PINS) and exchange.authority_threshold == 3
    exchange = parse_config(raw(tmp_path), {}).exchange
    assert exchange is not None and exchange.authority_key_ids == () and exchange.authority_threshold == 0


def test_a_first_roster_signed_by_a_threshold_of_the_pinned_keys_is_trusted(
    tmp_path: Path, clock: ManualClock, built: list[Node]
) -> None:
    signed_roster(tmp_path, clock, AUTHORITY)
    with structlog.testing.capture_logs() as logs:
        node = start(raw(tmp_path, authority_key_ids=PINS, authority_threshold=2), clock, built)
    assert node.exchange is not None and node.exchange.roster.membership.version == 1
    assert not [e for e in logs if e["event"] == "roster.unpinned"]


def test_a_first_roster_from_another_authority_is_refused_naming_the_setting(
    tmp_path: Path, clock: ManualClock, built: list[Node]
) -> None:
    """The attacker's roster lists its own authority, and is well signed by it: only the pin tells."""
    signed_roster(tmp_path, clock, ATTACKER, signers=3)
    with pytest.raises(InvalidArgument) as caught:
        start(raw(tmp_path, authority_key_ids=PINS, authority_threshold=2), clock, built)
    assert caught.value.field == "exchange.authority_key_ids"
    assert str(caught.value) == (
        "exchange.authority_key_ids: the roster is not trusted: NOT_PINNED: version 1 carries 0 valid signature(s) "
        f"by the pinned authority keys ({', '.join(sorted(PINS))} not among its authority keys); it needs 2"
    )


def test_a_first_roster_with_too_few_pinned_signatures_is_refused(
    tmp_path: Path, clock: ManualClock, built: list[Node]
) -> None:
    signed_roster(tmp_path, clock, AUTHORITY, signers=2)  # enough for its own threshold of 2; the pin wants 3
    with pytest.raises(InvalidArgument) as caught:
        start(raw(tmp_path, authority_key_ids=PINS), clock, built)
    assert str(caught.value) == (
        "exchange.authority_key_ids: the roster is not trusted: NOT_PINNED: version 1 carries 2 valid signature(s) "
        "by the pinned authority keys; it needs 3"
    )


def test_without_a_pin_the_first_roster_is_trusted_on_first_use_with_a_warning(
    tmp_path: Path, clock: ManualClock, built: list[Node]
) -> None:
    signed_roster(tmp_path, clock, AUTHORITY)
    with structlog.testing.capture_logs() as logs:
        node = start(raw(tmp_path), clock, built)
    assert node.exchange is not None and node.exchange.roster.membership.version == 1
    warnings = [e for e in logs if e["event"] == "roster.unpinned"]
    assert warnings == [
        {"event": "roster.unpinned", "log_level": "warning", "version": 1, "fix": "set exchange.authority_key_ids"}
    ]


def test_the_pin_guards_only_the_first_roster(tmp_path: Path, clock: ManualClock, built: list[Node]) -> None:
    """A node that already trusts a roster keeps it; later versions are checked against it, as before."""
    signed_roster(tmp_path, clock, AUTHORITY)
    start(raw(tmp_path, authority_key_ids=PINS, authority_threshold=2), clock, built)
    node = start(raw(tmp_path, authority_key_ids=[ATTACKER[0].key_id]), clock, built)
    assert node.exchange is not None and node.exchange.roster.membership.version == 1


def test_serve_refuses_an_unpinned_roster_in_one_line(tmp_path: Path, clock: ManualClock) -> None:
    signed_roster(tmp_path, clock, ATTACKER)
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/n.db"\n'
        f'[hosting]\nresolver = "static"\n[exchange]\nlisten = "127.0.0.1:0"\n'
        f'roster_file = "{tmp_path}/roster.signed"\nkey_dir = "{tmp_path}/keys"\n'
        f'authority_key_ids = ["{PINS[0]}"]\n'
    )
    result = CliRunner().invoke(app, ["serve", "-c", str(config)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "cannot start: exchange.authority_key_ids: the roster is not trusted: NOT_PINNED: version 1 carries 0 valid "
        f"signature(s) by the pinned authority keys ({PINS[0]} not among its authority keys); it needs 1"
    )
