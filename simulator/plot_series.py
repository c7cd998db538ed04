"""The series the plots draw, derived from the run's data read back (`metrics.RunData`): the run's view (the items
the observation window counts, and one pooling of countries into the top ones and "other", shared by every plot),
which countries have no member hotline, referrals per simulated hour from cumulative counters or from times, and
the outbox backlog summed over nodes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from simulator.metrics import Item, RunData, Sample
from simulator.plot_style import HOUR
from simulator.survival import ObservationWindow, counted

__all__ = [
    "OTHER",
    "RunView",
    "hourly_from_counters",
    "hourly_from_times",
    "no_member_countries",
    "top_groups",
    "total_gauge",
]

_MEMBER_ROUTES = frozenset({"domestic", "referral"})
OTHER = "other"


@dataclass(frozen=True, slots=True)
class RunView:
    """What every plot of one run shares: the data, the observation window, the items it counts (the one
    denominator, as in summary.json), and one pooling of hosting countries: `top`, and `rest` pooled as "other"."""

    data: RunData
    window: ObservationWindow
    counted: list[Item]
    top: list[str]
    rest: frozenset[str]
    no_member: frozenset[str]

    @classmethod
    def of(cls, data: RunData, window: ObservationWindow, top_n: int) -> RunView:
        items = counted(data.items, window)
        top, rest = top_groups(Counter(i.hosting for i in items), top_n)
        return cls(data, window, items, top, frozenset(rest), frozenset(no_member_countries(data.items)))

    @property
    def groups(self) -> list[str]:
        """The plotted groups, in order: the top countries by counted items, then "other" if any."""
        return [*self.top, *([OTHER] if self.rest else [])]

    def group_of(self, country: str) -> str:
        return OTHER if country in self.rest else country

    def by_group(self) -> dict[str, list[Item]]:
        groups: dict[str, list[Item]] = {key: [] for key in self.groups}
        for item in self.counted:
            groups[self.group_of(item.hosting)].append(item)
        return groups


def no_member_countries(items: Iterable[Item]) -> set[str]:
    """Hosting countries handled mostly by the fallback policy: countries without a member hotline."""
    fallback: Counter[str] = Counter()
    member: Counter[str] = Counter()
    for item in items:
        if item.route == "fallback":
            fallback[item.hosting] += 1
        elif item.route in _MEMBER_ROUTES:
            member[item.hosting] += 1
    return {country for country, n in fallback.items() if n > member[country]}


def top_groups(counts: Counter[str], top_n: int) -> tuple[list[str], set[str]]:
    """The top_n keys by count (ties by name), and the rest. A lone leftover is shown instead of pooled."""
    ranked = sorted(counts, key=lambda key: (-counts[key], key))
    if len(ranked) <= top_n + 1:
        return ranked, set()
    return ranked[:top_n], set(ranked[top_n:])


def hourly_from_counters(samples: Iterable[Sample]) -> dict[int, float]:
    """Referrals sent per simulated hour, summed over nodes, from cumulative per-node counters.

    The increase between two samples of a node is spread over the interval between them. A counter that goes
    down is taken as a restart from zero (a crashed node's counter).
    """
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in samples:
        if s.referrals_sent is not None:
            series[s.node].append((s.t, s.referrals_sent))
    bins: dict[int, float] = defaultdict(float)
    for points in series.values():
        points.sort()
        prev_t: float | None = None
        prev_v = 0.0
        for t, v in points:
            delta = v - prev_v if v >= prev_v else v
            _spread(bins, t if prev_t is None else prev_t, t, delta)
            prev_t, prev_v = t, v
    return dict(bins)


def hourly_from_times(times: Iterable[float]) -> dict[int, float]:
    bins: dict[int, float] = defaultdict(float)
    for t in times:
        bins[max(0, math.floor(t / HOUR))] += 1
    return dict(bins)


def total_gauge(samples: Iterable[Sample]) -> tuple[list[float], list[float]]:
    """The outbox backlog summed over nodes, each node's last sample carried forward: (times, totals)."""
    events = sorted((s.t, s.node, s.outbox_backlog) for s in samples if s.outbox_backlog is not None)
    current: dict[str, float] = {}
    total = 0.0
    times: list[float] = []
    totals: list[float] = []
    for index, (t, node, value) in enumerate(events):
        total += value - current.get(node, 0.0)
        current[node] = value
        if index + 1 == len(events) or events[index + 1][0] != t:
            times.append(t)
            totals.append(total)
    return times, totals


def _spread(bins: dict[int, float], start: float, end: float, amount: float) -> None:
    """Add amount to hourly bins, spread evenly over (start, end]; a point when end <= start."""
    if amount == 0:
        return
    if end <= start:
        bins[max(0, math.ceil(end / HOUR) - 1)] += amount
        return
    first = max(0, math.floor(start / HOUR))
    last = max(first, math.ceil(end / HOUR) - 1)
    span = end - start
    for hour in range(first, last + 1):
        overlap = min(end, (hour + 1) * HOUR) - max(start, hour * HOUR)
        if overlap > 0:
            bins[hour] += amount * overlap / span
