"""`hotline-sim sweep`: a grid of settings times seeds, each run deterministic in its own directory, summarised
in one table (sweep.csv, sweep.json) whose figures are the runs' own; a process pool gives the same table as
one process; bad options are refused with one line, nothing run."""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.executors import ProcessPool, Serial
from simulator.headlines import HEADLINES, headline_values
from simulator.overrides import apply_overrides, parse_override
from simulator.scenario import Scenario, parse_scenario, to_toml
from simulator.sweep import SWEEP_CSV, SWEEP_JSON, plan_sweep, run_sweep, table_columns
from tests.simulator.result_files import result_files
from tests.simulator.test_cli import TINY

# test_cli's two-country network, smaller: six reports over a 6-hour run, providers answering after an hour.
SETTINGS = (
    "simulation.name=tiny-sweep",
    "simulation.seed=11",
    "simulation.duration_hours=2",
    "simulation.drain_hours=4",
    "simulation.max_reports=6",
    "countries.NL.provider={ median_hours = 1 }",
    "countries.DE.provider={ median_hours = 1 }",
)
AXIS = "countries.DE.provider.median_hours=1,30"
# t(0.975) with 1 degree of freedom (two seeds), from a table.
T_1DF = 12.7062


def _scenario() -> Scenario:
    return apply_overrides(parse_scenario(tomllib.loads(TINY)), [parse_override(s) for s in SETTINGS])


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "serial"
    run_sweep(plan_sweep(_scenario(), [AXIS], seeds=2), out, Serial())
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_table_has_a_row_per_variant_with_the_runs_own_figures_and_t_intervals(serial_sweep: Path) -> None:
    rows = _csv(serial_sweep / SWEEP_CSV)
    assert [r["variant"] for r in rows] == ["v1", "v2"]
    assert [r["countries.DE.provider.median_hours"] for r in rows] == ["1", "30"]
    assert list(rows[0]) == table_columns(["countries.DE.provider.median_hours"])
    assert {"removed_within_72h.ci_low", "removed_within_72h.ci_high"} <= set(rows[0])
    table = json.loads((serial_sweep / SWEEP_JSON).read_text())
    assert table["seeds"] == [11, 12]
    for row, variant in zip(rows, table["variants"], strict=True):
        assert (row["seeds"], row["runs_ok"]) == ("2", "2")
        runs = [serial_sweep / variant["variant"] / f"seed-{seed}" for seed in (11, 12)]
        summaries = [json.loads((run / "summary.json").read_text()) for run in runs]
        assert [s["seed"] for s in summaries] == [11, 12]
        assert all(
            f"median_hours = {row['countries.DE.provider.median_hours']}.0"
            in (run / "scenario.resolved.toml").read_text()
            for run in runs
        )
        # Counts every run has, read from the summary by their keys here.
        for key in ("removed", "illegal_items", "referral_count"):
            values = [float(s[key]) for s in summaries]
            assert float(row[f"{key}.mean"]) == pytest.approx(statistics.fmean(values), abs=1e-6)
            assert row[f"{key}.n"] == "2"
            half = T_1DF * statistics.stdev(values) / math.sqrt(2)
            assert float(row[f"{key}.ci_low"]) == pytest.approx(statistics.fmean(values) - half, abs=1e-3)
            assert float(row[f"{key}.ci_high"]) == pytest.approx(statistics.fmean(values) + half, abs=1e-3)
        # Every headline: the runs that have a value (a short run may have no 72-hour share) and their mean.
        for headline in HEADLINES:
            present = [v for s in summaries if (v := headline_values(s)[headline.name]) is not None]
            recorded = variant["figures"][headline.name]
            assert recorded["n"] == len(present), headline.name
            assert recorded["mean"] == (pytest.approx(statistics.fmean(present), abs=1e-6) if present else None)
            assert (recorded["ci_low"] is None) == (len(present) < 2)


def test_the_variants_differ_where_the_setting_does(serial_sweep: Path) -> None:
    """Providers in DE taking 30 h instead of 1 h (sigma 0): no DE-hosted item is removed in a 6-hour run."""
    table = json.loads((serial_sweep / SWEEP_JSON).read_text())
    removed = [v["figures"]["removed"]["mean"] for v in table["variants"]]
    assert removed[1] < removed[0]


def test_a_process_pool_gives_the_same_table_and_run_files_as_one_process(serial_sweep: Path, tmp_path: Path) -> None:
    pooled = tmp_path / "pooled"
    run_sweep(plan_sweep(_scenario(), [AXIS], seeds=2), pooled, ProcessPool(2))
    for name in (SWEEP_CSV, SWEEP_JSON):
        assert (pooled / name).read_bytes() == (serial_sweep / name).read_bytes()
    for run in ("v1/seed-11", "v2/seed-12"):
        names = ("summary.json", "items.csv")
        assert result_files(pooled / run, names) == result_files(serial_sweep / run, names)


