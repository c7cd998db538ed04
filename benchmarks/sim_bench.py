"""The simulator at scale, deterministic mode: `inhope-2024` (55 real nodes, 2,497,438 records a year) over a
week, a month or a year of simulated report arrivals.

    python -m benchmarks.sim_bench --span week [--drain-hours 72] [--out-dir benchmarks/results/sim_bench]
    python -m benchmarks.sim_bench --span month
    python -m benchmarks.sim_bench --span year          # the goal: under one hour of wall time
    python -m benchmarks.sim_bench --days 0.5 --label probe   # any other span

One span per process, so that its peak RSS is its own. Reports, for the whole run (start-up, arrivals, drain,
invariants, files and plots) and for the simulated part alone: wall seconds, simulated days per wall minute,
simulated events per wall second (the events the nodes wrote to their own event logs: reports received,
items assessed, routed, referred, actions, status updates...), reports per wall second, the peak RSS, and the
RSS once a simulated day (flat memory means this series stops growing), plus the run's own figures (invariants,
removal within 72 hours). The JSON goes to OUT_DIR/<label>.json; the run directory to a temporary directory
unless --run-dir is given.

The live mode (real sockets at an accelerated clock) is measured by `--mode live --scale 400` on
`inhope-2021`, as before (results/simulator.json).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import platform
import resource
import sqlite3
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from node.logs import configure_logging
from simulator.runner import Progress, RunResult, run_deterministic, run_scenario
from simulator.scenario import Scenario, load_scenario

SPANS = {"week": 7.0, "month": 30.0, "year": 365.0}
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="inhope-2024")
    parser.add_argument("--span", choices=sorted(SPANS), default=None, help="a week, a month or a year of arrivals")
    parser.add_argument("--days", type=float, default=None, help="days of arrivals (instead of --span)")
    parser.add_argument("--label", default=None, help="the result's name (default: the span)")
    parser.add_argument("--drain-hours", type=float, default=72.0)
    parser.add_argument("--mode", choices=("deterministic", "live"), default="deterministic")
    parser.add_argument("--scale", type=float, default=400.0, help="live mode: simulated seconds per wall second")
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results/sim_bench"))
    args = parser.parse_args()
    if (args.span is None) == (args.days is None):
        parser.error("give one of --span or --days")
    days = SPANS[args.span] if args.span else float(args.days)
    label = args.label or args.span or f"{days:g}d"

    scenario = load_scenario(args.scenario)
    scenario = replace(
        scenario,
        simulation=replace(
            scenario.simulation,
            clock_scale=args.scale,
            duration_hours=days * 24,
            drain_hours=args.drain_hours,
        ),
    )
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="sim-bench-")) / "run"
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    figures = measure(scenario, run_dir, live=args.mode == "live")
    figures = {"label": label, "scenario": args.scenario, "arrival_days": days, **figures}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"{label}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if not k.endswith("_by_day")}, indent=2))
    print(f"wrote {out}")


def measure(scenario: Scenario, run_dir: Path, *, live: bool) -> dict[str, Any]:
    os.environ["no_grpc_proxy"] = ""  # noqa: SIM112 - gRPC reads the lower-case name
    log = (run_dir.parent / "nodes.log").open("w")
    configure_logging("json", logging.WARNING, stream=log)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running" is expected
    load_before = os.getloadavg()
    rss_by_day: list[tuple[float, float]] = []
    # (simulated day, CPU seconds so far, reports submitted so far): the CPU a report costs, day by day (a cost
    # that grows with the stores' size shows here, where a whole-run average hides it).
    cpu_by_day: list[tuple[float, float, int]] = []
    running: dict[str, float] = {}

    def on_progress(progress: Progress) -> None:
        now = time.perf_counter()
        if progress.phase == "checking" and "checking_from" not in running:
            # The end of the run begins: the peak so far is the simulation's; the end's own peak is measured
            # from here (the kernel's high-water mark is reset where it allows it).
            running["checking_from"] = now
            running["checking_cpu"] = time.process_time()
            running["simulation_peak"] = _peak_rss_mib()
            running["rss_at_end"] = _rss_mib()
            running["peak_reset"] = float(_reset_peak_rss())
        if progress.phase == "running" and "from" not in running:
            running["from"] = now
        if progress.phase in ("running", "draining"):
            running["to"] = now
            running["hours"] = progress.simulated_hours
        day = progress.simulated_hours / 24
        if not rss_by_day or day >= rss_by_day[-1][0] + 1:
            rss_by_day.append((round(day, 2), _rss_mib()))
            cpu_by_day.append((round(day, 2), round(time.process_time(), 2), progress.submitted))

    started = time.perf_counter()
    try:
        result: RunResult
        if live:
            result = asyncio.run(run_scenario(scenario, run_dir, on_progress=on_progress))
        else:
            result = run_deterministic(scenario, run_dir, on_progress=on_progress)
    finally:
        configure_logging("console", logging.WARNING)
        log.close()
    wall = time.perf_counter() - started
    s = result.run_summary.as_dict()
    events = _node_events(run_dir)
    simulated_days = s["simulated_hours"] / 24
    loop_wall = running.get("to", started) - running.get("from", started)
    loop_days = running.get("hours", 0.0) / 24
    return {
        "mode": "live" if live else "deterministic",
        "nodes": s["nodes"],
        "wall_seconds": round(wall, 1),
        "simulated_days": round(simulated_days, 2),
        "simulated_days_per_wall_minute": round(simulated_days / (wall / 60), 3),
        "node_events": events,
        "simulated_events_per_wall_second": round(events / wall, 1),
        "reports": s["reports"],
        "planned_reports": s["planned_reports"],
        "reports_per_wall_second": round(s["reports"] / wall, 1),
        # The simulated part alone (from the first simulated hour to the end of the drain): no start-up,
        # no reading back, no files or plots.
        "simulation_wall_seconds": round(loop_wall, 1),
        "simulation_days_per_wall_minute": round(loop_days / (loop_wall / 60), 3) if loop_wall > 0 else None,
        "peak_rss_mib": round(max(_peak_rss_mib(), running.get("simulation_peak", 0.0)), 1),
        # The peak while the network ran (start-up, arrivals, drain), the RSS when it stopped, and the peak of
        # the end of the run alone (invariants, items.csv, summary, plots; None where the kernel refused to
        # reset its high-water mark), with the end's wall and CPU seconds.
        "simulation_peak_rss_mib": round(running.get("simulation_peak", 0.0), 1),
        "rss_at_end_of_simulation_mib": round(running.get("rss_at_end", 0.0), 1),
        "end_of_run_peak_rss_mib": round(_peak_rss_mib(), 1) if running.get("peak_reset") else None,
        "end_of_run_wall_seconds": round(time.perf_counter() - running.get("checking_from", started), 1),
        "end_of_run_cpu_seconds": round(time.process_time() - running.get("checking_cpu", 0.0), 1),
        "rss_by_day_mib": rss_by_day,
        "cpu_ms_per_report_by_day": _per_report_by_day(cpu_by_day),
        "cpu_seconds": round(time.process_time(), 1),
        # On a shared machine the process gets what the others leave: CPU time is the figure to compare.
        "simulated_days_per_cpu_minute": round(simulated_days / (time.process_time() / 60), 3),
        "cpu_ms_per_report": round(1000 * time.process_time() / max(1, s["reports"]), 1),
        "referral_count": s["referral_count"],
        "removed_within_72h_share": s["removed_within_72h_share"],
        "invariants_ok": s["invariants_ok"],
        "drained": s["drained"],
        "load_average_at_start": [round(x, 2) for x in load_before],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "run_dir": str(run_dir),
    }


def _per_report_by_day(marks: list[tuple[float, float, int]]) -> list[tuple[float, float | None]]:
    """For each simulated day between two marks: (the day it ends, CPU milliseconds per report submitted in it),
    None for a day without reports (the drain)."""
    out: list[tuple[float, float | None]] = []
    for (_, cpu_a, reports_a), (day, cpu_b, reports_b) in itertools.pairwise(marks):
        reports = reports_b - reports_a
        out.append((day, round(1000 * (cpu_b - cpu_a) / reports, 2) if reports else None))
    return out


def _peak_rss_mib() -> float:
    """The process's peak RSS: the kernel's high-water mark (since the last reset)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux: clear_refs 5); False where refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rss_mib() -> float:
    """The process's resident set now (not its peak), from /proc; 0 where there is none."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return round(pages * _PAGE / 2**20, 1)


def _node_events(run_dir: Path) -> int:
    """Every event the nodes wrote to their own event logs (each node's highest event sequence number)."""
    total = 0
    for database in sorted((run_dir / "nodes").glob("*/node.db")):
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            total += connection.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    return total


if __name__ == "__main__":
    main()
