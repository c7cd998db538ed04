"""`hotline-sim compare`: the difference in each headline figure between variants, with its interval.

Each argument is a run directory (one variant of one seed) or a sweep directory (one variant per row of its
table, each with all its seeds). The first variant is the baseline; every other one is compared with it. Where
the two ran the same seeds (a sweep's variants do), the runs are paired by seed: the difference is the mean of
the per-seed differences (other minus baseline), with the t interval of that mean (`simulator.intervals` says
why). Otherwise it is the difference of the means across seeds, with Welch's interval. A variant of one run has
a mean but no interval, so its difference has none either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.headlines import HEADLINES, Headline, headline_values, read_summary
from simulator.intervals import (
    CONFIDENCE,
    Difference,
    Estimate,
    mean_interval,
    paired_difference,
    welch_difference,
)
from simulator.summary import SUMMARY_JSON
from simulator.sweep import SWEEP_JSON

__all__ = [
    "COMPARE_JSON",
    "CompareError",
    "Comparison",
    "Group",
    "compare",
    "comparison_dict",
    "load_groups",
    "write_comparison",
]

COMPARE_JSON = "compare.json"


class CompareError(ValueError):
    """Arguments `compare` cannot use: one line naming the path."""


@dataclass(frozen=True, slots=True)
class Group:
    """One variant: its label and the run directories of its seeds."""

    label: str
    runs: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    baseline: Group
    other: Group
    # Per headline: the baseline's estimate, the other's, and other minus baseline.
    rows: tuple[tuple[Headline, Estimate, Estimate, Difference], ...]


def load_groups(paths: Sequence[Path]) -> list[Group]:
    """The variants the paths name, in order: a run directory is one, a sweep directory one per variant."""
    groups: list[Group] = []
    for path in paths:
        if (path / SWEEP_JSON).is_file():
            groups.extend(_sweep_groups(path, prefix=f"{path.name}:" if len(paths) > 1 else ""))
        elif (path / SUMMARY_JSON).is_file():
            groups.append(Group(path.name, (path,)))
        elif not path.is_dir():
            raise CompareError(f"{path}: no such directory")
        else:
            raise CompareError(f"{path}: neither a run ({SUMMARY_JSON}) nor a sweep ({SWEEP_JSON})")
    if len(groups) < 2:
        raise CompareError("compare needs two variants or more: two run directories, or a sweep of two variants")
    labels = [g.label for g in groups]
    if len(set(labels)) < len(labels):  # two runs of one name in different places: their paths tell them apart
        groups = [
            Group(str(g.runs[0]) if len(g.runs) == 1 and labels.count(g.label) > 1 else g.label, g.runs) for g in groups
        ]
    return groups


def compare(groups: Sequence[Group]) -> list[Comparison]:
    """Every group after the first against the first, on every headline figure."""
    summaries = [[_summary(run) for run in group.runs] for group in groups]
    values = [_values(runs) for runs in summaries]
    seeds = [_seeds(runs) for runs in summaries]
    baseline = values[0]
    comparisons = []
    for group, other, other_seeds in zip(groups[1:], values[1:], seeds[1:], strict=True):
        paired = seeds[0] is not None and seeds[0] == other_seeds
        rows = tuple(
            (
                headline,
                mean_interval([v for _, v in baseline[headline.name]]),
                mean_interval([v for _, v in other[headline.name]]),
                _difference(baseline[headline.name], other[headline.name], paired=paired),
            )
            for headline in HEADLINES
        )
        comparisons.append(Comparison(groups[0], group, rows))
    return comparisons


def comparison_dict(comparisons: Sequence[Comparison]) -> dict[str, Any]:
    """compare.json: every comparison's figures, for a reader other than a person."""
    return {
        "confidence": CONFIDENCE,
        "baseline": {"label": comparisons[0].baseline.label, "runs": [str(r) for r in comparisons[0].baseline.runs]},
        "comparisons": [
            {
                "label": c.other.label,
                "runs": [str(r) for r in c.other.runs],
                "figures": {
                    h.name: {
                        "baseline_mean": a.mean,
                        "baseline_n": a.n,
                        "mean": b.mean,
                        "n": b.n,
                        "difference": d.difference,
                        "ci_low": d.low,
                        "ci_high": d.high,
                        "method": "paired" if d.paired else "welch",
                        "df": d.df,
                        "welch_df": None if d.paired else d.df,
                    }
                    for h, a, b, d in c.rows
                },
            }
            for c in comparisons
        ],
    }


def write_comparison(out: Path, comparisons: Sequence[Comparison]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / COMPARE_JSON
    path.write_text(json.dumps(comparison_dict(comparisons), indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------------------------- helpers


def _sweep_groups(path: Path, prefix: str) -> list[Group]:
    try:
        table = json.loads((path / SWEEP_JSON).read_text())
        variants = table["variants"]
        groups = []
        for variant in variants:
            settings = ", ".join(f"{k}={v}" for k, v in variant["settings"].items())
            label = f"{prefix}{variant['variant']}" + (f" ({settings})" if settings else "")
            runs = tuple(path / run["dir"] for run in variant["runs"] if "error" not in run)
            groups.append(Group(label, runs))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CompareError(f"{path / SWEEP_JSON}: unreadable ({type(error).__name__}: {error})") from None
    return groups


def _values(summaries: Sequence[dict[str, Any]]) -> dict[str, list[tuple[Any, float]]]:
    """Each headline's values over a group's runs, with the seed of each (a run without a value for one adds
    nothing to it)."""
    found: dict[str, list[tuple[Any, float]]] = {h.name: [] for h in HEADLINES}
    for summary in summaries:
        for key, value in headline_values(summary).items():
            if value is not None:
                found[key].append((summary.get("seed"), value))
    return found


def _seeds(summaries: Sequence[dict[str, Any]]) -> frozenset[int] | None:
    """The seeds of a group's runs, if every run names its own (None: a run without one, or one seed twice)."""
    named = (summary.get("seed") for summary in summaries)
    seeds = [s for s in named if isinstance(s, int) and not isinstance(s, bool)]
    if not seeds or len(seeds) != len(summaries) or len(set(seeds)) != len(seeds):
        return None
    return frozenset(seeds)


def _summary(run: Path) -> dict[str, Any]:
    try:
        return read_summary(run)
    except ValueError as error:
        raise CompareError(str(error)) from None


def _difference(a: list[tuple[Any, float]], b: list[tuple[Any, float]], *, paired: bool) -> Difference:
    """Paired by seed over the seeds both have a value for, or Welch's over all values."""
    if paired:
        other = dict(b)
        return paired_difference([(value, other[seed]) for seed, value in a if seed in other])
    return welch_difference([v for _, v in a], [v for _, v in b])
