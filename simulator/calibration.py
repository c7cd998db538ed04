"""The calibration of the world model: the published figures (/work/shared/data/figures.md), how each is read
from a run, and how the readings of several seeds compare with them.

Every figure is read from a run's items.csv: the items judged illegal (`survival.counted`, the summary's one
denominator), split by where the content was first hosted, a country with a member hotline ("inside the
network") or without one. Times and shares come from Kaplan-Meier estimates (`survival.estimate`, lifelines)
with the items still open at the end of the run censored, never from naive shares. "Offline" is the event of
the removal figures: the provider removed the content, or it went offline by itself (`vanish_share`), as a
hotline that finds the URL dead records it.

A simulated figure is *within* when the mean across seeds is within +-10% of the published value, relative to
it (|simulated - published| <= 0.10 x published). The spread is the lowest and highest seed and the 95% t
interval of the mean (`intervals.mean_interval`).
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from simulator.headlines import Unit, read_summary
from simulator.intervals import mean_interval
from simulator.metrics import Item, read_run
from simulator.scenario import Scenario
from simulator.survival import HORIZON_HOURS, ObservationWindow, SurvivalCurve, counted, estimate, time_to

__all__ = [
    "CALIBRATION_CSV",
    "CALIBRATION_JSON",
    "TARGETS",
    "TOLERANCE",
    "FigureResult",
    "Population",
    "Target",
    "calibrate_runs",
    "measure_run",
    "write_calibration",
]

CALIBRATION_JSON = "calibration.json"
CALIBRATION_CSV = "calibration.csv"
TOLERANCE = 0.10  # relative to the published value
_HOUR = 3600.0
_DAY = 24.0
_TAIL_HOURS = 42 * _DAY


class Population(StrEnum):
    MEMBER = "hosted where a member is"
    NO_MEMBER = "hosted where no member is"
    UK = "hosted in GB"


@dataclass(frozen=True, slots=True)
class Target:
    """A published figure that the runs are held against: its value, where it was published, which items it
    counts, and how a run gives it."""

    key: str
    label: str
    published: float
    unit: Unit
    source: str
    population: Population
    # How the run gives the figure, in words (the README's calibration section repeats these).
    reading: str


TARGETS: tuple[Target, ...] = (
    Target(
        "removed_3d_2018",
        "removed in under 3 days",
        0.58,
        Unit.SHARE,
        "INHOPE 2018",
        Population.MEMBER,
        "Kaplan-Meier share offline by 72 h",
    ),
    Target(
        "removed_3d_2017",
        "removed in under 3 days",
        0.62,
        Unit.SHARE,
        "INHOPE 2017",
        Population.MEMBER,
        "Kaplan-Meier share offline by 72 h",
    ),
    Target(
        "median_removal_network",
        '"removed within 2.5 days"',
        2.5 * _DAY,
        Unit.HOURS,
        "INHOPE 2023",
        Population.MEMBER,
        "Kaplan-Meier median time to offline",
    ),
    Target(
        "lea_3d",
        "reported to police within 3 days",
        0.82,
        Unit.SHARE,
        "INHOPE 2023",
        Population.MEMBER,
        "Kaplan-Meier share with the LEA notice by 72 h (content gone first: censored then)",
    ),
    Target(
        "median_removal_no_hotline",
        "28+ days to removal",
        28 * _DAY,
        Unit.HOURS,
        "INHOPE 2023",
        Population.NO_MEMBER,
        "Kaplan-Meier median time to offline (28 days taken as the value)",
    ),
    Target(
        "removals_beyond_42d",
        "removals taking 42+ days",
        0.10,
        Unit.SHARE,
        "C3P Arachnid 2018-20",
        Population.NO_MEMBER,
        "of the share offline by the end of observation, the part after 42 days (Kaplan-Meier)",
    ),
    Target(
        "gone_before_notice_uk",
        "gone before any notice (465/640)",
        465 / 640,
        Unit.SHARE,
        "IWF 2022",
        Population.UK,
        "share of items whose content went offline by itself before the notice to the provider",
    ),
)


@dataclass(frozen=True, slots=True)
class FigureResult:
    target: Target
    values: tuple[float | None, ...]  # one per seed, None where the run could not give it
    mean: float | None
    low: float | None  # 95% t interval of the mean
    high: float | None
    lowest: float | None
    highest: float | None
    sd: float | None

    @property
    def relative_difference(self) -> float | None:
        if self.mean is None:
            return None
        return (self.mean - self.target.published) / self.target.published

    @property
    def within(self) -> bool | None:
        """Within the tolerance; None when no seed gave the figure."""
        difference = self.relative_difference
        return None if difference is None else abs(difference) <= TOLERANCE + 1e-12

    def verdict(self) -> str:
        difference = self.relative_difference
        if difference is None:
            return "not measured"
        return ("within" if self.within else "OUTSIDE") + f" ±{TOLERANCE:.0%} ({difference:+.2%})"

    def as_dict(self) -> dict[str, Any]:
        difference = self.relative_difference
        return {
            **asdict(self.target),
            "values": list(self.values),
            "mean": None if self.mean is None else round(self.mean, 6),
            "ci_low": self.low,
            "ci_high": self.high,
            "min": self.lowest,
            "max": self.highest,
            "sd": self.sd,
            "relative_difference": None if difference is None else round(difference, 6),
            "within": self.within,
            "verdict": self.verdict(),
        }


# ------------------------------------------------------------------------------------------------ one run


def measure_run(run_dir: Path, scenario: Scenario) -> dict[str, float | None]:
    """Each target's value in one finished run (None where the run cannot give it: no such item, or a median
    the curve never reaches)."""
    end_hours = float(read_summary(run_dir)["simulated_hours"])
    window = ObservationWindow(0.0, HORIZON_HOURS, end_hours)
    items = counted(read_run(run_dir).items, window)
    member_countries = {h.country for h in scenario.members}
    groups = {
        Population.MEMBER: [i for i in items if i.hosting in member_countries],
        Population.NO_MEMBER: [i for i in items if i.hosting not in member_countries],
        Population.UK: [i for i in items if i.hosting == "GB"],
    }
    readers: dict[str, Callable[[list[Item], ObservationWindow], float | None]] = {
        "removed_3d_2018": _offline_within_horizon,
        "removed_3d_2017": _offline_within_horizon,
        "median_removal_network": _median_offline,
        "lea_3d": _lea_within_horizon,
        "median_removal_no_hotline": _median_offline,
        "removals_beyond_42d": _removals_beyond_tail,
        "gone_before_notice_uk": _gone_before_notice,
    }
    return {t.key: readers[t.key](groups[t.population], window) for t in TARGETS}


def _offline(item: Item) -> float | None:
    times = [t for t in (item.removed, item.gone) if t is not None]
    return min(times) if times else None


def _fit(items: list[Item], window: ObservationWindow, event: Callable[[Item], float | None]) -> Any:
    durations, observed = time_to(items, event, window)
    return estimate(durations, observed, horizon_hours=HORIZON_HOURS, horizon_observable=window.complete)


def _offline_within_horizon(items: list[Item], window: ObservationWindow) -> float | None:
    return _fit(items, window, _offline)[0].within_horizon if items else None


def _lea_within_horizon(items: list[Item], window: ObservationWindow) -> float | None:
    """Content that went offline by itself before its LEA notice ends that item's flow: it is censored when it
    went (the notice it would have had is unknown), not counted as never notified."""
    if not items:
        return None
    end_s = window.end_hours * _HOUR
    durations: list[float] = []
    observed: list[bool] = []
    for item in items:
        assert item.reported is not None  # `counted` keeps only reported items
        lea = item.lea if item.lea is not None and item.lea <= end_s else None
        stop = lea if lea is not None else min(item.gone if item.gone is not None else end_s, end_s)
        durations.append(max(0.0, (stop - item.reported) / _HOUR))
        observed.append(lea is not None)
    return estimate(durations, observed, horizon_hours=HORIZON_HOURS, horizon_observable=window.complete)[
        0
    ].within_horizon


def _median_offline(items: list[Item], window: ObservationWindow) -> float | None:
    return _fit(items, window, _offline)[0].median_hours if items else None


def _removals_beyond_tail(items: list[Item], window: ObservationWindow) -> float | None:
    """Of the share offline by the curve's end, the part that came after 42 days; None when the run ends before
    42 days or nothing went offline."""
    if not items or window.end_hours <= _TAIL_HOURS:
        return None
    curve: SurvivalCurve = _fit(items, window, _offline)[1]
    final = curve.share[-1] if curve.share else 0.0
    if final <= 0:
        return None
    by_tail = _step(curve, _TAIL_HOURS)
    return round((final - by_tail) / final, 4)


def _gone_before_notice(items: list[Item], window: ObservationWindow) -> float | None:
    """A plain share: every item's fate before the notice (gone, or noticed) is known within hours of its report,
    long before the end of a calibration run, so nothing is censored; items with neither are left out."""
    settled = [i for i in items if i.gone is not None or i.ntd is not None]
    if not settled:
        return None
    gone = sum(1 for i in settled if i.gone is not None and (i.ntd is None or i.gone < i.ntd))
    return round(gone / len(settled), 4)


def _step(curve: SurvivalCurve, hours: float) -> float:
    """The step curve's share at `hours` (0 before its first step)."""
    value = 0.0
    for t, share in zip(curve.hours, curve.share, strict=True):
        if t > hours:
            break
        value = share
    return value


