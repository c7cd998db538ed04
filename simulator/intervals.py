"""Confidence intervals for figures measured over several seeds: a mean with a t-based interval, and the
difference between two variants: paired by seed where both ran the same seeds, else the difference of two means
with Welch's interval (unequal variances, Welch-Satterthwaite degrees of freedom).

Each seed's run is one independent observation; the intervals describe the spread between seeds, not the
sampling error inside one run. Fewer than two values give a mean (or none) and no interval.

Why paired: the world model draws from streams named by item and purpose (common random numbers), so two
variants run with one seed see the same reports, hosting and provider delays, and differ only where the change
acts. Their figures move together from seed to seed; the spread of the per-seed differences is the variant's
own, and the interval of their mean is the valid one for such pairs (and narrower than Welch's, which treats
the two sides as independent, by as much as they are correlated).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

__all__ = ["CONFIDENCE", "Difference", "Estimate", "mean_interval", "paired_difference", "welch_difference"]

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Estimate:
    """The mean of n values and its interval (None where n is too small)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Difference:
    """b minus a, with its interval and degrees of freedom (None where n is too small). `paired`: the mean of the
    per-seed differences over n_a = n_b pairs, with n - 1 degrees of freedom; else b's mean minus a's, with
    Welch's interval."""

    n_a: int
    n_b: int
    difference: float | None
    low: float | None
    high: float | None
    df: float | None
    paired: bool = False


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """The mean and its two-sided t interval: mean +- t(n-1) * s / sqrt(n)."""
    n = len(values)
    if n == 0:
        return Estimate(0, None, None, None)
    mean = statistics.fmean(values)
    if n == 1:
        return Estimate(1, mean, None, None)
    half = _t(confidence, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Estimate(n, mean, mean - half, mean + half)


def welch_difference(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Difference:
    """mean(b) - mean(a) and Welch's two-sided interval for it."""
    if not a or not b:
        return Difference(len(a), len(b), None, None, None, None)
    difference = statistics.fmean(b) - statistics.fmean(a)
    if len(a) < 2 or len(b) < 2:
        return Difference(len(a), len(b), difference, None, None, None)
    va = statistics.variance(a) / len(a)
    vb = statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:  # every seed gave the same value on both sides: the difference is exact
        return Difference(len(a), len(b), difference, difference, difference, None)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t(confidence, df) * se
    return Difference(len(a), len(b), difference, difference - half, difference + half, df)


def paired_difference(pairs: Sequence[tuple[float, float]], confidence: float = CONFIDENCE) -> Difference:
    """The mean of b - a over pairs (a, b), each the two variants' values for one seed, and its two-sided t
    interval: mean +- t(n-1) * s_d / sqrt(n)."""
    n = len(pairs)
    if n == 0:
        return Difference(0, 0, None, None, None, None, paired=True)
    differences = [b - a for a, b in pairs]
    mean = statistics.fmean(differences)
    if n == 1:
        return Difference(1, 1, mean, None, None, None, paired=True)
    spread = statistics.stdev(differences)
    if spread == 0:  # every seed moved by the same amount: the difference is exact
        return Difference(n, n, mean, mean, mean, None, paired=True)
    half = _t(confidence, n - 1) * spread / math.sqrt(n)
    return Difference(n, n, mean, mean - half, mean + half, n - 1, paired=True)


def _t(confidence: float, df: float) -> float:
    return float(stats.t.ppf(0.5 + confidence / 2, df))
