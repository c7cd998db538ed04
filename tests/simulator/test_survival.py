"""Time-to-event figures: Kaplan-Meier recovers a known answer under censoring, censored items are never counted as
removed, and the observation window keeps out the items a run could not watch for the whole 72 hours."""

from __future__ import annotations

import math
import random

import pytest

from simulator.metrics import Item
from simulator.survival import HORIZON_HOURS, ObservationWindow, counted, estimate, time_to

HOUR = 3600.0


def _item(reported_h: float, removed_h: float | None, *, hosting: str = "NL", route: str = "referral") -> Item:
    return Item(
        hosting=hosting,
        route=route,
        illegal=True,
        reported=reported_h * HOUR,
        referred=None,
        delivered=None,
        removed=None if removed_h is None else removed_h * HOUR,
    )


def _removed(item: Item) -> float | None:
    return item.removed


def _exponential_run(
    seed: int, *, rate_per_hour: float, n: int, arrivals_h: float, end_h: float
) -> tuple[list[Item], ObservationWindow]:
    """Reports arriving uniformly over `arrivals_h`, removal after an exponential delay; a removal after the run's
    end is not seen (the item is open at the end)."""
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        reported = rng.uniform(0, arrivals_h)
        removed = reported + rng.expovariate(rate_per_hour)
        items.append(_item(reported, removed if removed <= end_h else None))
    return items, ObservationWindow(0.0, HORIZON_HOURS, end_h)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exponential_removal_times_are_recovered_within_the_interval_despite_censoring(seed: int) -> None:
    """Rate 1/60 per hour: the share removed within 72 h is 1 - exp(-72/60) = 69.9%, the median 60 ln 2 = 41.6 h.
    The run ends 100 h after the first report, so items reported late are censored at the end."""
    rate = 1 / 60
    items, window = _exponential_run(seed, rate_per_hour=rate, n=800, arrivals_h=100, end_h=100 + HORIZON_HOURS)
    survival, _curve = estimate(*time_to(counted(items, window), _removed, window))
    truth_share = 1 - math.exp(-rate * HORIZON_HOURS)
    truth_median = math.log(2) / rate
    assert survival.censored > 50, "the case needs censoring to mean something"
    assert survival.within_horizon is not None and survival.median_hours is not None
    assert survival.within_horizon_low is not None and survival.within_horizon_high is not None
    assert survival.within_horizon_low <= truth_share <= survival.within_horizon_high
    assert survival.median_low_hours is not None and survival.median_high_hours is not None
    assert survival.median_low_hours <= truth_median <= survival.median_high_hours
    # Narrow enough to be a real test: 800 items give an interval of a few points.
    assert survival.within_horizon_high - survival.within_horizon_low < 0.1


def test_the_median_over_all_items_is_not_the_median_of_the_removed() -> None:
    """Half the items removed within an hour, the rest never: the median of the removed would be 0.5 h; over all
    items the curve reaches only 50%, and a slower half makes the median not reached."""
    window = ObservationWindow(0.0, HORIZON_HOURS, 200.0)
    items = [_item(1.0, 1.5) for _ in range(40)] + [_item(1.0, None) for _ in range(60)]
    survival, _ = estimate(*time_to(counted(items, window), _removed, window))
    assert (survival.events, survival.censored) == (40, 60)
    assert survival.median_reached is False and survival.median_hours is None
    assert survival.within_horizon == pytest.approx(0.4)


def test_censored_items_are_not_counted_as_removed() -> None:
    window = ObservationWindow(0.0, HORIZON_HOURS, 100.0)
    items = [_item(1.0, None) for _ in range(10)]
    durations, observed = time_to(items, _removed, window)
    assert observed == [False] * 10
    assert durations == [pytest.approx(99.0)] * 10  # censored at the run's end
    survival, curve = estimate(durations, observed)
    assert (survival.events, survival.within_horizon) == (0, 0.0)
    assert curve.share[-1] == 0.0
    # No event: the exact binomial upper bound for 0 of 10 stands in for a collapsed band.
    assert survival.within_horizon_low == 0.0
    assert survival.within_horizon_high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-4)


def test_a_removal_recorded_after_the_end_of_observation_is_censored() -> None:
    window = ObservationWindow(0.0, HORIZON_HOURS, 80.0)
    durations, observed = time_to([_item(2.0, 90.0)], _removed, window)
    assert (durations, observed) == ([pytest.approx(78.0)], [False])


def test_the_window_keeps_out_the_warm_up_the_cool_down_and_what_is_not_illegal() -> None:
    window = ObservationWindow(warmup_hours=5.0, horizon_hours=HORIZON_HOURS, end_hours=100.0)
    assert window.last_report_hours == pytest.approx(28.0)
    inside = [_item(5.0, 6.0), _item(27.9, None), _item(28.0, 40.0)]
    late = [_item(28.1, 30.0), _item(99.0, 99.5)]  # reported less than 72 h before the end
    early = [_item(4.9, 5.0)]
    not_illegal = [
        _item(10.0, None, route="not_illegal"),
        Item("NL", "pending", False, 10 * HOUR, None, None, None),
        Item("NL", "referral", True, None, None, None, 50 * HOUR),  # no report time
    ]
    assert counted([*early, *inside, *late, *not_illegal], window) == inside
    assert window.complete and "warm-up 5 h, cool-down 72 h" in window.note()


def test_a_run_shorter_than_the_horizon_reports_no_share_within_it() -> None:
    window = ObservationWindow(0.0, HORIZON_HOURS, 54.0)
    assert not window.complete
    assert "shorter than" in window.note() and "no item was watched for 72 h" in window.note()
    items = [_item(1.0, 3.0), _item(2.0, None), _item(30.0, 31.0)]
    assert counted(items, window) == items  # every report after the warm-up, censored at the end
    survival, _ = estimate(*time_to(items, _removed, window), horizon_observable=window.complete)
    assert survival.within_horizon is None and survival.within_horizon_low is None
    assert survival.events == 2 and survival.median_reached


def test_no_items_give_no_figures() -> None:
    survival, curve = estimate([], [])
    assert (survival.n, survival.within_horizon, survival.median_hours, curve.hours) == (0, None, None, [])