# ------------------------------------------------------------------------------------------------ seeds


def calibrate_runs(readings: Sequence[dict[str, float | None]]) -> list[FigureResult]:
    """Each target over the seeds' readings: mean, 95% interval, lowest and highest, standard deviation."""
    results = []
    for target in TARGETS:
        values = tuple(r.get(target.key) for r in readings)
        present = [v for v in values if v is not None]
        estimate_ = mean_interval(present)
        results.append(
            FigureResult(
                target=target,
                values=values,
                mean=estimate_.mean,  # unrounded: the verdict reads it (a mean of 0.11002 is not within 10% of 0.1)
                low=_round(estimate_.low),
                high=_round(estimate_.high),
                lowest=_round(min(present)) if present else None,
                highest=_round(max(present)) if present else None,
                sd=_round(statistics.stdev(present)) if len(present) > 1 else None,
            )
        )
    return results


_CSV_COLUMNS = (
    "key",
    "figure",
    "source",
    "population",
    "unit",
    "published",
    "simulated_mean",
    "ci_low",
    "ci_high",
    "min",
    "max",
    "sd",
    "seeds",
    "relative_difference",
    "within",
)


def write_calibration(directory: Path, results: list[FigureResult], facts: dict[str, Any]) -> list[Path]:
    """calibration.json (the facts of the calibration, every figure with each seed's value) and calibration.csv
    (one row per figure)."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        **facts,
        "tolerance": TOLERANCE,
        "rule": "within when |simulated mean - published| <= tolerance x published (relative)",
        "figures": [r.as_dict() for r in results],
        "within": sum(1 for r in results if r.within),
    }
    json_path = directory / CALIBRATION_JSON
    json_path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    csv_path = directory / CALIBRATION_CSV
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(_CSV_COLUMNS)
        for r in results:
            t = r.target
            writer.writerow(
                [
                    t.key,
                    t.label,
                    t.source,
                    t.population.value,
                    t.unit.value,
                    round(t.published, 4),
                    _cell(_round(r.mean)),
                    _cell(r.low),
                    _cell(r.high),
                    _cell(r.lowest),
                    _cell(r.highest),
                    _cell(r.sd),
                    sum(1 for v in r.values if v is not None),
                    _cell(_round(r.relative_difference)),
                    "" if r.within is None else int(r.within),
                ]
            )
    return [json_path, csv_path]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
