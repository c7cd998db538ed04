"""Bad settings are refused at start-up with an error naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.config import load_config, parse_config
from node.errors import InvalidArgument


def base(**node: Any) -> dict[str, Any]:
    return {"node": {"id": "nl-hotline", "jurisdiction": "NL", **node}}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"node": {"jurisdiction": "NL"}}, "node.id"),
        (base(id="NL Hotline"), "node.id"),
        (base(jurisdiction="Netherlands"), "node.jurisdiction"),
        (base(removal_deadline_hours=0), "node.removal_deadline_hours"),
        (base(pdq_threshold=300), "node.pdq_threshold"),
        (base(log_format="xml"), "node.log_format"),
        ({**base(), "hosting": {"resolver": "magic"}}, "hosting.resolver"),
        ({**base(), "hosting": {"resolver": "mmdb"}}, "hosting.mmdb_path"),
        (
            {**base(), "membership": {"members": [{"node_id": "de-hotline", "jurisdictions": ["Germany"]}]}},
            "membership.members[0].jurisdictions",
        ),
        ({**base(), "membership": {"fallback": "refer"}}, "membership.fallback_node"),
        (
            {
                **base(),
                "membership": {
                    "members": [
                        {"node_id": "fr-a", "jurisdictions": ["FR"]},
                        {"node_id": "fr-b", "jurisdictions": ["FR"]},
                    ]
                },
            },
            "membership.FR.designated_for",
        ),
    ],
)
def test_a_bad_setting_names_its_key(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_config(raw, {})
    assert caught.value.field == field


def test_environment_variables_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text('[node]\nid = "nl-hotline"\njurisdiction = "NL"\n')
    config = load_config(
        path, env={"HX_NODE_ID": "be-hotline", "HX_JURISDICTION": "BE", "HX_DATABASE_URL": "sqlite+pysqlite:///x.db"}
    )
    expected = ("be-hotline", "BE", f"sqlite+pysqlite:///{tmp_path}/x.db")
    assert (config.node_id, config.jurisdiction, config.database_url) == expected


def test_a_missing_or_broken_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no config file"):
        load_config(tmp_path / "missing.toml", env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[node\n")
    with pytest.raises(InvalidArgument, match="not valid TOML"):
        load_config(broken, env={})


@pytest.mark.parametrize(
    ("exchange", "field"),
    [
        ({"roster_file": "roster.signed"}, "exchange.listen"),
        ({"listen": "127.0.0.1:50061"}, "exchange.roster_file"),
        ({"listen": "127.0.0.1:50061", "roster_file": "r", "post_quantum": "yes"}, "exchange.post_quantum"),
    ],
)
def test_a_bad_exchange_setting_names_its_key(exchange: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_config({**base(), "exchange": exchange}, {})
    assert caught.value.field == field


def test_a_federated_node_without_its_roster_or_with_exposed_keys_refuses_to_start(tmp_path: Path) -> None:
    from node.app import build_node

    raw = {
        **base(database_url=f"sqlite+pysqlite:///{tmp_path}/n.db"),
        "exchange": {
            "listen": "127.0.0.1:0",
            "roster_file": str(tmp_path / "missing.signed"),
            "key_dir": str(tmp_path / "keys"),
        },
    }
    with pytest.raises(InvalidArgument) as caught:
        build_node(parse_config(raw, {}))
    assert caught.value.field == "exchange.roster_file" and "cannot read the roster" in str(caught.value)
    (tmp_path / "missing.signed").write_bytes(b"not a roster")
    with pytest.raises(InvalidArgument) as caught:
        build_node(parse_config(raw, {}))
    assert caught.value.field == "exchange.roster_file" and "not trusted" in str(caught.value)
    (tmp_path / "keys" / "signing-ed25519.pem").chmod(0o644)
    with pytest.raises(InvalidArgument) as caught:
        build_node(parse_config(raw, {}))
    assert caught.value.field == "exchange.key_dir" and "chmod 600" in str(caught.value)
