"""The operator's command line: tokens, hash-list import (all or nothing), audit verification, bad config."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from node.cases.model import Classification
from node.cli import app

runner = CliRunner()


def config(tmp_path: Path) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/n.db"\n'
        '[hosting]\nresolver = "static"\n'
    )
    return path


def test_version_is_printed() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"hotline-node {version('hotline-exchange')}"


def test_create_token_prints_the_secret_once(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["create-token", "-c", str(config(tmp_path)), "--name", "report-form", "--role", "intake"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("hx_")
    again = runner.invoke(
        app, ["create-token", "-c", str(config(tmp_path)), "--name", "report-form", "--role", "intake"]
    )
    assert again.exit_code == 2 and "exists already" in again.output


def test_tokens_create_with_an_expiry_rotate_with_an_overlap_and_list(tmp_path: Path) -> None:
    import json

    path = str(config(tmp_path))
    created = runner.invoke(
        app,
        [
            "tokens",
            "create",
            "-c",
            path,
            "--name",
            "police-1",
            "--role",
            "lea",
            "--group",
            "kripo",
            "--expires-in",
            "30d",
        ],
    )
    assert created.exit_code == 0, created.output
    assert "expires" in created.output
    first = created.output.splitlines()[-1]
    token_id = first.split("_")[1]
    rotated = runner.invoke(app, ["tokens", "rotate", token_id, "-c", path, "--overlap", "1h"])
    assert rotated.exit_code == 0, rotated.output
    second = rotated.output.splitlines()[-1]
    assert second.startswith(f"hx_{token_id}_") and second != first
    listed = runner.invoke(app, ["tokens", "list", "-c", path, "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert (row["token_id"], row["group"], row["roles"]) == (token_id, "kripo", ["lea"])
    assert row["expires_at"] and row["previous_secret_valid_until"] and not row["revoked_at"]
    assert first.split("_", 2)[2] not in listed.output and second.split("_", 2)[2] not in listed.output
    revoked = runner.invoke(app, ["tokens", "revoke", token_id, "-c", path])
    assert revoked.exit_code == 0 and "revoked" in revoked.output


def test_tokens_refuse_a_bad_duration_and_an_unknown_token_in_one_line(tmp_path: Path) -> None:
    path = str(config(tmp_path))
    bad = runner.invoke(
        app, ["create-token", "-c", path, "--name", "form", "--role", "intake", "--expires-in", "thirty days"]
    )
    assert bad.exit_code == 2
    assert "--expires-in must be a number and a unit" in bad.output and "Traceback" not in bad.output
    unknown = runner.invoke(app, ["tokens", "rotate", "0123456789abcdef", "-c", path])
    assert unknown.exit_code == 2 and "no token" in unknown.output and "Traceback" not in unknown.output


def test_import_hashes_is_all_or_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "algorithm,hash,classification\nsha256," + "a1" * 32 + ",BASELINE\nmd5," + "b2" * 16 + ",NATIONAL\n"
    )
    result = runner.invoke(app, ["import-hashes", str(good), "--source", "shared", "-c", str(config(tmp_path))])
    assert result.exit_code == 0 and "imported 2; 0 already known" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("algorithm,hash,classification\nsha256," + "c3" * 32 + ",BASELINE\nsha1,abc,NATIONAL\n")
    result = runner.invoke(app, ["import-hashes", str(bad), "--source", "shared", "-c", str(config(tmp_path))])
    assert result.exit_code == 2 and "line 3" in result.output
    again = runner.invoke(app, ["import-hashes", str(good), "--source", "shared", "-c", str(config(tmp_path))])
    assert "imported 0; 2 already known" in again.output  # the bad file added nothing


def test_confirm_hash_re_confirms_an_entry_and_names_an_unknown_one(tmp_path: Path) -> None:
    listed = tmp_path / "list.csv"
    listed.write_text("algorithm,hash,classification\nsha256," + "a1" * 32 + ",BASELINE\n")
    runner.invoke(app, ["import-hashes", str(listed), "--source", "shared", "-c", str(config(tmp_path))])
    result = runner.invoke(app, ["hashes", "confirm", "1", "--json", "-c", str(config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "known_hash_id": 1,
        "source": "shared",
        "version": "",
        "classification": "BASELINE",
        "disputes": 0,
    }
    missing = runner.invoke(app, ["hashes", "confirm", "99", "-c", str(config(tmp_path))])
    assert missing.exit_code == 2 and "no known hash 99" in missing.output and "Traceback" not in missing.output


def test_publishing_a_hash_verdict_names_the_setting_to_opt_in_and_a_bank_lists_as_json(tmp_path: Path) -> None:
    digest = "a1" * 32
    result = runner.invoke(app, ["hashes", "publish", "sha256", digest, "-c", str(config(tmp_path))])
    assert result.exit_code == 2 and "node.publish_verdicts_to" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["hashes", "withdraw", "sha256", "zz", "-c", str(config(tmp_path))])
    assert result.exit_code == 2 and "value" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["hashes", "bank", "de-hotline", "--json", "-c", str(config(tmp_path))])
    assert result.exit_code == 0 and result.output == ""  # nothing shared yet


def test_an_analysts_verdict_is_published_to_the_peers_opted_in_and_withdrawn(tmp_path: Path) -> None:
    from node.app import build_node
    from node.cases.model import Assessment
    from node.cases.requests import NewReport, NewUrl, RawHash
    from node.config import load_config
    from tests.conftest import ANALYST, HASHER

    path = config(tmp_path)
    path.write_text(path.read_text().replace("[hosting]", 'publish_verdicts_to = ["de-hotline"]\n[hosting]'))
    digest = "c9" * 32
    node = build_node(load_config(path))
    try:
        report = NewReport((NewUrl("https://nl.host.example/p", (RawHash("sha256", digest),)),))
        item_id = node.cases.submit_report(HASHER, report).items[0].item_id
        node.cases.assess(ANALYST, item_id, Assessment(Classification.BASELINE))
    finally:
        node.engine.dispose()
    for verb, said in (("publish", "published to de-hotline"), ("withdraw", "withdrawn from de-hotline")):
        result = runner.invoke(app, ["hashes", verb, "sha256", digest, "-c", str(path)])
        assert result.exit_code == 0 and result.output.strip() == said, result.output
    other = runner.invoke(app, ["hashes", "publish", "sha256", "d0" * 32, "-c", str(path)])
    assert other.exit_code == 2 and "only this node's analysts" in other.output  # no verdict on it here


def test_import_hashes_names_a_missing_file_without_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    result = runner.invoke(app, ["import-hashes", str(missing), "--source", "shared", "-c", str(config(tmp_path))])
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_verify_audit_reports_an_intact_log(tmp_path: Path) -> None:
    runner.invoke(app, ["create-token", "-c", str(config(tmp_path)), "--name", "admin", "--role", "admin"])
    result = runner.invoke(app, ["verify-audit", "-c", str(config(tmp_path))])
    assert result.exit_code == 0 and "verifies" in result.output


def test_a_bad_config_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[node]\nid = "nl-hotline"\njurisdiction = "Netherlands"\n')
    result = runner.invoke(app, ["migrate", "-c", str(path)])
    assert result.exit_code == 2 and "node.jurisdiction" in result.output


def test_a_typo_in_a_setting_is_named_with_the_setting_meant_in_one_line(tmp_path: Path) -> None:
    path = config(tmp_path)
    path.write_text(path.read_text() + "retention_day = 30\n")  # lands in [hosting]: not a hosting setting
    result = runner.invoke(app, ["migrate", "-c", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "config error: hosting.retention_day: unknown setting; known here: mmdb_asn_path, mmdb_path, resolver, static"
    ]


def test_an_authority_builds_a_roster_from_member_entries_that_nodes_then_trust(tmp_path: Path) -> None:
    from node.app import build_node
    from node.config import load_config

    roster = tmp_path / "roster.signed"
    entries = []
    for node_id, country in (("nl-hotline", "NL"), ("de-hotline", "DE")):
        path = tmp_path / f"{node_id}.toml"
        path.write_text(
            f'[node]\nid = "{node_id}"\njurisdiction = "{country}"\n'
            f'database_url = "sqlite+pysqlite:///{tmp_path}/{node_id}.db"\n[hosting]\nresolver = "static"\n'
            f'[exchange]\nlisten = "127.0.0.1:50061"\nroster_file = "{roster}"\nkey_dir = "{tmp_path}/{node_id}-keys"\n'
        )
        result = runner.invoke(app, ["member-entry", "-c", str(path), "--organisation", f"{node_id} (synthetic)"])
        assert result.exit_code == 0, result.output
        entry = tmp_path / f"{node_id}.json"
        entry.write_text(result.output)
        entries.append(entry)
    for name in ("a.pem", "b.pem"):
        assert runner.invoke(app, ["authority-key", str(tmp_path / name)]).exit_code == 0
    assert runner.invoke(app, ["authority-key", str(tmp_path / "a.pem")]).exit_code == 2  # never overwritten
    result = runner.invoke(
        app,
        [
            "roster-sign",
            *map(str, entries),
            "--key",
            str(tmp_path / "a.pem"),
            "--key",
            str(tmp_path / "b.pem"),
            "--version",
            "1",
            "--out",
            str(roster),
        ],
    )
    assert result.exit_code == 0, result.output
    node = build_node(load_config(tmp_path / "nl-hotline.toml", env={}))
    try:
        assert node.exchange is not None
        membership = node.exchange.roster.membership
        assert membership.version == 1 and membership.receiver_for("DE") == "de-hotline"
    finally:
        node.engine.dispose()
    bad = runner.invoke(
        app,
        [
            "roster-sign",
            str(entries[0]),
            "--key",
            str(tmp_path / "a.pem"),
            "--version",
            "2",
            "--threshold",
            "3",
            "--out",
            str(tmp_path / "x.signed"),
        ],
    )
    assert bad.exit_code == 2 and "threshold" in bad.output
