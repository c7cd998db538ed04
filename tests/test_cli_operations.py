"""The operator's view of the command line: commands run from any folder, `check-config`, one line and a
documented exit code for each operational error (never a traceback unless --debug), the advertised endpoint,
and `--version` on both commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from node.cli import app
from node.cli._common import CONFIG_ERROR, INTERNAL_ERROR, STORE_UNAVAILABLE, set_debug
from node.store.engine import alembic_config, create_store_engine
from node.store.schema import metadata
from tests.exchange.test_two_nodes import _free_port

runner = CliRunner()


def hotline_node(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in a process of its own (as an operator runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def write_config(path: Path, database_url: str = "sqlite+pysqlite:///var/node.db", extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "{database_url}"\n'
        f'[hosting]\nresolver = "static"\n{extra}'
    )
    return path


def test_commands_run_from_another_folder_use_the_database_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "etc" / "node.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    created = runner.invoke(app, ["create-token", "-c", str(config), "--name", "form", "--role", "intake"])
    assert created.exit_code == 0, created.output
    assert (tmp_path / "etc" / "var" / "node.db").exists()
    assert not (elsewhere / "var").exists()
    monkeypatch.chdir(tmp_path)  # a third folder, with the config named relatively: the same database
    again = runner.invoke(app, ["create-token", "-c", "etc/node.toml", "--name", "form", "--role", "intake"])
    assert again.exit_code == CONFIG_ERROR and "exists already" in again.output
    assert runner.invoke(app, ["verify-audit", "-c", "etc/node.toml"]).exit_code == 0


def test_check_config_prints_the_resolved_settings_with_the_password_masked(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "node.toml",
        "postgresql+psycopg://hotline:s3cret-pw@127.0.0.1:5432/hotline",
        '[exchange]\nlisten = "0.0.0.0:50061"\nadvertise = "nl.hotline.example:50061"\nroster_file = "roster.signed"\n',
    )
    text = runner.invoke(app, ["check-config", str(config)])
    assert text.exit_code == 0, text.output
    assert f"{config}: valid" in text.output
    assert 'database_url = "postgresql+psycopg://hotline:***@127.0.0.1:5432/hotline"' in text.output
    assert f'exchange.roster_file = "{tmp_path}/roster.signed"' in text.output
    as_json = runner.invoke(app, ["check-config", str(config), "--json"])
    assert as_json.exit_code == 0, as_json.output
    settings = json.loads(as_json.stdout)
    assert settings["database_url"] == "postgresql+psycopg://hotline:***@127.0.0.1:5432/hotline"
    assert settings["exchange"]["advertise"] == "nl.hotline.example:50061"
    assert settings["removal_deadline"] == 72 * 3600
    assert "s3cret-pw" not in text.output + as_json.output
    assert f"warning: exchange.roster_file: no file at {tmp_path}/roster.signed" in text.stderr


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ('[exchnage]\nlisten = "127.0.0.1:1"\n', "exchnage: unknown setting"),
        ('[metrics]\nlisten = "0.0.0.0:9464"\n', "metrics.listen"),
    ],
)
def test_check_config_names_the_bad_setting_in_one_line(tmp_path: Path, extra: str, says: str) -> None:
    result = hotline_node("check-config", str(write_config(tmp_path / "node.toml", extra=extra)))
    assert result.returncode == CONFIG_ERROR
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_jurisdiction_iso_does_not_know_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\nid = "gb-hotline"\njurisdiction = "UK"\n')
    result = runner.invoke(app, ["check-config", str(config)])
    assert result.exit_code == CONFIG_ERROR
    assert "node.jurisdiction" in result.output and "did you mean 'GB'?" in result.output


def test_an_unreachable_postgresql_server_is_one_line_and_exit_3(tmp_path: Path) -> None:
    config = write_config(tmp_path / "node.toml", f"postgresql+psycopg://hotline@127.0.0.1:{_free_port()}/hotline")
    result = hotline_node("migrate", "-c", str(config))
    assert result.returncode == STORE_UNAVAILABLE, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("node.database_url: cannot use PostgreSQL at 127.0.0.1:")
    assert "start the server" in lines[0]


def test_a_missing_postgresql_database_names_the_createdb_fix(tmp_path: Path, postgres_server: str) -> None:
    absent = f"hx_absent_{uuid.uuid4().hex[:12]}"
    url = make_url(postgres_server).set(database=absent)
    config = write_config(tmp_path / "node.toml", url.render_as_string(hide_password=False))
    for command in (["migrate"], ["serve"], ["verify-audit"]):
        result = hotline_node(*command, "-c", str(config))
        assert result.returncode == STORE_UNAVAILABLE, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert f"has no database '{absent}'" in result.stderr
        assert f"createdb -h {url.host} -p {url.port or 5432}" in result.stderr and absent in result.stderr


def test_migrate_creates_a_new_database_at_the_newest_revision_with_its_audit_guards(
    tmp_path: Path, database_url: str
) -> None:
    config = write_config(tmp_path / "node.toml", database_url)
    for _ in range(2):  # a new database (created in one step), then one already current
        result = hotline_node("migrate", "-c", str(config))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "schema is current"
    engine = create_store_engine(database_url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
        assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()
    # verify-audit also checks that the audit log's append-only triggers are in place.
    verified = hotline_node("verify-audit", "-c", str(config))
    assert verified.returncode == 0 and "verifies" in verified.stdout, verified.stderr


def test_a_database_file_other_users_can_read_is_refused_at_start(tmp_path: Path) -> None:
    config = write_config(tmp_path / "node.toml")
    assert runner.invoke(app, ["migrate", "-c", str(config)]).exit_code == 0
    database = tmp_path / "var" / "node.db"
    os.chmod(database, 0o644)
    for command in ("serve", "migrate"):
        result = runner.invoke(app, [command, "-c", str(config)])
        assert result.exit_code == CONFIG_ERROR, result.output
        assert "node.database_url" in result.output and f"chmod 600 {database}" in result.output
    os.chmod(database, 0o600)
    assert runner.invoke(app, ["migrate", "-c", str(config)]).exit_code == 0


def test_an_unexpected_error_is_one_line_and_exit_70_and_debug_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("an example bug")

    monkeypatch.setattr("node.cli.check_config.load_config", broken)
    config = str(write_config(tmp_path / "node.toml"))
    with pytest.raises(SystemExit) as exited:
        app(["check-config", config], prog_name="hotline-node")
    assert exited.value.code == INTERNAL_ERROR
    err = capsys.readouterr().err
    assert err.strip() == "internal error: RuntimeError: an example bug (run again with --debug for the traceback)"
    try:
        with pytest.raises(RuntimeError, match="an example bug"):
            app(["--debug", "check-config", config], prog_name="hotline-node")
    finally:
        set_debug(False)


def test_member_entry_publishes_the_advertised_endpoint_and_refuses_a_wildcard_without_one(tmp_path: Path) -> None:
    exchange = '[exchange]\nlisten = "0.0.0.0:50061"\nroster_file = "roster.signed"\nkey_dir = "keys"\n'
    wildcard = write_config(tmp_path / "a" / "node.toml", extra=exchange)
    refused = runner.invoke(app, ["roster", "member-entry", "-c", str(wildcard)])
    assert refused.exit_code == CONFIG_ERROR
    assert "exchange.advertise" in refused.output and "0.0.0.0:50061" in refused.output
    advertised = write_config(tmp_path / "b" / "node.toml", extra=exchange + 'advertise = "nl.hotline.example:50061"\n')
    entry = runner.invoke(app, ["roster", "member-entry", "-c", str(advertised)])
    assert entry.exit_code == 0, entry.output
    assert json.loads(entry.output)["endpoints"] == ["nl.hotline.example:50061"]
    assert (tmp_path / "b" / "keys").is_dir()  # the key folder beside the config


def test_the_simulator_prints_its_version() -> None:
    from importlib.metadata import version

    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"hotline-sim {version('hotline-exchange')}"


def test_a_missing_tls_file_is_named_at_start(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "node.toml",
        f"sqlite+pysqlite:///{tmp_path}/n.db",
    )
    config.write_text(
        config.read_text().replace(
            "[hosting]",
            f'listen = "127.0.0.1:{_free_port()}"\ntls_cert = "tls/api.crt"\ntls_key = "tls/api.key"\n[hosting]',
        )
    )
    result = runner.invoke(app, ["serve", "-c", str(config)])
    assert result.exit_code == CONFIG_ERROR, result.output
    assert f"node.tls_key: cannot read {tmp_path}/tls/api.key" in result.output


def test_a_database_lost_mid_command_is_one_line_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy.exc import OperationalError

    def lost(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr("node.cli.check_config.load_config", lost)
    with pytest.raises(SystemExit) as exited:
        app(["check-config", str(write_config(tmp_path / "node.toml"))], prog_name="hotline-node")
    assert exited.value.code == STORE_UNAVAILABLE
    assert capsys.readouterr().err.strip() == (
        "the database stopped answering (server closed the connection unexpectedly): check node.database_url's server"
    )
