"""The event-loop lag monitor: a loop blocked by a slow callback shows up as lag, and a run whose p99 lag is
more than a minute of simulated time is flagged as saturated."""

from __future__ import annotations

import asyncio
import time

from simulator.lag import SATURATED_SIMULATED_SECONDS, LoopLag


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
    assert LoopLag().summary(clock_scale=3000) == {
        "samples": 0,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
        "p99_simulated_s": None,
        "saturated": False,
    }
