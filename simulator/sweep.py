"""A sweep: a scenario run over a grid of settings times N seeds, summarised in one table.

The grid is the cartesian product of the values given for each key (`--set world.known_share=0.1,0.4`); each
combination is a variant (v1, v2, ... in the order the product lists them). Every variant runs with the same
seeds, the scenario's own seed and the N - 1 after it (replications, as ns-3's RngRun), so that variants share
their random numbers seed by seed. Each run is deterministic and has its own directory, `OUT/vK/seed-S/`.

The table has one row per variant: its settings, the number of runs that finished and of those whose invariants
held, and for each headline figure (`headlines.HEADLINES`) the mean across seeds with a t-based interval
(`intervals.CONFIDENCE`) and the number of runs that had a value. It is written twice, as `sweep.csv` and
`sweep.json` (which also lists every run and its values, for `hotline-sim compare`).
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.executors import Executor, RunOutcome, RunTask
from simulator.headlines import HEADLINES, headline_values, read_summary
from simulator.intervals import CONFIDENCE, mean_interval
from simulator.overrides import Override, apply_overrides, split_values
from simulator.scenario import Scenario, to_toml

__all__ = [
    "SWEEP_CSV",
    "SWEEP_JSON",
    "SweepError",
    "SweepPlan",
    "Variant",
    "plan_sweep",
    "run_sweep",
    "table_columns",
]

SWEEP_CSV = "sweep.csv"
SWEEP_JSON = "sweep.json"
_SEED_KEY = "simulation.seed"
# The statistics of each headline figure in the table, as column suffixes: `removed.mean`, `removed.ci_low`, ...
_STATS = ("mean", "ci_low", "ci_high", "n")


class SweepError(ValueError):
    """A sweep that cannot start (bad axis, seeds or output directory): one line naming the option."""


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    settings: tuple[Override, ...]
    scenario: Scenario

    @property
    def label(self) -> str:
        return ", ".join(str(o) for o in self.settings) or "the scenario as it is"


@dataclass(frozen=True, slots=True)
class SweepPlan:
    scenario: str
    axes: dict[str, list[str]]
    variants: tuple[Variant, ...]
    seeds: tuple[int, ...]

    def tasks(self, out: Path) -> list[RunTask]:
        return [
            RunTask(
                key=_run_key(v.name, seed),
                scenario_toml=to_toml(_with_seed(v.scenario, seed)),
                run_dir=out / _run_key(v.name, seed),
                overrides=(*((o.key, o.text) for o in v.settings if o.key != _SEED_KEY), (_SEED_KEY, str(seed))),
            )
            for v in self.variants
            for seed in self.seeds
        ]


@dataclass(slots=True)
class _Row:
    variant: Variant
    runs: list[dict[str, Any]] = field(default_factory=list)


def plan_sweep(scenario: Scenario, axes: Sequence[str], seeds: int) -> SweepPlan:
    """The grid of `axes` (each `KEY=V1,V2,...`) times `seeds` seeds; every variant is checked before any runs
    (an OverrideError names a value the scenario refuses)."""
    if seeds < 1:
        raise SweepError(f"--seeds {seeds}: give at least 1 seed")
    parsed: dict[str, list[Override]] = {}
    for given in axes:
        key, values = split_values(given)
        if key in parsed:
            raise SweepError(f"--set {given}: {key} is given twice; list all its values in one --set")
        if key == _SEED_KEY and len(values) > 1:
            raise SweepError(
                f"--set {given}: the seeds come from --seeds N (the scenario's seed and the N - 1 after it); "
                f"set one {_SEED_KEY} to choose the first"
            )
        parsed[key] = values
    variants: list[Variant] = []
    for i, combination in enumerate(itertools.product(*parsed.values()), start=1):
        variant = apply_overrides(scenario, combination)  # raises OverrideError naming the bad value
        variants.append(Variant(f"v{i}", tuple(combination), variant))
    first = variants[0].scenario.simulation.seed
    return SweepPlan(
        scenario=scenario.simulation.name,
        axes={key: [o.text for o in values] for key, values in parsed.items()},
        variants=tuple(variants),
        seeds=tuple(range(first, first + seeds)),
    )


def run_sweep(
    plan: SweepPlan,
    out: Path,
    executor: Executor,
    *,
    on_run: Callable[[RunOutcome, int, int], None] | None = None,
) -> dict[str, Any]:
    """Every run of the plan on `executor`, then the table, written to out/sweep.csv and out/sweep.json (and
    returned as the JSON's dict). `on_run(outcome, done, total)` hears of each run as it finishes."""
    if (out / SWEEP_JSON).exists():
        raise SweepError(f"--out {out}: holds an earlier sweep; choose another directory")
    tasks = plan.tasks(out)
    for task in tasks:
        if task.run_dir.exists() and any(task.run_dir.iterdir()):
            raise SweepError(f"--out {out}: {task.run_dir} holds an earlier run; choose another directory")
    out.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, RunOutcome] = {}
    for outcome in executor.run(tasks):
        outcomes[outcome.key] = outcome
        if on_run is not None:
            on_run(outcome, len(outcomes), len(tasks))
    table = _table(plan, out, outcomes)
    (out / SWEEP_JSON).write_text(json.dumps(table, indent=2) + "\n")
    _write_csv(out / SWEEP_CSV, table)
    return table


