"""How far the shared event loop falls behind: when it is busy, every node, proxy and case system waits, and
simulated time keeps running, so measured latencies grow with the load on this machine, not the network."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SATURATED_CPU_CORES", "SATURATED_SIMULATED_SECONDS", "LoopLag"]

# Above this p99 lag (in simulated seconds) a run's latencies say more about this machine than the network.
SATURATED_SIMULATED_SECONDS = 60.0
# At or above this many cores of process CPU while the clock runs, the one process is at the GIL's limit: the
# loop may still wake its timers on time, but work queues for the GIL and the nodes' database threads. A rule
# of thumb from inhope-2021 on a 2-core machine: 0.48 cores at 400x gave a delivery p50 of 6.5 simulated
# seconds; 1.08 cores at 800x gave 541 s with a p99 loop lag of only 20 simulated seconds.
SATURATED_CPU_CORES = 0.9


@dataclass
class LoopLag:
    """Sleeps `interval` wall seconds at a time and records how much later than asked the loop woke it."""

    interval: float = 0.05
    samples: list[float] = field(default_factory=list)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, loop.time() - asked))

    def summary(self, clock_scale: float, cpu_cores: float | None = None) -> dict[str, Any]:
        """Lag quantiles in wall milliseconds, the p99 in simulated seconds, the process's CPU in cores while
        the clock ran, and whether the run saturated, with the reasons (`loop_lag`, `cpu`)."""
        reasons = ["cpu"] if cpu_cores is not None and cpu_cores >= SATURATED_CPU_CORES else []
        cores = None if cpu_cores is None else round(cpu_cores, 2)
        if not self.samples:
            return {
                "samples": 0,
                "p50_ms": None,
                "p99_ms": None,
                "max_ms": None,
                "p99_simulated_s": None,
                "cpu_cores": cores,
                "saturated": bool(reasons),
                "saturated_by": reasons,
            }
        ordered = sorted(self.samples)

        def q(fraction: float) -> float:
            return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

        p99_simulated = q(0.99) * clock_scale
        if p99_simulated > SATURATED_SIMULATED_SECONDS:
            reasons.insert(0, "loop_lag")
        return {
            "samples": len(ordered),
            "p50_ms": round(q(0.5) * 1000, 1),
            "p99_ms": round(q(0.99) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
            "p99_simulated_s": round(p99_simulated, 1),
            "cpu_cores": cores,
            "saturated": bool(reasons),
            "saturated_by": reasons,
        }
