"""Node configuration: a TOML file, then HX_* environment variables. Every bad value is refused with an error
naming its key."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from node.cases.routing import FallbackKind, FallbackPolicy, Member
from node.config import load_config, parse_config
from node.errors import InvalidArgument

GOOD_TOML = """
[node]
id = "nl-hotline"
jurisdiction = "nl"
database_url = "sqlite+pysqlite:///var/from-file.db"
removal_deadline_hours = 48

[membership]
fallback = "refer"
fallback_node = "de-hotline"

[[membership.members]]
node_id = "de-hotline"
jurisdictions = ["DE", "at"]

[[membership.members]]
node_id = "fr-hotline-a"
jurisdictions = ["FR"]
designated_for = ["FR"]

[[membership.members]]
node_id = "fr-hotline-b"
jurisdictions = ["FR"]
"""


def base(**node: Any) -> dict[str, Any]:
    return {"node": {"id": "nl-hotline", "jurisdiction": "NL", **node}}


def with_section(name: str, value: Any, **node: Any) -> dict[str, Any]:
    return {**base(**node), name: value}


def refused_field(raw: dict[str, Any], env: dict[str, str] | None = None) -> str | None:
    with pytest.raises(InvalidArgument) as refused:
        parse_config(raw, env or {})
    return refused.value.field


@pytest.fixture
def toml_file(tmp_path: Path) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(GOOD_TOML)
    return path


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "node.id"),
        ({"node": {"jurisdiction": "NL"}}, "node.id"),
        (base(id=""), "node.id"),
        (base(id="NL-Hotline"), "node.id"),
        (base(id="n"), "node.id"),
        (base(id="x" * 64), "node.id"),
        (base(id=7), "node.id"),
        ({"node": {"id": "nl-hotline"}}, "node.jurisdiction"),
        (base(jurisdiction="NLD"), "node.jurisdiction"),
        (base(jurisdiction="N1"), "node.jurisdiction"),
        (base(removal_deadline_hours=0), "node.removal_deadline_hours"),
        (base(removal_deadline_hours=24 * 365 + 1), "node.removal_deadline_hours"),
        (base(removal_deadline_hours=-72), "node.removal_deadline_hours"),
        (base(removal_deadline_hours="72"), "node.removal_deadline_hours"),
        (base(removal_deadline_hours=True), "node.removal_deadline_hours"),
        (base(deadline_check_seconds=0.01), "node.deadline_check_seconds"),
        (base(retention_days=0), "node.retention_days"),
        (base(retention_check_seconds=0), "node.retention_check_seconds"),
        (base(retention_check_seconds="hourly"), "node.retention_check_seconds"),
        (base(max_urls_per_report=0), "node.max_urls_per_report"),
        (base(max_report_age_days=0), "node.max_report_age_days"),
        (base(stream_heartbeat_seconds=0), "node.stream_heartbeat_seconds"),
        (base(token_cache_seconds=0), "node.token_cache_seconds"),
        (base(token_cache_seconds=3601), "node.token_cache_seconds"),
        (base(token_last_used_seconds=0.5), "node.token_last_used_seconds"),
        (base(token_last_used_seconds="hourly"), "node.token_last_used_seconds"),
        (base(min_client_ping_seconds=-10), "node.min_client_ping_seconds"),
        (base(log_format="yaml"), "node.log_format"),
        (base(tls_cert="cert.pem"), "node.tls_key"),
        (base(known_hash_precedence="official"), "node.known_hash_precedence"),
        (base(known_hash_precedence=["official", ""]), "node.known_hash_precedence"),
        (base(known_hash_precedence=["official", 7]), "node.known_hash_precedence"),
        (base(known_hash_precedence=["official", "learned", "official"]), "node.known_hash_precedence"),
        (base(learn_not_illegal="yes"), "node.learn_not_illegal"),
        (base(known_hash_dispute_limit=0), "node.known_hash_dispute_limit"),
        (base(known_hash_dispute_limit=True), "node.known_hash_dispute_limit"),
        (base(known_hash_dispute_limit="3"), "node.known_hash_dispute_limit"),
        (base(peer_verdicts={"de-hotline": "always"}), "node.peer_verdicts"),
        (base(peer_verdicts=["de-hotline"]), "node.peer_verdicts"),
        (base(publish_verdicts_to="de-hotline"), "node.publish_verdicts_to"),
        (base(publish_verdicts_to=["de-hotline", ""]), "node.publish_verdicts_to"),
        (base(publish_verdicts_to=["DE Hotline"]), "node.publish_verdicts_to"),
        (base(peer_verdicts={"DE Hotline": "hint"}), "node.peer_verdicts"),
        (with_section("hosting", {"resolver": "dns"}), "hosting.resolver"),
        (with_section("hosting", {"resolver": 1}), "hosting.resolver"),
        (with_section("hosting", {"resolver": "mmdb"}), "hosting.mmdb_path"),
        (with_section("hosting", {"resolver": "static", "static": {"host": "x"}}), "hosting.static"),
        (with_section("membership", {"members": ["de-hotline"]}), "membership.members[0]"),
        (with_section("membership", {"members": [{"jurisdictions": ["DE"]}]}), "membership.members[0].node_id"),
        (
            with_section("membership", {"members": [{"node_id": "de-hotline", "jurisdictions": ["Germany"]}]}),
            "membership.members[0].jurisdictions",
        ),
        (
            with_section("membership", {"members": [{"node_id": "de-hotline", "jurisdictions": []}]}),
            "membership.members[0].jurisdictions",
        ),
        (
            with_section("membership", {"members": [{"node_id": "de-hotline", "jurisdictions": "DE"}]}),
            "membership.members[0].jurisdictions",
        ),
        (
            with_section(
                "membership",
                {
                    "members": [
                        {"node_id": "de-hotline", "jurisdictions": ["DE"]},
                        {"node_id": "at-hotline", "jurisdictions": ["AT"], "designated_for": ["Austria"]},
                    ]
                },
            ),
            "membership.members[1].designated_for",
        ),
        (with_section("membership", {"fallback": "drop"}), "membership.fallback"),
        (with_section("membership", {"fallback": "refer"}), "membership.fallback_node"),
        (with_section("membership", {"fallback": "refer", "fallback_node": "us-hotline"}), "membership.fallback"),
        (with_section("exchange", "on"), "exchange"),
        (with_section("exchange", {"roster_file": "roster.bin"}), "exchange.listen"),
        (with_section("exchange", {"listen": "0.0.0.0:7443"}), "exchange.roster_file"),
        (
            with_section("exchange", {"listen": "0.0.0.0:7443", "roster_file": "r", "post_quantum": "yes"}),
            "exchange.post_quantum",
        ),
        (
            with_section("exchange", {"listen": "0.0.0.0:7443", "roster_file": "r", "proxy": "http://proxy"}),
            "exchange.proxy",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(raw: dict[str, Any], field: str) -> None:
    assert refused_field(raw) == field


def test_the_range_error_says_what_is_allowed() -> None:
    with pytest.raises(InvalidArgument, match=r"between 1 and 8760") as refused:
        parse_config(base(removal_deadline_hours=0), {})
    assert str(refused.value).startswith("node.removal_deadline_hours: ")


@pytest.mark.parametrize("hours", [1, 72, 24 * 365, 0.5 + 1])
def test_removal_deadline_hours_within_range(hours: float) -> None:
    assert parse_config(base(removal_deadline_hours=hours), {}).removal_deadline == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"node": "nl-hotline"}, "node"),
        (with_section("hosting", "static"), "hosting"),
        (with_section("membership", ["de-hotline"]), "membership"),
        (with_section("membership", {"members": "de-hotline"}), "membership.members"),
    ],
    ids=["node", "hosting", "membership", "members"],
)
def test_a_section_that_is_not_a_table_is_refused_naming_it(raw: dict[str, Any], field: str) -> None:
    assert refused_field(raw) == field


@pytest.mark.parametrize("node_id", ["DE Hotline!", "de", "d", "x" * 64, "-de-hotline"])
def test_a_member_node_id_must_be_a_valid_node_id(node_id: str) -> None:
    if node_id == "de":  # two characters is a valid node id: the control
        raw = with_section("membership", {"members": [{"node_id": node_id, "jurisdictions": ["DE"]}]})
        assert parse_config(raw, {}).members[0].node_id == "de"
        return
    raw = with_section("membership", {"members": [{"node_id": node_id, "jurisdictions": ["DE"]}]})
    assert refused_field(raw) == "membership.members[0].node_id"


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_urls_per_report", 1.5), ("db_threads", 2.5), ("pdq_threshold", 31.9), ("max_message_bytes", 4096.5)],
)
def test_a_fractional_count_is_refused(key: str, value: float) -> None:
    with pytest.raises(InvalidArgument, match="whole number") as refused:
        parse_config(base(**{key: value}), {})
    assert refused.value.field == f"node.{key}"


def test_a_count_written_as_a_whole_float_is_taken() -> None:
    config = parse_config(base(max_urls_per_report=20.0, db_threads=4), {})
    assert (config.max_urls_per_report, config.db_threads) == (20, 4)
    assert isinstance(config.max_urls_per_report, int)


# ---------------------------------------------------------------------------------------------- files


def test_a_good_file_is_loaded(toml_file: Path) -> None:
    config = load_config(toml_file, env={})
    assert (config.node_id, config.jurisdiction) == ("nl-hotline", "NL")
    assert config.database_url == f"sqlite+pysqlite:///{toml_file.parent}/var/from-file.db"  # beside the file
    assert config.removal_deadline == timedelta(hours=48)
    assert config.fallback == FallbackPolicy(FallbackKind.REFER, "de-hotline")
    assert config.members[0] == Member("de-hotline", frozenset({"DE", "AT"}))
    membership = config.membership()
    assert [membership.receiver_for(c) for c in ("DE", "AT", "FR", "NL", "BR")] == [
        "de-hotline",
        "de-hotline",
        "fr-hotline-a",
        "nl-hotline",  # the node itself is a member for its own jurisdiction
        None,
    ]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(InvalidArgument, match="no config file") as refused:
        load_config(missing, env={})
    assert refused.value.field == "config" and str(missing) in refused.value.message


@pytest.mark.parametrize(
    "text",
    ['[node\nid = "nl-hotline"', 'id = "nl-hotline"\nid = "twice"', "[node]\nid = nl-hotline"],
    ids=["unclosed-table", "duplicate-key", "bare-string"],
)
def test_a_file_that_is_not_toml_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match="not valid TOML") as refused:
        load_config(path, env={})
    assert refused.value.field == "config"


@pytest.mark.parametrize("kind", ["not-utf8", "directory", "no-permission"])
def test_an_unreadable_config_file_is_refused_naming_it(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "node.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "not-utf8":
        path.write_bytes(b'[node]\nid = "nl-hotline"\njurisdiction = "\xff\xfe"\n')
    else:
        path.write_text(GOOD_TOML)
        path.chmod(0)
        if os.access(path, os.R_OK):  # root reads any file: make the read fail as it would for anyone else

            def denied(self: Path) -> bytes:
                raise PermissionError(13, "Permission denied", str(self))

            monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InvalidArgument) as refused:
        load_config(path, env={})
    assert refused.value.field == "config" and str(path) in refused.value.message


def test_a_utf8_config_file_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_bytes(GOOD_TOML.replace("[node]", "# Zoë's node\n[node]").encode("utf-8"))
    assert load_config(path, env={}).node_id == "nl-hotline"


def test_no_file_means_settings_from_the_environment_only() -> None:
    config = load_config(None, env={"HX_NODE_ID": "be-hotline", "HX_JURISDICTION": "be"})
    assert (config.node_id, config.jurisdiction) == ("be-hotline", "BE")
    assert config.effective_database_url() == "sqlite+pysqlite:///var/be-hotline.db"
    assert [m.node_id for m in config.members] == ["be-hotline"]


# ---------------------------------------------------------------------------------------------- environment


def test_environment_variables_override_the_file(toml_file: Path) -> None:
    env = {
        "HX_NODE_ID": "nl-hotline-2",
        "HX_DATABASE_URL": "postgresql+psycopg://hx@192.0.2.5:5432/hx",
        "HX_LISTEN": "127.0.0.1:6000",
        "HX_LOG_FORMAT": "json",
    }
    config = load_config(toml_file, env=env)
    assert config.node_id == "nl-hotline-2"
    assert config.database_url == "postgresql+psycopg://hx@192.0.2.5:5432/hx"
    assert config.effective_database_url() == config.database_url
    assert (config.listen, config.log_format) == ("127.0.0.1:6000", "json")
    assert config.jurisdiction == "NL" and config.removal_deadline == timedelta(hours=48)  # still from the file


def test_load_config_reads_the_process_environment(toml_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HX_NODE_ID", "nl-from-env")
    monkeypatch.setenv("HX_DATABASE_URL", "sqlite+pysqlite:///var/from-env.db")
    config = load_config(toml_file)
    # a relative path from the environment resolves against the config file's folder too
    expected = f"sqlite+pysqlite:///{toml_file.parent}/var/from-env.db"
    assert (config.node_id, config.database_url) == ("nl-from-env", expected)


def test_an_empty_environment_variable_does_not_override(toml_file: Path) -> None:
    config = load_config(toml_file, env={"HX_NODE_ID": "", "HX_DATABASE_URL": ""})
    assert (config.node_id, config.database_url) == (
        "nl-hotline",
        f"sqlite+pysqlite:///{toml_file.parent}/var/from-file.db",
    )


def test_environment_values_are_validated_like_file_values(toml_file: Path) -> None:
    for env, field in (
        ({"HX_NODE_ID": "Not A Node Id"}, "node.id"),
        ({"HX_JURISDICTION": "Netherlands"}, "node.jurisdiction"),
        ({"HX_LOG_FORMAT": "xml"}, "node.log_format"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            load_config(toml_file, env=env)
        assert refused.value.field == field


@pytest.mark.parametrize(
    ("raw", "field", "hint"),
    [
        (base(retention_day=30), "node.retention_day", "did you mean 'retention_days'?"),
        ({**base(), "exchnage": {"listen": "127.0.0.1:7443"}}, "exchnage", "did you mean 'exchange'?"),
        (with_section("hosting", {"resolver": "static", "resolvr": "geoip"}), "hosting.resolvr", "'resolver'"),
        (
            with_section("exchange", {"listen": "127.0.0.1:7443", "roster_file": "r", "max_clock_skew": 60}),
            "exchange.max_clock_skew",
            "did you mean 'max_clock_skew_seconds'?",
        ),
        (
            with_section("membership", {"members": [{"node_id": "de-hotline", "jurisdictions": ["DE"], "desig": []}]}),
            "membership.members[0].desig",
            "unknown setting",
        ),
    ],
    ids=["setting", "section", "hosting", "exchange", "member"],
)
def test_an_unknown_setting_or_section_is_refused_naming_it_and_the_likely_one(
    raw: dict[str, Any], field: str, hint: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_config(raw, {})
    assert refused.value.field == field
    assert hint in str(refused.value)


def test_every_setting_the_examples_and_the_readme_use_is_known() -> None:
    """The control: the shipped example configs parse as they are (they name every section)."""
    examples = sorted((Path(__file__).resolve().parents[1] / "examples").rglob("*.toml"))
    assert examples
    for path in examples:
        if "[node]" in path.read_text():
            load_config(path, {})


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "[::]:50051", "192.0.2.7:50051", "node.example:50051"])
def test_plaintext_integrator_api_on_a_network_address_is_refused(listen: str) -> None:
    with pytest.raises(InvalidArgument, match="bearer tokens in clear") as refused:
        parse_config(base(listen=listen), {})
    assert refused.value.field == "node.listen"


@pytest.mark.parametrize("listen", ["127.0.0.1:50051", "localhost:0", "[::1]:50051", "unix:/run/hx.sock"])
def test_plaintext_integrator_api_on_loopback_is_allowed(listen: str) -> None:
    assert parse_config(base(listen=listen), {}).listen == listen


def test_a_network_address_with_tls_is_allowed() -> None:
    config = parse_config(base(listen="0.0.0.0:50051", tls_cert="cert.pem", tls_key="key.pem"), {})
    assert config.listen == "0.0.0.0:50051"


def test_the_known_hash_policy_is_read_from_the_node_table() -> None:
    config = parse_config(base(known_hash_precedence=["official", "learned"], learn_not_illegal=True), {})
    assert config.known_hashes.precedence == ("official", "learned")
    assert config.known_hashes.learn_not_illegal
    default = parse_config(base(), {}).known_hashes
    assert (default.precedence, default.learn_not_illegal, default.dispute_limit) == ((), False, 3)
    assert parse_config(base(known_hash_dispute_limit=5), {}).known_hashes.dispute_limit == 5
    sharing = parse_config(
        base(peer_verdicts={"fr-hotline": "hint", "de-hotline": "automatic"}, publish_verdicts_to=["de-hotline"]), {}
    ).known_hashes
    assert sharing.peer_verdicts == (("de-hotline", "automatic"), ("fr-hotline", "hint"))
    assert sharing.publish_to == ("de-hotline",)
