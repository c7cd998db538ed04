"""A RunSummary for tests of what prints or draws one, without running a network."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from simulator.run_metadata import CodeVersion, RunMetadata
from simulator.summary import DriverCounts, Quantiles, RunSummary, WindowFacts
from simulator.survival import HORIZON_HOURS, ObservationWindow, Survival

REMOVAL = Survival(
    n=1,
    events=1,
    censored=0,
    within_horizon=1.0,
    within_horizon_low=0.025,
    within_horizon_high=1.0,
    median_hours=2.0,
    median_low_hours=2.0,
    median_high_hours=None,
    median_reached=True,
)


def make_summary(**changes: Any) -> RunSummary:
    window = ObservationWindow(0.0, HORIZON_HOURS, 90.0)
    summary = RunSummary(
        scenario="tiny",
        seed=3,
        nodes=2,
        countries=2,
        reports=1,
        planned_reports=1,
        illegal_items=1,
        referral_count=1,
        routes={"referral": 1},
        removed=1,
        removed_within_72h_share=1.0,
        median_time_to_removal_hours=2.0,
        window=WindowFacts(
            warmup_hours=0.0,
            cooldown_hours=HORIZON_HOURS,
            horizon_hours=HORIZON_HOURS,
            end_hours=90.0,
            first_report_hours=0.0,
            last_report_hours=18.0,
            complete=True,
            note=window.note(),
            counted=1,
            excluded_warmup=0,
            excluded_cooldown=0,
        ),
        removal=REMOVAL,
        lea_notice=REMOVAL,
        ntd=REMOVAL,
        headline={},
        metadata=RunMetadata("tiny", 3, "live", 8100.0, {}, CodeVersion("0.1.0", None, None)),
        saturated=False,
        delivery_latency_seconds=Quantiles(count=1, p50=9.9, p99=20.0, max=20.0),
        by_hosting_country={},
        invariants={},
        invariants_ok=True,
        drained=True,
        simulated_hours=90.0,
        wall_seconds=4.0,
        speedup=8100.0,
        cpu_seconds=2.0,
        peak_rss_mib=100.0,
        rss_per_node_mib=50.0,
        clock_scale=8100.0,
        driver=DriverCounts(retries=0, refused={}),
        node_crashes=0,
        roster_version=1,
        rogue_messages=0,
        pid=1,
    )
    return replace(summary, **changes)
