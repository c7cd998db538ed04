"""A mistyped database path: only `migrate` and `serve` make a new node's database. Every other command that reads,
signs or marks the database refuses a path with no database (exit 3, one line naming node.database_url and the
fix) and creates nothing, rather than answering for a new, empty file ("audit log verifies", "no peers yet")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from node.app import DatabaseNotReady, open_store_engine
from node.config import load_config

COMMANDS = [
    ["status"],
    ["peers"],
    ["verify-audit"],
    ["audit", "export-checkpoint"],
    ["restore", "--mark-only"],
    ["reconcile"],
    ["roster", "show", "--trusted"],
    ["notices", "list"],
]


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/tpyo/n.db"\n'
        f'[exchange]\nlisten = "127.0.0.1:9"\nroster_file = "{tmp_path}/roster.signed"\nkey_dir = "{tmp_path}/keys"\n'
    )
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it (its own process: the exit code and the last line are the real ones)."""
    return subprocess.run([sys.executable, "-m", "node.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_command_on_a_path_with_no_database_names_the_setting_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    done = _cli(*command, "-c", str(_config(tmp_path)))
    assert done.returncode == 3, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"node.database_url: there is no database at {tmp_path}/tpyo/n.db: check the path")
    assert "hotline-node migrate" in last and "Traceback" not in done.stderr
    assert not (tmp_path / "tpyo").exists()


def test_migrate_makes_the_database_and_the_commands_then_read_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _cli("migrate", "-c", str(config)).returncode == 0
    assert (tmp_path / "tpyo" / "n.db").is_file()
    done = _cli("verify-audit", "-c", str(config))
    assert done.returncode == 0 and "audit log verifies" in done.stdout


def test_opening_the_store_for_a_command_refuses_a_missing_file_unless_asked_to_create_it(tmp_path: Path) -> None:
    settings = load_config(_config(tmp_path))
    with pytest.raises(DatabaseNotReady, match="there is no database at"):
        open_store_engine(settings)
    assert not (tmp_path / "tpyo").exists()
    open_store_engine(settings, create=True).dispose()
    assert (tmp_path / "tpyo" / "n.db").is_file()
    open_store_engine(settings).dispose()  # there now