def table_columns(axes: Sequence[str]) -> list[str]:
    """sweep.csv's columns: the variant, each swept key, the run counts, then each headline's statistics."""
    return [
        "variant",
        *axes,
        "seeds",
        "runs_ok",
        *(f"{h.name}.{stat}" for h in HEADLINES for stat in _STATS),
    ]


# ---------------------------------------------------------------------------------------------- helpers


def _run_key(variant: str, seed: int) -> str:
    return f"{variant}/seed-{seed}"


def _with_seed(scenario: Scenario, seed: int) -> Scenario:
    return apply_overrides(scenario, [Override(_SEED_KEY, seed, str(seed))])


def _table(plan: SweepPlan, out: Path, outcomes: dict[str, RunOutcome]) -> dict[str, Any]:
    variants = []
    for variant in plan.variants:
        runs = []
        for seed in plan.seeds:
            key = _run_key(variant.name, seed)
            outcome = outcomes.get(key, RunOutcome(key, ok=False, error="did not run"))
            run: dict[str, Any] = {"seed": seed, "dir": key, "invariants_ok": outcome.ok}
            if outcome.error is not None:
                run["error"] = outcome.error
            else:
                try:
                    run["figures"] = headline_values(read_summary(out / key))
                except ValueError as error:
                    run["error"] = str(error)
            runs.append(run)
        finished = [r for r in runs if "figures" in r]
        figures = {}
        for headline in HEADLINES:
            values = [r["figures"][headline.name] for r in finished if r["figures"][headline.name] is not None]
            estimate = mean_interval(values)
            figures[headline.name] = {
                "mean": _round(estimate.mean),
                "ci_low": _round(estimate.low),
                "ci_high": _round(estimate.high),
                "n": estimate.n,
            }
        variants.append(
            {
                "variant": variant.name,
                "settings": {o.key: o.text for o in variant.settings},
                "seeds": len(finished),
                "runs_ok": sum(1 for r in finished if r["invariants_ok"]),
                "figures": figures,
                "runs": runs,
            }
        )
    return {
        "scenario": plan.scenario,
        "seeds": list(plan.seeds),
        "axes": plan.axes,
        "confidence": CONFIDENCE,
        "headlines": [
            {"name": h.name, "label": h.label, "unit": h.unit.value, "keys": list(h.keys)} for h in HEADLINES
        ],
        "variants": variants,
    }


def _write_csv(path: Path, table: dict[str, Any]) -> None:
    axes = list(table["axes"])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=table_columns(axes))
        writer.writeheader()
        for variant in table["variants"]:
            row: dict[str, Any] = {
                "variant": variant["variant"],
                **{key: variant["settings"][key] for key in axes},
                "seeds": variant["seeds"],
                "runs_ok": variant["runs_ok"],
            }
            for key, stats in variant["figures"].items():
                for stat in _STATS:
                    row[f"{key}.{stat}"] = "" if stats[stat] is None else stats[stat]
            writer.writerow(row)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
