"""The operator's command line: tokens, hash-list import (all or nothing), audit verification, bad config."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from node.cli import app

runner = CliRunner()


def config(tmp_path: Path) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/n.db"\n'
        '[hosting]\nresolver = "static"\n'
    )
    return path


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


def test_verify_audit_reports_an_intact_log(tmp_path: Path) -> None:
    runner.invoke(app, ["create-token", "-c", str(config(tmp_path)), "--name", "admin", "--role", "admin"])
    result = runner.invoke(app, ["verify-audit", "-c", str(config(tmp_path))])
    assert result.exit_code == 0 and "verifies" in result.output


def test_a_bad_config_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[node]\nid = "nl-hotline"\njurisdiction = "Netherlands"\n')
    result = runner.invoke(app, ["migrate", "-c", str(path)])
    assert result.exit_code == 2 and "node.jurisdiction" in result.output