def test_a_new_headline_figure_is_one_line(monkeypatch: pytest.MonkeyPatch, serial_sweep: Path) -> None:
    """HEADLINES is the one list: a key added there (here a nested one) becomes columns of the table."""
    from simulator import headlines, sweep
    from simulator.headlines import Headline, Unit

    extra = (
        *HEADLINES,
        Headline("delivery_latency_max_s", "delivery latency max", Unit.SECONDS, ("delivery_latency_seconds.max",)),
    )
    monkeypatch.setattr(headlines, "HEADLINES", extra)
    monkeypatch.setattr(sweep, "HEADLINES", extra)
    table: dict[str, Any] = sweep._table(
        plan_sweep(_scenario(), [AXIS], seeds=2),
        serial_sweep,
        {f"v{v}/seed-{s}": sweep.RunOutcome(f"v{v}/seed-{s}", ok=True) for v in (1, 2) for s in (11, 12)},
    )
    maxima = [
        json.loads((serial_sweep / "v1" / f"seed-{seed}" / "summary.json").read_text())["delivery_latency_seconds"][
            "max"
        ]
        for seed in (11, 12)
    ]
    figure = table["variants"][0]["figures"]["delivery_latency_max_s"]
    assert figure["n"] == sum(1 for m in maxima if m is not None)
    if figure["n"] == 2:
        assert figure["mean"] == pytest.approx(statistics.fmean(maxima), abs=1e-6)
    assert "delivery_latency_max_s.ci_high" in sweep.table_columns([])


def test_each_run_is_planned_with_its_seed_settings_and_directory(tmp_path: Path) -> None:
    tasks = plan_sweep(_scenario(), [AXIS], seeds=2).tasks(tmp_path)
    assert [t.key for t in tasks] == ["v1/seed-11", "v1/seed-12", "v2/seed-11", "v2/seed-12"]
    assert tasks[3].run_dir == tmp_path / "v2" / "seed-12"
    assert tasks[3].overrides == (("countries.DE.provider.median_hours", "30"), ("simulation.seed", "12"))
    resolved = parse_scenario(tomllib.loads(tasks[3].scenario_toml))
    assert (resolved.simulation.seed, resolved.country("DE").provider.median_hours) == (12, 30.0)


def test_a_failed_run_is_left_out_of_its_variant_and_named(serial_sweep: Path) -> None:
    from simulator import sweep

    outcomes = {f"v{v}/seed-{s}": sweep.RunOutcome(f"v{v}/seed-{s}", ok=True) for v in (1, 2) for s in (11, 12)}
    outcomes["v2/seed-12"] = sweep.RunOutcome("v2/seed-12", ok=False, error="RuntimeError: boom")
    del outcomes["v1/seed-12"]
    table = sweep._table(plan_sweep(_scenario(), [AXIS], seeds=2), serial_sweep, outcomes)
    v1, v2 = table["variants"]
    assert (v1["seeds"], v1["runs_ok"], v2["seeds"], v2["runs_ok"]) == (1, 1, 1, 1)
    assert v1["runs"][1]["error"] == "did not run"
    assert v2["runs"][1]["error"] == "RuntimeError: boom"
    only = json.loads((serial_sweep / "v2/seed-11/summary.json").read_text())
    assert v2["figures"]["removed"] == {"mean": only["removed"], "ci_low": None, "ci_high": None, "n": 1}


def test_a_run_that_cannot_start_is_an_outcome_not_an_exception(tmp_path: Path) -> None:
    from simulator.executors import RunTask, run_task

    outcome = run_task(RunTask("v1/seed-1", "[simulation]\nname = 1\n", tmp_path / "run"))
    assert outcome.ok is False
    assert outcome.error == "ScenarioError: simulation.name: must be a string"


# ---------------------------------------------------------------------------------------------- bad options


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(to_toml(_scenario()))
    return path


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--seeds", "0"], "Invalid value for '--seeds'"),
        (["--workers", "0"], "Invalid value for '--workers'"),
        (["--seeds", "two"], "Invalid value for '--seeds'"),
        (["--workers", "2", "--ray", "local"], "--workers and --ray: choose one"),
        (["--ray", " "], "--ray: give an address"),
        (["--set", "simulation.seed=1,2"], "the seeds come from --seeds N"),
        (["--set", "world.known_share=0.1", "--set", "world.known_share=0.2"], "world.known_share is given twice"),
        (["--set", "world.known_share=0.1,1.5"], "--set world.known_share=1.5: world.known_share: must be between 0"),
        (["--set", "world.nothing=1,2"], "world.nothing: unknown field (expected one of"),
        (["--set", "countries.ZZ.hosting_share=1"], "countries has no 'ZZ' (choices: DE, NL)"),
        (["--set", "world.known_share"], "expected KEY=VALUE"),
    ],
)
def test_a_bad_option_is_refused_with_one_line_and_nothing_runs(
    tiny_file: Path, tmp_path: Path, options: list[str], says: str
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(tiny_file), "--out", str(out), *options])
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())
    assert not out.exists()


