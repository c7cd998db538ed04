"""The run's figures: `RunSummary` is the schema of `summary.json`, and `summarise()` computes it from the run's
item rows, invariants and network (simulator/README.md describes the figures).

summary.json is `RunSummary.as_dict()` as JSON, keys sorted; nested records (`Quantiles`, `CountryRemovals`,
`DriverCounts`, `Survival`, the window and the metadata) become objects of the same keys. The time-to-event
figures count the items of the observation window only (`survival.counted`, the denominator the plots use too);
`headline` holds the figures a sweep or a comparison reads, flat, by key.
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulator.invariants import InvariantResult
from simulator.metrics import Item
from simulator.network import Network
from simulator.run_metadata import RunMetadata
from simulator.scenario import Scenario
from simulator.survival import HORIZON_HOURS, ObservationWindow, Survival, counted, estimate, time_to
from simulator.world import Workload

__all__ = [
    "HOST_FIELDS",
    "HOST_JSON",
    "SUMMARY_JSON",
    "CountryRemovals",
    "DriverCounts",
    "Quantiles",
    "RunSummary",
    "WindowFacts",
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
    """The window's illegal items hosted in one country, how many were removed by the end of the run, how many
    within 72 hours, and the share removed within 72 hours (Kaplan-Meier) with its 95% interval; the shares are
    None when the run could not observe 72 hours."""

    illegal: int = 0
    removed: int = 0
    within_72h: int = 0
    within_72h_share: float | None = None
    within_72h_low: float | None = None
    within_72h_high: float | None = None


@dataclass(frozen=True, slots=True)
class WindowFacts:
    """The observation window of summary.json: which reports count (simulator/README.md, "Denominator")."""

    warmup_hours: float
    cooldown_hours: float
    horizon_hours: float
    end_hours: float
    first_report_hours: float
    last_report_hours: float
    # False when the run is shorter than warm-up + horizon: no share within the horizon is reported.
    complete: bool
    note: str
    # Illegal items with a report time: counted, left out as reported in the warm-up, in the cool-down.
    counted: int
    excluded_warmup: int
    excluded_cooldown: int

    @classmethod
    def of(cls, window: ObservationWindow, illegal: list[Item], counted_items: int) -> WindowFacts:
        warmup_s = window.warmup_hours * 3600
        return cls(
            warmup_hours=window.warmup_hours,
            cooldown_hours=window.cooldown_hours,
            horizon_hours=window.horizon_hours,
            end_hours=round(window.end_hours, 2),
            first_report_hours=window.warmup_hours,
            last_report_hours=round(window.last_report_hours, 2),
            complete=window.complete,
            note=window.note(),
            counted=counted_items,
            excluded_warmup=sum(1 for i in illegal if i.reported is not None and i.reported < warmup_s),
            excluded_cooldown=sum(
                1 for i in illegal if i.reported is not None and i.reported > window.last_report_hours * 3600
            ),
        )

    def window(self) -> ObservationWindow:
        return ObservationWindow(self.warmup_hours, self.horizon_hours, self.end_hours)


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
    # Every item judged illegal; the time-to-event figures count only the window's (window.counted).
    illegal_items: int
    referral_count: int
    routes: dict[str, int]
    # Items of the window removed by the end of the run.
    removed: int
    # Kaplan-Meier over the window's items (open items censored): the same figures as headline's
    # removed_within_72h and median_removal_hours, kept under their earlier names.
    removed_within_72h_share: float | None
    median_time_to_removal_hours: float | None
    window: WindowFacts
    removal: Survival
    lea_notice: Survival
    ntd: Survival
    headline: dict[str, float | None]
    metadata: RunMetadata
    # A live run whose drain timed out or whose clock fell behind (set once the clock has stopped).
    saturated: bool
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
    items: list[Item],
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
    metadata: RunMetadata,
    warmup_hours: float = 0.0,
) -> RunSummary:
    """The run's figures from its items.csv rows as Items (`metrics.items_from_rows` of `metrics.item_rows`:
    what the plots read back too); the peak RSS is this process's so far."""
    read_back = items
    window = ObservationWindow(warmup_hours, HORIZON_HOURS, simulated_hours)
    illegal = [i for i in read_back if i.illegal and i.route != "not_illegal" and i.reported is not None]
    in_window = counted(read_back, window)
    removal, lea, ntd = (_survival(in_window, window, event) for event in (_removed_at, _lea_at, _ntd_at))
    delivery = [i.delivered - i.referred for i in items if i.delivered is not None and i.referred is not None]
    routes: dict[str, int] = {}
    for item in items:
        routes[item.route] = routes.get(item.route, 0) + 1
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    members = len(network.members)
    delivery_q = quantiles(delivery)
    return RunSummary(
        scenario=scenario.simulation.name,
        seed=scenario.simulation.seed,
        nodes=members,
        countries=len(scenario.countries),
        reports=len(items),
        planned_reports=workload.planned_count(),
        illegal_items=len(illegal),
        referral_count=sum(1 for i in items if i.referred is not None),
        routes=routes,
        removed=removal.events,
        removed_within_72h_share=removal.within_horizon,
        median_time_to_removal_hours=removal.median_hours,
        window=WindowFacts.of(window, illegal, len(in_window)),
        removal=removal,
        lea_notice=lea,
        ntd=ntd,
        headline=headline(removal, lea, ntd, delivery_q),
        metadata=metadata,
        saturated=False,
        delivery_latency_seconds=delivery_q,
        by_hosting_country=by_hosting_country(in_window, window),
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


def _removed_at(item: Item) -> float | None:
    return item.removed


def _lea_at(item: Item) -> float | None:
    return item.lea


def _ntd_at(item: Item) -> float | None:
    return item.ntd


def _survival(items: list[Item], window: ObservationWindow, event: Callable[[Item], float | None]) -> Survival:
    durations, observed = time_to(items, event, window)
    return estimate(durations, observed, horizon_hours=window.horizon_hours, horizon_observable=window.complete)[0]


def by_hosting_country(items: list[Item], window: ObservationWindow) -> dict[str, CountryRemovals]:
    """Per hosting country, the window's items: counts, and the share removed within the horizon with its interval."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.hosting, []).append(item)
    out: dict[str, CountryRemovals] = {}
    for country, group in sorted(groups.items()):
        durations, observed = time_to(group, _removed_at, window)
        survival = estimate(
            durations, observed, horizon_hours=window.horizon_hours, horizon_observable=window.complete
        )[0]
        out[country] = CountryRemovals(
            illegal=len(group),
            removed=survival.events,
            within_72h=sum(1 for t, seen in zip(durations, observed, strict=True) if seen and t <= HORIZON_HOURS),
            within_72h_share=survival.within_horizon,
            within_72h_low=survival.within_horizon_low,
            within_72h_high=survival.within_horizon_high,
        )
    return out


def headline(removal: Survival, lea: Survival, ntd: Survival, delivery: Quantiles) -> dict[str, float | None]:
    """The figures a sweep or a comparison reads, flat, by key (simulator/README.md lists them)."""
    figures: dict[str, float | None] = {"counted_items": float(removal.n)}
    for name, survival in (("removed", removal), ("lea_notice", lea), ("ntd", ntd)):
        figures[f"{name}_within_72h"] = survival.within_horizon
        figures[f"{name}_within_72h_low"] = survival.within_horizon_low
        figures[f"{name}_within_72h_high"] = survival.within_horizon_high
    for name, survival in (("removal", removal), ("lea_notice", lea), ("ntd", ntd)):
        figures[f"median_{name}_hours"] = survival.median_hours
        figures[f"median_{name}_hours_low"] = survival.median_low_hours
        figures[f"median_{name}_hours_high"] = survival.median_high_hours
    figures["delivery_latency_p50_s"] = delivery.p50
    figures["delivery_latency_p99_s"] = delivery.p99
    return figures


def quantiles(values: list[float]) -> Quantiles:
    """The count, median, 99th percentile and maximum of values, rounded to 0.01."""
    if not values:
        return Quantiles(count=0, p50=None, p99=None, max=None)
    ordered = sorted(values)

    def q(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)

    return Quantiles(count=len(ordered), p50=q(0.5), p99=q(0.99), max=round(ordered[-1], 2))
