"""The run's figures: `RunSummary` is the schema of `summary.json`, and `summarise()` computes it from the run's
item rows, invariants and network (simulator/README.md describes the figures).

summary.json is `RunSummary.as_dict()` as JSON, keys sorted; nested records (`Quantiles`, `CountryRemovals`,
`DriverCounts`) become objects of the same keys.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulator.invariants import InvariantResult
from simulator.metrics import ItemColumn
from simulator.network import Network
from simulator.scenario import Scenario
from simulator.world import Workload

__all__ = [
    "HOST_FIELDS",
    "HOST_JSON",
    "SUMMARY_JSON",
    "CountryRemovals",
    "DriverCounts",
    "Quantiles",
    "RunSummary",
    "quantiles",
    "summarise",
]

SUMMARY_JSON = "summary.json"
HOST_JSON = "host.json"
# RunSummary's facts about the host rather than the simulated network: host.json, never summary.json.
HOST_FIELDS = (
    "wall_seconds",
    "speedup",
    "cpu_seconds",
    "peak_rss_mib",
    "rss_per_node_mib",
    "pid",
    "event_loop_lag",
)


@dataclass(frozen=True, slots=True)
class Quantiles:
    count: int
    p50: float | None
    p99: float | None
    max: float | None


@dataclass(slots=True)
class CountryRemovals:
    """The illegal items hosted in one country, how many were removed, and how many within 72 hours."""

    illegal: int = 0
    removed: int = 0
    within_72h: int = 0


@dataclass(frozen=True, slots=True)
class DriverCounts:
    """What the case systems' driver retried, and what the nodes refused, by reason."""

    retries: int
    refused: dict[str, int]


@dataclass(slots=True)
class RunSummary:
    """The figures of one run and its invariant results: every field is a key of summary.json."""

    scenario: str
    seed: int
    nodes: int
    countries: int
    reports: int
    # Fewer reports than planned means the case systems fell behind the clock (the scale is too high
    # for this machine) or the run ended first; the figures then describe a lagging network.
    planned_reports: int
    illegal_items: int
    referral_count: int
    routes: dict[str, int]
    removed: int
    removed_within_72h_share: float | None
    removed_within_72h_share_of_removed: float | None
    median_time_to_removal_hours: float | None
    delivery_latency_seconds: Quantiles
    by_hosting_country: dict[str, CountryRemovals]
    invariants: dict[str, dict[str, Any]]
    invariants_ok: bool
    drained: bool
    simulated_hours: float
    wall_seconds: float
    speedup: float | None
    cpu_seconds: float
    peak_rss_mib: float
    rss_per_node_mib: float | None
    clock_scale: float
    driver: DriverCounts
    node_crashes: int
    roster_version: int
    rogue_messages: int
    pid: int
    # `LoopLag.summary()`, filled in once the clock has stopped.
    event_loop_lag: dict[str, Any] | None = None
    # The plot files drawn, filled in after the figures are taken (drawing them raises the peak RSS).
    plots: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, run_dir: Path) -> None:
        """Write summary.json (the run's results) and host.json (the host's facts: pid, wall time, CPU,
        memory, event-loop lag) into run_dir. Only summary.json is a function of the scenario and seed."""
        figures = self.as_dict()
        host = {name: figures.pop(name) for name in HOST_FIELDS}
        (run_dir / SUMMARY_JSON).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        (run_dir / HOST_JSON).write_text(json.dumps(host, indent=2, sort_keys=True) + "\n")


def summarise(
    scenario: Scenario,
    workload: Workload,
    items: list[dict[str, Any]],
    invariants: list[InvariantResult],
    network: Network,
    *,
    wall: float,
    cpu: float,
    simulated_hours: float,
    drained: bool,
    driver_refused: dict[str, int],
    retries: int,
    attacks: int,
) -> RunSummary:
    """The run's figures from its items.csv rows (`metrics.item_rows`); the peak RSS is this process's so far."""
    illegal = [r for r in items if r[ItemColumn.ILLEGAL] == 1 and r[ItemColumn.ROUTE] != "not_illegal"]
    removal_hours = [
        (float(r[ItemColumn.REMOVED_S]) - float(r[ItemColumn.REPORTED_S])) / 3600
        for r in illegal
        if r[ItemColumn.REMOVED_S] and r[ItemColumn.REPORTED_S]
    ]
    within_72 = sum(1 for h in removal_hours if h <= 72)
    delivery = [
        float(r[ItemColumn.DELIVERED_S]) - float(r[ItemColumn.REFERRED_S])
        for r in items
        if r[ItemColumn.DELIVERED_S] and r[ItemColumn.REFERRED_S]
    ]
    per_country: dict[str, CountryRemovals] = {}
    for row in illegal:
        entry = per_country.setdefault(row[ItemColumn.HOSTING_COUNTRY], CountryRemovals())
        entry.illegal += 1
        if row[ItemColumn.REMOVED_S]:
            entry.removed += 1
            if (float(row[ItemColumn.REMOVED_S]) - float(row[ItemColumn.REPORTED_S])) / 3600 <= 72:
                entry.within_72h += 1
    routes: dict[str, int] = {}
    for row in items:
        routes[row[ItemColumn.ROUTE]] = routes.get(row[ItemColumn.ROUTE], 0) + 1
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    members = len(network.members)
    return RunSummary(
        scenario=scenario.simulation.name,
        seed=scenario.simulation.seed,
        nodes=members,
        countries=len(scenario.countries),
        reports=len(items),
        planned_reports=workload.planned_count(),
        illegal_items=len(illegal),
        referral_count=sum(1 for r in items if r[ItemColumn.REFERRED_S]),
        routes=routes,
        removed=len(removal_hours),
        removed_within_72h_share=round(within_72 / len(illegal), 4) if illegal else None,
        removed_within_72h_share_of_removed=round(within_72 / len(removal_hours), 4) if removal_hours else None,
        median_time_to_removal_hours=round(statistics.median(removal_hours), 2) if removal_hours else None,
        delivery_latency_seconds=quantiles(delivery),
        by_hosting_country=dict(sorted(per_country.items())),
        invariants={r.name: r.as_dict() for r in invariants},
        invariants_ok=all(r.ok for r in invariants),
        drained=drained,
        simulated_hours=round(simulated_hours, 2),
        wall_seconds=round(wall, 2),
        speedup=round(simulated_hours * 3600 / wall, 1) if wall else None,
        cpu_seconds=round(cpu, 2),
        peak_rss_mib=round(rss_mib, 1),
        rss_per_node_mib=round(rss_mib / members, 1) if members else None,
        clock_scale=scenario.simulation.clock_scale,
        driver=DriverCounts(retries=retries, refused=driver_refused),
        node_crashes=sum(n.crashes for n in network.nodes.values()),
        roster_version=network.roster_version,
        rogue_messages=attacks,
        pid=os.getpid(),
    )


def quantiles(values: list[float]) -> Quantiles:
    """The count, median, 99th percentile and maximum of values, rounded to 0.01."""
    if not values:
        return Quantiles(count=0, p50=None, p99=None, max=None)
    ordered = sorted(values)

    def q(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)

    return Quantiles(count=len(ordered), p50=q(0.5), p99=q(0.99), max=round(ordered[-1], 2))
