"""What a run writes and prints, end to end on a tiny deterministic network: the summary's denominator is the
plots', the metadata is in summary.json, nodes.log carries simulated time, faults.csv is sorted, progress shows
without a terminal; and what the command line makes of bad input and of a saturated run."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from matplotlib.text import Text
from rich.console import Console
from typer.testing import CliRunner

from simulator import cli
from simulator.cli import time_left
from simulator.plots import PlotContext, _figures, run_view
from simulator.runner import RunResult
from tests.simulator.summaries import make_summary
from tests.simulator.test_deterministic import TINY
from tests.simulator.test_plot_labels import assert_no_overlap, labels_drawn

pytestmark = pytest.mark.timeout(300)

# 8 h of reports and 80 h of drain: every report from 12 minutes after the start and up to 16 h is watched for 72 h.
OPTIONS = ("--warmup-hours", "0.2", "--drain-hours", "80", "--max-reports", "30")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("cli")
    scenario = root / "tiny.toml"
    scenario.write_text(TINY)
    out = root / "run"
    result = CliRunner().invoke(cli.app, ["run", str(scenario), "--out", str(out), *OPTIONS])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_summary_and_the_plots_count_the_same_items(cli_run: tuple[Path, str]) -> None:
    out, _ = cli_run
    summary = json.loads((out / "summary.json").read_text())
    window = summary["window"]
    assert (window["warmup_hours"], window["horizon_hours"], window["cooldown_hours"]) == (0.2, 72.0, 72.0)
    assert window["complete"] is True and window["last_report_hours"] == 16.0
    assert window["excluded_warmup"] > 0 and window["counted"] > 5
    share = summary["removed_within_72h_share"]
    assert (
        share is not None and share == summary["headline"]["removed_within_72h"] == summary["removal"]["within_horizon"]
    )
    view = run_view(out, PlotContext.from_run_dir(out))
    assert len(view.counted) == window["counted"] == summary["removal"]["n"] == summary["headline"]["counted_items"]
    assert window["counted"] + window["excluded_warmup"] + window["excluded_cooldown"] == summary["illegal_items"]
    assert sum(c["illegal"] for c in summary["by_hosting_country"].values()) == window["counted"]
    texts = {name: "\n".join(t.get_text() for t in fig.findobj(Text)) for name, fig in _figures(out)}
    assert f"whole network: n={window['counted']}" in texts["time_to_removal.png"]
    assert f"n={window['counted']}" in texts["removed_within_72h.png"]


def test_the_plots_of_a_real_run_carry_its_metadata_and_no_label_overlaps_another(cli_run: tuple[Path, str]) -> None:
    out, _ = cli_run
    for name, fig in _figures(out):
        labels = labels_drawn(fig)
        assert any("scenario tiny-deterministic, seed 5, deterministic" in text for text, _ in labels), name
        assert any("drain_hours=80.0" in text for text, _ in labels), name
        assert_no_overlap(name, labels)


def test_summary_json_carries_the_run_metadata(cli_run: tuple[Path, str]) -> None:
    out, _ = cli_run
    metadata = json.loads((out / "summary.json").read_text())["metadata"]
    assert (metadata["scenario"], metadata["seed"], metadata["mode"]) == ("tiny-deterministic", 5, "deterministic")
    assert metadata["overrides"] == {"drain_hours": 80.0, "max_reports": 30}
    assert metadata["code"]["package"]
    assert metadata["code"]["git_commit"] is None or len(metadata["code"]["git_commit"]) == 40


def test_the_node_log_carries_simulated_time_and_faults_csv_is_sorted(cli_run: tuple[Path, str]) -> None:
    out, _ = cli_run
    lines = [json.loads(line) for line in (out / "nodes.log").read_text().splitlines()]
    assert lines and all("sim_s" in line for line in lines)
    assert max(line["sim_s"] for line in lines) > 3600  # simulated seconds, not wall time
    with (out / "faults.csv").open() as f:
        rows = list(csv.DictReader(f))
    keys = [(float(r["t_s"]), r["kind"]) for r in rows]
    assert len(keys) == 2 and keys == sorted(keys)


def test_progress_shows_as_lines_when_stdout_is_not_a_terminal(cli_run: tuple[Path, str]) -> None:
    _, output = cli_run
    progress = [line for line in output.splitlines() if line.startswith("progress: ")]
    assert 5 <= len(progress) <= 25, progress
    assert any("running" in line for line in progress) and any("settling" in line for line in progress)
    # Once an hour has been simulated, a line says how long the rest should take at the pace so far.
    assert any(re.search(r"reports, about \d+(\.\d)? (s|min|h) left$", line) for line in progress), progress
    assert not any("left" in line for line in progress if "settling" in line or "checking" in line)
    assert "counted (the denominator)" in output
    assert "removed within 72 h" in output and "95% CI" in output


@pytest.mark.parametrize(
    ("elapsed_s", "done_hours", "left_hours", "says"),
    [
        (10.0, 2.0, 8.0, ", about 40 s left"),
        (60.0, 1.0, 30.0, ", about 30 min left"),
        (30.0, 24.0, 8736.0, ", about 3.0 h left"),  # a day in 30 s: the rest of a year in three hours
        (5.0, 0.5, 100.0, ""),  # under an hour simulated: no pace to go by yet
        (5.0, 10.0, 0.0, ""),  # nothing left
    ],
)
def test_the_time_left_goes_by_the_pace_so_far(
    elapsed_s: float, done_hours: float, left_hours: float, says: str
) -> None:
    assert time_left(elapsed_s, done_hours, left_hours) == says


def test_a_scenario_error_prints_its_brackets(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(TINY.replace('country = "FR"', 'country = "ZZ"'))
    result = CliRunner().invoke(cli.app, ["run", str(scenario), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "'ZZ' is not in [[countries]]" in result.output
    assert not (tmp_path / "run").exists()


def test_a_saturated_run_exits_3_under_strict_only(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli, "_console", Console(file=out, width=200))
    saturated = RunResult(Path("run"), make_summary(saturated=True, drained=False))
    assert cli._exit_code(saturated, strict=False) == 0
    assert cli._exit_code(saturated, strict=True) == 3
    assert "saturated (--strict)" in out.getvalue()
    assert cli._exit_code(RunResult(Path("run"), make_summary()), strict=True) == 0


def test_the_table_escapes_text_and_states_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli, "_console", Console(file=out, width=300))
    cli._print_summary(RunResult(Path("runs/[bold]x"), make_summary(scenario="[red]odd[/red]")))
    printed = out.getvalue()
    assert "[red]odd[/red], seed 3" in printed and "runs/[bold]x" in printed
    assert "1 illegal items reported 0 to 18 h (warm-up 0 h, cool-down 72 h" in printed
    assert "100.0% (95% CI 2.5% to 100.0%; n=1)" in printed
    assert "2.0 h (95% CI 2.0 to not reached" in printed


def test_the_table_says_plainly_when_the_run_is_shorter_than_the_horizon(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli, "_console", Console(file=out, width=300))
    summary = make_summary()
    short = replace(summary, window=replace(summary.window, complete=False, note="the run (54.0 h) is shorter"))
    cli._print_summary(RunResult(Path("run"), short))
    printed = out.getvalue()
    assert "the run (54.0 h) is shorter" in printed
    assert printed.count("not observable: the run is shorter than warm-up + 72 h") == 3  # removal, LEA, NTD


def test_a_negative_warm_up_is_refused_before_anything_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    result = CliRunner().invoke(cli.app, ["run", str(scenario), "--out", str(tmp_path / "run"), "--warmup-hours", "-1"])
    assert result.exit_code == 2
    assert "Invalid value for '--warmup-hours'" in result.output and "greater than or equal to" in result.output
    assert not (tmp_path / "run").exists()


def test_plots_redrawn_beside_an_unreadable_summary_still_draw_without_metadata(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text('{"window": [1, 2], "metadata": "x"')
    assert PlotContext.from_run_dir(tmp_path, "again") == PlotContext(title="again")
    names = [name for name, _ in _figures(tmp_path, "again")]
    assert len(names) == 4