def test_ray_missing_is_one_line_naming_the_extra(
    tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(tiny_file), "--out", str(out), "--ray", "local"])
    assert result.exit_code == 2
    assert "--ray needs Ray, which is not installed: pip install 'hotline-exchange[ray]'" in " ".join(
        result.output.split()
    )
    assert not out.exists()


def test_an_earlier_sweep_is_never_overwritten(tiny_file: Path, serial_sweep: Path) -> None:
    before = (serial_sweep / SWEEP_JSON).read_bytes()
    result = CliRunner().invoke(app, ["sweep", str(tiny_file), "--out", str(serial_sweep), "--set", AXIS])
    assert result.exit_code == 2
    assert "holds an earlier sweep; choose another directory" in " ".join(result.output.split())
    assert (serial_sweep / SWEEP_JSON).read_bytes() == before


def test_the_command_prints_progress_and_the_table(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["sweep", str(tiny_file), "--out", str(out), "--set", "world.known_share=0.2", "--seeds", "1"]
    result = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "1 variants x 1 seeds (11..11) = 1 deterministic runs, one after another in this process" in output
    assert "[1/1] v1/seed-11: invariants hold" in output
    assert "removed within 72 h" in output
    assert _csv(out / SWEEP_CSV)[0]["world.known_share"] == "0.2"


def test_ray_gives_the_same_table_and_run_files_as_one_process(serial_sweep: Path, tmp_path: Path) -> None:
    """A local Ray instance (two CPUs): the runs come back from the workers' own directories, but nodes/."""
    pytest.importorskip("ray", reason="Ray is not installed (the optional extra: pip install '.[ray]')")
    from simulator.executors import RayCluster

    on_ray = tmp_path / "ray"
    run_sweep(plan_sweep(_scenario(), [AXIS], seeds=2), on_ray, RayCluster("local", num_cpus=2))
    for name in (SWEEP_CSV, SWEEP_JSON):
        assert (on_ray / name).read_bytes() == (serial_sweep / name).read_bytes()
    for run in ("v1/seed-11", "v2/seed-12"):
        names = ("summary.json", "items.csv", "scenario.resolved.toml")
        assert result_files(on_ray / run, names) == result_files(serial_sweep / run, names)
        assert (on_ray / run / "nodes.log").stat().st_size > 0
        assert not (on_ray / run / "nodes").exists()


class _FakeRay:
    """Ray's init and shutdown as seen by start_ray: each init raises the next error given (None: it starts)."""

    def __init__(self, *errors: Exception | None) -> None:
        self.errors = list(errors)
        self.calls: list[str] = []

    def init(self, **options: Any) -> None:
        self.calls.append(f"init {options['address']}")
        error = self.errors.pop(0)
        if error is not None:
            raise error

    def shutdown(self) -> None:
        self.calls.append("shutdown")


SLOW = Exception("The current node timed out during startup. This could happen because some of the raylet failed")
SLOW_GCS = Exception("Timed out waiting for file /tmp/ray/session_2026-12-07_13-33-04_421715_14190/gcs_server_port_3f")


@pytest.mark.parametrize("slow", [SLOW, SLOW_GCS], ids=["raylet", "gcs server port"])
def test_a_local_ray_whose_start_ran_out_of_time_on_a_busy_machine_is_started_once_more(slow: Exception) -> None:
    from simulator.executors import start_ray

    ray = _FakeRay(slow, None)
    start_ray(ray, "local", 2)
    assert ray.calls == ["init local", "shutdown", "init local"]


def test_ray_that_cannot_start_or_be_reached_is_one_error_naming_the_option() -> None:
    from simulator.executors import ExecutorError, start_ray

    twice = _FakeRay(SLOW, SLOW)  # a second slow start is not retried again
    with pytest.raises(ExecutorError, match="--ray local: cannot reach a Ray cluster \\(The current node timed out"):
        start_ray(twice, "local", 2)
    assert twice.calls == ["init local", "shutdown", "init local"]
    remote = _FakeRay(SLOW)  # a remote cluster is not restarted from here
    with pytest.raises(ExecutorError, match=r"--ray ray://cluster\.invalid:10001: cannot reach"):
        start_ray(remote, "ray://cluster.invalid:10001", None)
    assert remote.calls == ["init ray://cluster.invalid:10001"]
    refused = _FakeRay(ConnectionError("no cluster at that address"))  # other failures are not retried
    with pytest.raises(ExecutorError, match="no cluster at that address"):
        start_ray(refused, "local", 2)
    assert refused.calls == ["init local"]
