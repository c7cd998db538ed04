"""`hotline-sim` from the command line: list, show, run (a tiny network end to end), refuse to overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from tests.simulator.small_scenarios import Place, tiny_network

# In live mode (the first test): 4,000 times as fast as real time, 9 simulated hours in some 8 s (at 20,000, 1.6 s,
# a heavily loaded machine once got none of the 12 reports in before the run ended), and a minute at the most to
# drain.
LIVE = {"clock_scale": 4000, "drain_timeout_seconds": 60}
TINY = tiny_network(
    "tiny",
    [Place("NL", 1.0, 0.5, 2), Place("DE", None, 0.5, 2)],
    seed=3,
    duration_hours=3,
    drain_hours=6,
    annual_reports=200000,
    max_reports=12,
    **LIVE,
)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """TINY, written to a file."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_scenarios_lists_every_bundled_scenario() -> None:
    result = CliRunner().invoke(app, ["scenarios"])
    assert result.exit_code == 0
    for name in ("demo", "inhope-2021", "inhope-2024", "partition", "revocation", "rogue-member"):
        assert name in result.output


def test_run_drives_a_tiny_network_end_to_end_and_refuses_to_overwrite_it(tmp_path: Path, scenario: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--mode", "live"])
    assert result.exit_code == 0, result.output
    assert "invariant exactly_once" in result.output
    assert "holds" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["nodes"] == 2 and summary["invariants_ok"] is True
    assert summary["reports"] == 12
    again = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out)])
    assert again.exit_code == 2
    assert "holds an earlier run" in again.output


def test_days_sets_the_duration_in_days(tmp_path: Path, scenario: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--days", "0.25"])
    assert result.exit_code == 0, result.output
    assert "6 h of reports" in result.output
    assert "duration_hours = 6.0" in (out / "scenario.resolved.toml").read_text()


def test_hours_and_days_together_are_refused_before_anything_runs(tmp_path: Path, scenario: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--days", "1", "--hours", "5"])
    assert result.exit_code == 2
    assert "--hours and --days both set the duration; give one of them" in result.output
    assert not out.exists()


def test_deterministic_runs_log_the_nodes_at_warning_unless_asked(tmp_path: Path, scenario: Path) -> None:
    quiet, chatty = tmp_path / "quiet", tmp_path / "chatty"
    assert CliRunner().invoke(app, ["run", str(scenario), "--out", str(quiet)]).exit_code == 0
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(chatty), "--log-level", "info"])
    assert result.exit_code == 0, result.output
    levels = {json.loads(line)["level"] for line in (quiet / "nodes.log").read_text().splitlines()}
    assert levels <= {"warning", "error", "critical"}
    events = [json.loads(line)["event"] for line in (chatty / "nodes.log").read_text().splitlines()]
    assert "node.started" in events


def test_an_unknown_log_level_is_refused(tmp_path: Path, scenario: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "run"), "--log-level", "loud"])
    assert result.exit_code == 2
    assert "loud" in result.output
    assert not (tmp_path / "run").exists()
