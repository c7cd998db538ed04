"""The event-loop lag monitor: a loop blocked by a slow callback shows up as lag, and a run is flagged as
saturated when its p99 lag is more than a minute of simulated time, or when the one process used most of a
core while the clock ran (the GIL's limit). The summary printed at the end says which."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from simulator import cli
from simulator.lag import SATURATED_CPU_CORES, SATURATED_SIMULATED_SECONDS, LoopLag
from simulator.runner import RunResult
from simulator.summary import RunSummary
from tests.simulator.summaries import make_summary


async def test_a_blocked_loop_shows_as_lag() -> None:
    lag = LoopLag(interval=0.01)
    task = asyncio.create_task(lag.run())
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # noqa: ASYNC251 - on purpose: a callback that holds the loop, as a transaction run on it would
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert max(lag.samples) >= 0.25
    summary = lag.summary(clock_scale=3000)
    assert summary["max_ms"] >= 250 and summary["samples"] == len(lag.samples)


def test_saturation_is_judged_in_simulated_seconds() -> None:
    lag = LoopLag(samples=[0.001] * 98 + [0.05, 0.05])  # p99 50 ms of wall time
    calm = lag.summary(clock_scale=100)  # 5 simulated seconds
    busy = lag.summary(clock_scale=3000)  # 150 simulated seconds
    assert (calm["p99_ms"], calm["p99_simulated_s"], calm["saturated"]) == (50.0, 5.0, False)
    assert (busy["p99_simulated_s"], busy["saturated"]) == (150.0, True)
    assert busy["p99_simulated_s"] > SATURATED_SIMULATED_SECONDS > calm["p99_simulated_s"]
    assert busy["saturated_by"] == ["loop_lag"] and calm["saturated_by"] == []
    assert LoopLag().summary(clock_scale=3000) == {
        "samples": 0,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
        "p99_simulated_s": None,
        "cpu_cores": None,
        "saturated": False,
        "saturated_by": [],
    }


def test_a_process_at_the_gils_limit_is_saturated_even_when_its_timers_run_on_time() -> None:
    """inhope-2021 at 800x: the loop woke its timers within 20 simulated seconds at p99, but the process used
    1.08 cores and a referral's delivery took 541 simulated seconds at the median (6.5 s at 400x, 0.48 cores)."""
    lag = LoopLag(samples=[0.001] * 98 + [0.025] * 2)
    at_400 = lag.summary(clock_scale=400, cpu_cores=0.48)
    at_800 = lag.summary(clock_scale=800, cpu_cores=1.08)
    assert (at_400["cpu_cores"], at_400["saturated"], at_400["saturated_by"]) == (0.48, False, [])
    assert (at_800["p99_simulated_s"], at_800["saturated"], at_800["saturated_by"]) == (20.0, True, ["cpu"])
    assert 0.48 < SATURATED_CPU_CORES <= 1.08
    both = LoopLag(samples=[0.2] * 10).summary(clock_scale=800, cpu_cores=1.5)
    assert both["saturated_by"] == ["loop_lag", "cpu"]


def _summary(lag: dict[str, Any]) -> RunSummary:
    return make_summary(event_loop_lag=lag)


@pytest.mark.parametrize(
    ("lag", "expected"),
    [
        (LoopLag(samples=[0.001] * 100).summary(800, cpu_cores=0.5), None),
        (LoopLag(samples=[0.001] * 98 + [0.025] * 2).summary(800, cpu_cores=1.08), "used 1.08 cores"),
        (LoopLag(samples=[0.3] * 100).summary(800, cpu_cores=0.5), "ran 300 ms late at p99, 240 simulated"),
    ],
)
def test_the_printed_summary_says_why_a_run_fell_behind(
    monkeypatch: pytest.MonkeyPatch, lag: dict[str, Any], expected: str | None
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli, "_console", Console(file=out, width=400))
    cli._print_summary(RunResult(Path("run"), _summary(lag)))
    printed = out.getvalue()
    assert "event-loop lag p50 / p99" in printed
    if expected is None:
        assert "fell behind" not in printed
    else:
        assert "fell behind" in printed and expected in printed
