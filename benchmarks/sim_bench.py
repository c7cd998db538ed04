"""The simulator at scale: `inhope-2021` (46 real nodes) over seven simulated days at the 2023 volume.

    python -m benchmarks.sim_bench [--scale 400] [--days 7] [--drain-hours 24] [--out benchmarks/results/simulator.json]

Reports the wall time, the speed-up over real time (goal: at least 100x), memory (the process's peak RSS
and per node), CPU time, and the run's own figures (reports, referrals, removal within 72 h, invariants).
The run directory (CSV files, plots) goes to a temporary directory unless --run-dir is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from node.logs import configure_logging
from simulator.runner import run_scenario
from simulator.scenario import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="inhope-2021")
    parser.add_argument(
        "--scale", type=float, default=400.0, help="simulated seconds per wall second (400: faithful on 2 cores)"
    )
    parser.add_argument("--days", type=float, default=7.0, help="simulated days of report arrivals")
    parser.add_argument("--drain-hours", type=float, default=24.0)
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/simulator.json"))
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    scenario = replace(
        scenario,
        simulation=replace(
            scenario.simulation,
            clock_scale=args.scale,
            duration_hours=args.days * 24,
            drain_hours=args.drain_hours,
        ),
    )
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="sim-bench-")) / "run"
    os.environ["no_grpc_proxy"] = ""  # noqa: SIM112 - gRPC reads the lower-case name
    log = (run_dir.parent / "nodes.log").open("w")
    configure_logging("json", logging.WARNING, stream=log)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running" is expected
    load_before = os.getloadavg()
    try:
        result = asyncio.run(run_scenario(scenario, run_dir))
    finally:
        configure_logging("console", logging.WARNING)
        log.close()
    s = result.run_summary.as_dict()  # the summary.json form
    figures: dict[str, Any] = {
        "scenario": args.scenario,
        "nodes": s["nodes"],
        "clock_scale": args.scale,
        "simulated_hours": s["simulated_hours"],
        "arrival_days": args.days,
        "wall_seconds": s["wall_seconds"],
        "speedup_over_real_time": s["speedup"],
        "goal_speedup": 100,
        "cpu_seconds": s["cpu_seconds"],
        "peak_rss_mib": s["peak_rss_mib"],
        "rss_per_node_mib": s["rss_per_node_mib"],
        "reports": s["reports"],
        "planned_reports": s["planned_reports"],
        "referral_count": s["referral_count"],
        "removed_within_72h_share": s["removed_within_72h_share"],
        "median_time_to_removal_hours": s["median_time_to_removal_hours"],
        "delivery_latency_seconds": s["delivery_latency_seconds"],
        "event_loop_lag": s.get("event_loop_lag"),
        "invariants_ok": s["invariants_ok"],
        "drained": s["drained"],
        "driver": s["driver"],
        "load_average_at_start": [round(x, 2) for x in load_before],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "run_dir": str(run_dir),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
