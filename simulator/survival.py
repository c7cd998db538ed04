"""Time-to-event figures of a run, honest about what the run could see: the observation window that decides which
items count (the one denominator of summary.json, the plots and the terminal table), and Kaplan-Meier estimates
(lifelines) of the time from report to removal, to the notice to police (LEA) and to the notice to the hosting
provider (NTD), with items still open at the end of the run as right-censored.

The window: an item counts when it is judged illegal, has a report time, was reported after the warm-up and at
least `horizon_hours` (72) before the run ended, so that every counted item was watched for the whole horizon.
The last `horizon_hours` of the run are the cool-down. A run shorter than warm-up + horizon has no such item:
its window is then every illegal item reported after the warm-up, the curves and medians are still estimated
(censored at the run's end), and the share within the horizon is reported as not observable, never as a figure.
simulator/README.md defines the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from simulator.metrics import Item

__all__ = [
    "ALPHA",
    "HORIZON_HOURS",
    "ObservationWindow",
    "Survival",
    "SurvivalCurve",
    "counted",
    "estimate",
    "time_to",
]

HORIZON_HOURS = 72.0
ALPHA = 0.05  # 95% confidence intervals
_HOUR = 3600.0
# Routes that say the item was judged not illegal after all (a receiving hotline disagreed, say).
_NOT_ILLEGAL_ROUTE = "not_illegal"


@dataclass(frozen=True, slots=True)
class ObservationWindow:
    """Which reports count: those made in [warmup_hours, end_hours - horizon_hours] of simulated time."""

    warmup_hours: float
    horizon_hours: float
    # The end of observation: simulated hours from the scenario start to the end of the run (drain included).
    end_hours: float

    @property
    def cooldown_hours(self) -> float:
        return self.horizon_hours

    @property
    def complete(self) -> bool:
        """True when some report could be watched for the whole horizon after the warm-up."""
        return self.end_hours - self.horizon_hours >= self.warmup_hours

    @property
    def last_report_hours(self) -> float:
        """The last report time that counts (the run's end when the window is not complete)."""
        return self.end_hours - self.horizon_hours if self.complete else self.end_hours

    def contains(self, reported_s: float) -> bool:
        return self.warmup_hours * _HOUR <= reported_s <= self.last_report_hours * _HOUR

    def note(self) -> str:
        """One sentence for people: what counts, or why the horizon cannot be observed."""
        end, last = f"{self.end_hours:.1f}", f"{self.last_report_hours:.1f}"
        if self.complete:
            return (
                f"items reported from {self.warmup_hours:g} h to {last} h "
                f"(warm-up {self.warmup_hours:g} h, cool-down {self.cooldown_hours:g} h of a {end} h run)"
            )
        return (
            f"the run ({end} h) is shorter than warm-up {self.warmup_hours:g} h + "
            f"{self.horizon_hours:g} h horizon: no item was watched for {self.horizon_hours:g} h"
        )


def counted(items: Iterable[Item], window: ObservationWindow) -> list[Item]:
    """The denominator: items judged illegal (and not found not illegal later), reported within the window."""
    return [
        i
        for i in items
        if i.illegal and i.route != _NOT_ILLEGAL_ROUTE and i.reported is not None and window.contains(i.reported)
    ]


def time_to(
    items: Sequence[Item], event: Callable[[Item], float | None], window: ObservationWindow
) -> tuple[list[float], list[bool]]:
    """Hours from report to the event for each item, and whether it was observed; an item without the event is
    censored at the end of observation. An event recorded before the report counts as at the report."""
    end_s = window.end_hours * _HOUR
    durations: list[float] = []
    observed: list[bool] = []
    for item in items:
        assert item.reported is not None  # `counted` keeps only reported items
        at = event(item)
        seen = at is not None and at <= end_s
        durations.append(max(0.0, ((at if seen and at is not None else end_s) - item.reported) / _HOUR))
        observed.append(seen)
    return durations, observed


@dataclass(frozen=True, slots=True)
class SurvivalCurve:
    """The estimated share that had the event by each time (1 - Kaplan-Meier), with its pointwise 95% band."""

    hours: list[float]
    share: list[float]
    low: list[float]
    high: list[float]


@dataclass(frozen=True, slots=True)
class Survival:
    """A Kaplan-Meier estimate over `n` items: `events` had the event, `censored` had not by the run's end."""

    n: int
    events: int
    censored: int
    # The share with the event within the horizon, read from the curve, and its 95% interval; None when the
    # run could not observe the horizon (or n is 0).
    within_horizon: float | None
    within_horizon_low: float | None
    within_horizon_high: float | None
    # The median time (hours) over all n items, censored ones included; None when the curve never reaches
    # half (median_reached is then False). The interval bounds are None where the band does not reach half.
    median_hours: float | None
    median_low_hours: float | None
    median_high_hours: float | None
    median_reached: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(
    durations: Sequence[float],
    observed: Sequence[bool],
    *,
    horizon_hours: float = HORIZON_HOURS,
    horizon_observable: bool = True,
) -> tuple[Survival, SurvivalCurve]:
    """The Kaplan-Meier estimate (lifelines, exponential Greenwood 95% band) of durations with right-censoring."""
    n = len(durations)
    events = sum(1 for seen in observed if seen)
    if n == 0:
        empty = Survival(0, 0, 0, None, None, None, None, None, None, False)
        return empty, SurvivalCurve([], [], [], [])
    from lifelines import KaplanMeierFitter  # pandas and scipy load only when a run is summarised
    from lifelines.utils import median_survival_times

    fitter = KaplanMeierFitter(alpha=ALPHA).fit(list(durations), event_observed=list(observed))
    hours = [float(t) for t in fitter.timeline]
    share = [_unit(1.0 - float(s)) for s in fitter.survival_function_.iloc[:, 0]]
    band = fitter.confidence_interval_cumulative_density_
    low = [_unit(float(v)) for v in band.iloc[:, 0]]
    high = [_unit(float(v)) for v in band.iloc[:, 1]]
    curve = SurvivalCurve(hours, share, low, high)

    within = low_h = high_h = None
    if horizon_observable:
        within, low_h, high_h = _at(curve, horizon_hours)
        by_horizon = sum(1 for t, seen in zip(durations, observed, strict=True) if seen and t <= horizon_hours)
        if by_horizon in (0, n):
            # The band collapses to a point when every item (or none) had the event: the exact binomial
            # (Clopper-Pearson) bound of 0 or n out of n stands in for it.
            bound = (ALPHA / 2) ** (1 / n)
            low_h, high_h = (0.0, 1.0 - bound) if by_horizon == 0 else (bound, 1.0)

    median = float(fitter.median_survival_time_)
    bounds = median_survival_times(fitter.confidence_interval_)
    median_low, median_high = (float(v) for v in bounds.iloc[0, :2])
    survival = Survival(
        n=n,
        events=events,
        censored=n - events,
        within_horizon=_round(within),
        within_horizon_low=_round(low_h),
        within_horizon_high=_round(high_h),
        median_hours=_finite(median),
        median_low_hours=_finite(median_low),
        median_high_hours=_finite(median_high),
        median_reached=math.isfinite(median),
    )
    return survival, curve


def _at(curve: SurvivalCurve, hours: float) -> tuple[float, float, float]:
    """The step curve's value and band at `hours` (the last step at or before it)."""
    index = max((k for k, t in enumerate(curve.hours) if t <= hours), default=0)
    return curve.share[index], curve.low[index], curve.high[index]


def _unit(value: float) -> float:
    return 0.0 if math.isnan(value) else min(1.0, max(0.0, value))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None
