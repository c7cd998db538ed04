"""A smaller version of every bundled scenario, end to end: real nodes on loopback through build_node, real
mutual TLS through the fault proxies, the workload on the accelerated clock, the scenario's faults, and
then every invariant must hold and the run directory must hold its outputs.

The smaller versions cap the reports and run the clock faster; the fault timelines are the bundled ones.
The full runs are `hotline-sim run NAME` (see simulator/README.md).
"""

from __future__ import annotations

import csv
import gc
import json
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from simulator.runner import RunResult, run_scenario
from simulator.scenario import Scenario, load_scenario

pytestmark = pytest.mark.timeout(600)


def _small(name: str, *, reports: int, scale: float, **simulation: float) -> Scenario:
    scenario = load_scenario(name)
    return replace(
        scenario,
        simulation=replace(
            scenario.simulation, max_reports=reports, clock_scale=scale, drain_timeout_seconds=90, **simulation
        ),
    )


def _check_outputs(result: RunResult) -> dict[str, object]:
    assert result.ok, {r.name: r.violations for r in result.invariants if not r.ok}
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["invariants_ok"] is True
    assert summary["drained"] is True
    for key in (
        "referral_count",
        "removed_within_72h_share",
        "median_time_to_removal_hours",
        "nodes",
        "simulated_hours",
    ):
        assert key in summary
    assert summary["referral_count"] > 0
    host = json.loads((result.run_dir / "host.json").read_text())  # the host's facts, apart from the results
    assert "wall_seconds" not in summary and host["wall_seconds"] > 0
    lag = host["event_loop_lag"]
    assert lag["samples"] > 0 and 0 <= lag["p50_ms"] <= lag["p99_ms"] <= lag["max_ms"]
    assert isinstance(lag["saturated"], bool)
    # The run froze the nodes it built out of the collector's sight while it ran, and gave them back after.
    assert gc.get_freeze_count() == 0
    resolved = tomllib.loads((result.run_dir / "scenario.resolved.toml").read_text())
    assert resolved["simulation"]["name"] == summary["scenario"]
    with (result.run_dir / "items.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["reports"]
    assert all("://" not in value for row in rows for value in row.values())  # no URL in the metrics
    for plot in ("time_to_removal", "removed_within_72h", "referrals_backlog", "delivery_latency"):
        assert (result.run_dir / f"{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return summary


async def test_demo_carries_reports_from_intake_to_removal_through_a_crash_and_a_partition(tmp_path: Path) -> None:
    result = await run_scenario(_small("demo", reports=60, scale=6000), tmp_path / "run")
    summary = _check_outputs(result)
    assert summary["node_crashes"] == 1
    assert summary["removed"] > 0
    routes = summary["routes"]
    assert isinstance(routes, dict)
    assert routes.get("referral", 0) > 0 and routes.get("domestic", 0) > 0
    faults = (result.run_dir / "faults.csv").read_text()
    assert "crash" in faults and "partition" in faults


async def test_partitions_latency_and_loss_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    result = await run_scenario(_small("partition", reports=50, scale=8000), tmp_path / "run")
    _check_outputs(result)
    kinds = {row["kind"] for row in csv.DictReader((result.run_dir / "faults.csv").open())}
    assert kinds == {"partition", "latency", "loss"}


async def test_suspension_rotation_and_revocation_by_roster_update_hold_messages(tmp_path: Path) -> None:
    result = await run_scenario(_small("revocation", reports=50, scale=8000), tmp_path / "run")
    summary = _check_outputs(result)
    assert summary["roster_version"] == 5  # v1, suspend, reinstate, rotate, revoke


async def test_a_rogue_member_is_rejected_every_time_and_changes_nothing(tmp_path: Path) -> None:
    result = await run_scenario(_small("rogue-member", reports=40, scale=8000), tmp_path / "run")
    summary = _check_outputs(result)
    rogue = next(r for r in result.invariants if r.name == "rogue_rejected")
    assert rogue.checked == summary["rogue_messages"] > 10
    statuses = {row["status"] for row in csv.DictReader((result.run_dir / "attacks.csv").open())}
    assert "REJECTED" in statuses and "DUPLICATE" in statuses


async def test_inhope_2021_runs_46_nodes(tmp_path: Path) -> None:
    result = await run_scenario(
        _small("inhope-2021", reports=80, scale=3000, duration_hours=6, drain_hours=24), tmp_path / "run"
    )
    summary = _check_outputs(result)
    assert summary["nodes"] == 46
