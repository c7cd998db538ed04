"""What `hotline-sim sweep` and `hotline-sim compare` do, for the CLI: check the options, pick where the runs
execute, run, print progress lines and the tables. Each returns the exit status: 0 when every run finished
and kept its invariants, 1 when one did not, 2 for a bad option (one line naming it, nothing run)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from simulator.compare import CompareError, compare, load_groups, write_comparison
from simulator.executors import Executor, ExecutorError, ProcessPool, RayCluster, RunOutcome, Serial
from simulator.experiment_tables import comparison_table, sweep_table
from simulator.overrides import OverrideError
from simulator.scenario import Scenario
from simulator.sweep import SWEEP_CSV, SWEEP_JSON, SweepError, plan_sweep, run_sweep

__all__ = ["execute_compare", "execute_sweep"]


def execute_sweep(
    console: Console,
    scenario: Scenario,
    axes: list[str],
    seeds: int,
    out: Path | None,
    workers: int | None,
    ray: str | None,
) -> int:
    try:
        plan = plan_sweep(scenario, axes, seeds)
        executor = _executor(workers, ray)
    except (SweepError, OverrideError, ExecutorError, ValueError) as error:
        return _refuse(console, str(error))
    directory = out or Path("runs") / f"{scenario.simulation.name}-sweep-{_stamp()}"
    runs = len(plan.variants) * len(plan.seeds)
    console.print(
        escape(
            f"{plan.scenario}: {len(plan.variants)} variants x {len(plan.seeds)} seeds "
            f"({plan.seeds[0]}..{plan.seeds[-1]}) = {runs} deterministic runs, {_where(executor)}"
        )
    )

    def progress(outcome: RunOutcome, done: int, total: int) -> None:
        status = "invariants hold" if outcome.ok else (outcome.error or "an invariant was VIOLATED")
        console.print(escape(f"[{done}/{total}] {outcome.key}: {status}"), highlight=False)

    try:
        table = run_sweep(plan, directory, executor, on_run=progress)
    except (SweepError, ExecutorError) as error:
        return _refuse(console, str(error))
    console.print(sweep_table(table))
    console.print(escape(f"sweep directory: {directory} ({SWEEP_CSV}, {SWEEP_JSON}, one directory per run)"))
    finished = all(v["seeds"] == len(plan.seeds) and v["runs_ok"] == v["seeds"] for v in table["variants"])
    return 0 if finished else 1


def execute_compare(console: Console, paths: list[Path], out: Path | None) -> int:
    try:
        groups = load_groups(paths)
        comparisons = compare(groups)
    except CompareError as error:
        return _refuse(console, str(error))
    from simulator.compare_plots import draw_compare_plots  # matplotlib only once the inputs are good

    directory = out or Path("runs") / f"compare-{_stamp()}"
    for comparison in comparisons:
        console.print(comparison_table(comparison.baseline.label, comparison.other.label, comparison.rows))
    written = [write_comparison(directory, comparisons), *draw_compare_plots(directory, groups)]
    console.print(escape(f"written: {', '.join(str(p) for p in written)}"))
    return 0


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _executor(workers: int | None, ray: str | None) -> Executor:
    if ray is not None:
        if workers is not None:
            raise SweepError("--workers and --ray: choose one (on Ray, the cluster's CPUs decide how many run at once)")
        if not ray.strip():
            raise SweepError("--ray: give an address: local, auto, or ray://HOST:PORT")
        return RayCluster(ray)
    count = workers if workers is not None else (os.cpu_count() or 1)
    return Serial() if count == 1 else ProcessPool(count)


def _where(executor: Executor) -> str:
    if isinstance(executor, RayCluster):
        return f"on Ray ({executor.address})"
    if isinstance(executor, ProcessPool):
        return f"{executor.workers} worker processes"
    return "one after another in this process"


def _refuse(console: Console, message: str) -> int:
    console.print(f"[red]hotline-sim: {escape(message)}[/red]")
    return 2
