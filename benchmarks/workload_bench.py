"""The lazy workload (simulator/world.py): how fast plans are generated from their named streams, how long
counting a year takes, what re-deriving one plan from its URL costs, and that memory stays flat.

    .venv/bin/python -m benchmarks.workload_bench [--plans N]

Writes benchmarks/results/workload.json. The scenario is inhope-2021's network over a year, at its own
volume (785,322 reports a year) and at the 2024 volume (2,497,438).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

from simulator.scenario import load_scenario
from simulator.world import build_workload

RESULTS = Path(__file__).parent / "results" / "workload.json"


def _measure(annual: float, plans: int) -> dict[str, Any]:
    scenario = load_scenario("inhope-2021")
    year = replace(
        scenario,
        simulation=replace(scenario.simulation, duration_hours=365 * 24, max_reports=0, annual_reports=annual),
    )
    workload = build_workload(year)
    started = time.perf_counter()
    count = workload.planned_count()
    count_seconds = time.perf_counter() - started

    started = time.perf_counter()
    sample = list(itertools.islice(workload.iter_reports(), plans))
    per_plan_us = (time.perf_counter() - started) / len(sample) * 1e6

    urls = [p.url for p in sample[:: max(1, len(sample) // 1000)]]
    started = time.perf_counter()
    for url in urls:
        workload.plan_for_url(url)
    per_lookup_us = (time.perf_counter() - started) / len(urls) * 1e6
    del sample

    tracemalloc.start()
    reports = build_workload(year).iter_reports()
    for _ in itertools.islice(reports, plans // 10):
        pass
    _, early = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for _ in itertools.islice(reports, plans):
        pass
    _, late = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "annual_reports": annual,
        "planned_reports_in_a_year": count,
        "planned_count_seconds": round(count_seconds, 2),
        "plans_generated": plans,
        "microseconds_per_plan": round(per_plan_us, 1),
        "projected_seconds_for_the_year": round(per_plan_us * count / 1e6, 1),
        "microseconds_per_plan_for_url": round(per_lookup_us, 1),
        "traced_peak_kib_after_first_tenth": round(early / 1024, 1),
        "traced_peak_kib_over_the_rest": round(late / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=100_000, help="plans generated per measurement")
    args = parser.parse_args()
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": [_measure(annual, args.plans) for annual in (785_322.0, 2_497_438.0)],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
