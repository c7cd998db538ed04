"""The config's checks at load: relative paths against the config file's folder, ISO 3166-1 country codes with
a suggestion, database_url (scheme, driver), client certificates for the API, the advertised endpoint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from node.config import load_config, parse_config
from node.errors import InvalidArgument


def refused(raw: dict[str, Any]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as error:
        parse_config(raw, {})
    return error.value


def node(**settings: Any) -> dict[str, Any]:
    return {"node": {"id": "nl-hotline", "jurisdiction": "NL", **settings}}


def exchange(**settings: Any) -> dict[str, Any]:
    return {**node(), "exchange": {"listen": "0.0.0.0:50061", "roster_file": "roster.signed", **settings}}


def test_relative_paths_resolve_against_the_config_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "node.toml"
    path.write_text(
        '[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///data/n.db"\n'
        'tls_cert = "tls/api.crt"\ntls_key = "tls/api.key"\ntls_client_ca = "/etc/ca.pem"\n'
        '[hosting]\nresolver = "mmdb"\nmmdb_path = "geo/country.mmdb"\n'
        '[exchange]\nlisten = "127.0.0.1:50061"\nroster_file = "roster.signed"\n'
    )
    config = load_config(path, env={})
    assert config.database_url == f"sqlite+pysqlite:///{folder}/data/n.db"
    assert (config.tls_cert, config.tls_key) == (f"{folder}/tls/api.crt", f"{folder}/tls/api.key")
    assert config.tls_client_ca == "/etc/ca.pem"  # absolute paths stay as they are
    assert config.hosting.mmdb_path == f"{folder}/geo/country.mmdb"
    assert config.exchange is not None
    assert config.exchange.roster_file == f"{folder}/roster.signed"
    assert config.exchange.key_dir == f"{folder}/var/keys/nl-hotline"  # the default, beside the file too


def test_the_default_database_sits_beside_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text('[node]\nid = "nl-hotline"\njurisdiction = "NL"\n')
    assert load_config(path, env={}).effective_database_url() == f"sqlite+pysqlite:///{tmp_path}/var/nl-hotline.db"


@pytest.mark.parametrize(
    ("raw", "field", "says"),
    [
        (node(jurisdiction="XX"), "node.jurisdiction", "'XX' is not an ISO 3166-1 alpha-2 country code"),
        (node(jurisdiction="UK"), "node.jurisdiction", "did you mean 'GB'?"),
        (node(jurisdiction="EL"), "node.jurisdiction", "did you mean 'GR'?"),
        (node(jurisdiction="NLD"), "node.jurisdiction", "not an ISO 3166-1 alpha-2 country code"),
        (
            {**node(), "membership": {"members": [{"node_id": "de-hotline", "jurisdictions": ["DE", "ZZ"]}]}},
            "membership.members[0].jurisdictions",
            "'ZZ'",
        ),
        (
            {
                **node(),
                "membership": {
                    "members": [{"node_id": "de-hotline", "jurisdictions": ["DE"], "designated_for": ["UK"]}]
                },
            },
            "membership.members[0].designated_for",
            "did you mean 'GB'?",
        ),
        (
            {**node(), "hosting": {"resolver": "static", "static": [{"host": "a.example", "country": "XX"}]}},
            "hosting.static[0].country",
            "'XX'",
        ),
    ],
)
def test_a_country_code_not_assigned_by_iso_3166_is_refused_with_a_suggestion(
    raw: dict[str, Any], field: str, says: str
) -> None:
    error = refused(raw)
    assert error.field == field
    assert says in error.message


def test_an_assigned_code_in_lower_case_is_accepted() -> None:
    assert parse_config(node(jurisdiction="be"), {}).jurisdiction == "BE"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://hotline@127.0.0.1/hotline", "'mysql' is not a database this node runs on"),
        ("not a url", "not a database URL"),
        ("postgresql+nosuchdriver://hotline@127.0.0.1/hotline", "unknown driver"),
        ("sqlite+pysqlite://", "needs a file path"),
        ("sqlite+pysqlite:///:memory:", "needs a file path"),
    ],
)
def test_a_database_url_this_node_cannot_use_is_refused_at_load(url: str, says: str) -> None:
    error = refused(node(database_url=url))
    assert error.field == "node.database_url"
    assert says in error.message


def test_a_missing_postgresql_driver_names_the_setting_and_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails, as without the extra
    error = refused(node(database_url="postgresql+psycopg://hotline@127.0.0.1/hotline"))
    assert error.field == "node.database_url"
    assert "pip install 'hotline-exchange[postgres]'" in error.message
    # the plain scheme means psycopg too
    assert "hotline-exchange[postgres]" in refused(node(database_url="postgresql://h@127.0.0.1/h")).message


def test_client_certificates_need_tls() -> None:
    assert refused(node(tls_client_ca="ca.pem")).field == "node.tls_client_ca"


@pytest.mark.parametrize("advertise", ["0.0.0.0:50061", "[::]:50061", "no-port", ":50061"])
def test_an_advertised_endpoint_must_be_one_a_peer_can_dial(advertise: str) -> None:
    assert refused(exchange(advertise=advertise)).field == "exchange.advertise"


def test_the_endpoint_is_the_advertised_one_else_a_listen_address_that_is_not_a_wildcard() -> None:
    advertised = parse_config(exchange(advertise="nl.hotline.example:50061"), {}).exchange
    wildcard = parse_config(exchange(), {}).exchange
    specific = parse_config(exchange(listen="192.0.2.10:50061"), {}).exchange
    assert advertised is not None and wildcard is not None and specific is not None
    assert (advertised.endpoint(), wildcard.endpoint(), specific.endpoint()) == (
        "nl.hotline.example:50061",
        "",
        "192.0.2.10:50061",
    )
