"""What `hotline-sim calibrate` does, for the CLI: run the calibration scenario for N seeds (deterministic mode,
each run in its own directory), read the published figures from every run (`calibration`), print simulated
against published side by side with the spread across seeds and a verdict per figure, and write
calibration.json and calibration.csv. Returns the exit status: 0 when every run finished with its invariants
holding (whatever the verdicts), 1 when one did not, 2 for a bad option (one line naming it, nothing run)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.calibration import TOLERANCE, FigureResult, calibrate_runs, measure_run, write_calibration
from simulator.executors import Executor, ProcessPool, RunTask, Serial
from simulator.headlines import SummaryError, Unit
from simulator.scenario import Scenario, to_toml

__all__ = ["calibration_table", "execute_calibration"]


def execute_calibration(console: Console, scenario: Scenario, seeds: int, out: Path | None, workers: int | None) -> int:
    if seeds < 1:
        return _refuse(console, f"--seeds must be at least 1, got {seeds}")
    if workers is not None and workers < 1:
        return _refuse(console, f"--workers must be at least 1, got {workers}")
    directory = out or Path("runs") / f"{scenario.simulation.name}-calibration-{_stamp()}"
    if (directory / "calibration.json").exists():
        return _refuse(console, f"{directory} holds an earlier calibration; choose another --out")
    first = scenario.simulation.seed
    seed_list = list(range(first, first + seeds))
    tasks = [
        RunTask(
            key=f"seed-{seed}",
            scenario_toml=to_toml(replace(scenario, simulation=replace(scenario.simulation, seed=seed))),
            run_dir=directory / f"seed-{seed}",
            overrides=(("simulation.seed", str(seed)),),
        )
        for seed in seed_list
    ]
    count = workers if workers is not None else min(seeds, os.cpu_count() or 1)
    executor: Executor = Serial() if count == 1 else ProcessPool(count)
    sim = scenario.simulation
    console.print(
        escape(
            f"{sim.name}: {seeds} deterministic runs (seeds {seed_list[0]}..{seed_list[-1]}), "
            f"{sim.duration_hours:g} h of reports + {sim.drain_hours:g} h observed after, "
            f"{count} worker process{'es' if count > 1 else ''}"
        ),
        highlight=False,
    )
    ok: dict[str, bool] = {}
    for done, outcome in enumerate(executor.run(tasks), start=1):
        ok[outcome.key] = outcome.ok and outcome.error is None
        status = "invariants hold" if outcome.ok else (outcome.error or "an invariant was VIOLATED")
        console.print(escape(f"[{done}/{seeds}] {outcome.key}: {status}"), highlight=False)
    readings = []
    for task in tasks:
        try:
            readings.append(measure_run(task.run_dir, scenario))
        except SummaryError as error:
            console.print(f"[red]{escape(str(error))}: left out[/red]")
            ok[task.key] = False
    results = calibrate_runs(readings)
    console.print(calibration_table(results, len(readings)))
    within = sum(1 for r in results if r.within)
    console.print(
        escape(
            f"{within} of {len(results)} figures within ±{TOLERANCE:.0%} of the published value (relative), "
            f"over {len(readings)} seeds"
        ),
        highlight=False,
    )
    facts = {
        "scenario": sim.name,
        "seeds": seed_list,
        "runs_ok": sum(ok.values()),
        "duration_hours": sim.duration_hours,
        "drain_hours": sim.drain_hours,
        "annual_reports": sim.annual_reports,
    }
    written = write_calibration(directory, results, facts)
    console.print(escape(f"written: {', '.join(str(p) for p in written)} (and one directory per seed)"))
    return 0 if all(ok.get(task.key, False) for task in tasks) else 1


def calibration_table(results: list[FigureResult], seeds: int) -> Table:
    table = Table(title=f"calibration: simulated against published ({seeds} seeds)")
    for column in ("figure", "published", "source", "simulated (mean)", "spread across seeds", "verdict"):
        table.add_column(column)
    for r in results:
        t = r.target
        spread = "—"
        if r.lowest is not None and r.highest is not None:
            spread = f"{_value(r.lowest, t.unit)} to {_value(r.highest, t.unit)}"
            if r.low is not None and r.high is not None:
                spread += f" (95% CI {_value(r.low, t.unit)} to {_value(r.high, t.unit)})"
        verdict = r.verdict()
        style = "green" if r.within else ("yellow" if r.within is None else "red")
        table.add_row(
            escape(f"{t.label} ({t.population.value})"),
            _value(t.published, t.unit),
            escape(t.source),
            _value(r.mean, t.unit),
            spread,
            f"[{style}]{escape(verdict)}[/{style}]",
        )
    return table


def _value(value: float | None, unit: Unit) -> str:
    if value is None:
        return "—"
    if unit is Unit.SHARE:
        return f"{value:.1%}"
    return f"{value:.1f} h" if value < 96 else f"{value / 24:.1f} d"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _refuse(console: Console, message: str) -> int:
    console.print(f"[red]hotline-sim: {escape(message)}[/red]")
    return 2
