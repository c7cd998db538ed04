"""The intervals of experiments on inputs whose answers are known: a t interval of a mean, Welch's interval of a
difference and the paired interval of per-seed differences (checked against a t table and against scipy's own
Welch and paired tests)."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from simulator.intervals import mean_interval, paired_difference, welch_difference

# Two-sided 95% t quantiles from a table, by degrees of freedom.
T_TABLE = {1: 12.7062, 2: 4.3027, 4: 2.7764, 5: 2.5706}


def test_a_mean_and_its_t_interval() -> None:
    estimate = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = T_TABLE[4] * math.sqrt(2.5) / math.sqrt(5)  # sample variance 2.5
    assert (estimate.n, estimate.mean) == (5, 3.0)
    assert estimate.low == pytest.approx(3.0 - half, abs=1e-4)
    assert estimate.high == pytest.approx(3.0 + half, abs=1e-4)
    two = mean_interval([0.4, 0.6])
    assert (two.low, two.high) == (
        pytest.approx(0.5 - T_TABLE[1] * 0.1, abs=1e-4),
        pytest.approx(0.5 + T_TABLE[1] * 0.1, abs=1e-4),
    )


def test_too_few_values_give_no_interval() -> None:
    assert (mean_interval([]).n, mean_interval([]).mean, mean_interval([]).low) == (0, None, None)
    one = mean_interval([7.0])
    assert (one.n, one.mean, one.low, one.high) == (1, 7.0, None, None)
    assert welch_difference([1.0], [2.0, 3.0]).difference == 1.5
    assert welch_difference([1.0], [2.0, 3.0]).low is None
    assert welch_difference([], [2.0]).difference is None


def test_welch_difference_with_unequal_variances() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]
    d = welch_difference(a, b)
    se = math.sqrt(5 / 3 / 4 + 20 / 3 / 4)
    df = (se**2) ** 2 / ((5 / 12) ** 2 / 3 + (20 / 12) ** 2 / 3)
    assert d.difference == 2.5
    assert d.df == pytest.approx(df) and 4 < df < 5
    # The quantile at 4.41 degrees of freedom lies between the table's at 4 and 5.
    assert T_TABLE[5] * se < d.high - 2.5 < T_TABLE[4] * se
    assert d.low == pytest.approx(2.5 - (d.high - 2.5))
    reference = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert (d.low, d.high) == (pytest.approx(reference.low), pytest.approx(reference.high))


def test_no_spread_on_either_side_gives_the_exact_difference() -> None:
    d = welch_difference([0.5, 0.5], [0.7, 0.7])
    assert (d.difference, d.low, d.high) == (pytest.approx(0.2), pytest.approx(0.2), pytest.approx(0.2))


def test_a_paired_difference_is_the_t_interval_of_the_per_seed_differences() -> None:
    a, b = [0.5, 0.6, 0.7], [0.7, 0.75, 0.95]  # per seed: +0.2, +0.15, +0.25
    d = paired_difference(list(zip(a, b, strict=True)))
    assert d.paired and (d.n_a, d.n_b, d.df) == (3, 3, 2)
    assert d.difference == pytest.approx(0.2)
    assert d.high - 0.2 == pytest.approx(T_TABLE[2] * 0.05 / math.sqrt(3), abs=1e-4)
    reference = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (d.low, d.high) == (pytest.approx(reference.low), pytest.approx(reference.high))
    # The same values taken as independent: Welch's interval is twice as wide and takes in no change at all,
    # since it ignores that the two sides move together from seed to seed.
    welch = welch_difference(a, b)
    assert (welch.high - welch.low) > 2 * (d.high - d.low)
    assert welch.low is not None and welch.low < 0 < d.low


def test_a_paired_difference_of_one_pair_or_of_equal_moves_has_no_spread_to_show() -> None:
    one = paired_difference([(1.0, 3.0)])
    assert (one.difference, one.low, one.high, one.df) == (2.0, None, None, None)
    same = paired_difference([(0.5, 0.7), (0.6, 0.8)])
    assert (same.difference, same.low, same.high) == (pytest.approx(0.2), pytest.approx(0.2), pytest.approx(0.2))
    assert paired_difference([]).difference is None
