"""How far the shared event loop falls behind: when it is busy, every node, proxy and case system waits, and
simulated time keeps running, so measured latencies grow with the load on this machine, not the network."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SATURATED_SIMULATED_SECONDS", "LoopLag"]

# Above this p99 lag (in simulated seconds) a run's latencies say more about this machine than the network.
SATURATED_SIMULATED_SECONDS = 60.0


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

    def summary(self, clock_scale: float) -> dict[str, Any]:
        """Lag quantiles in wall milliseconds, the p99 in simulated seconds, and whether the run saturated."""
        if not self.samples:
            return {
                "samples": 0,
                "p50_ms": None,
                "p99_ms": None,
                "max_ms": None,
                "p99_simulated_s": None,
                "saturated": False,
            }
        ordered = sorted(self.samples)

        def q(fraction: float) -> float:
            return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

        p99_simulated = q(0.99) * clock_scale
        return {
            "samples": len(ordered),
            "p50_ms": round(q(0.5) * 1000, 1),
            "p99_ms": round(q(0.99) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
            "p99_simulated_s": round(p99_simulated, 1),
            "saturated": p99_simulated > SATURATED_SIMULATED_SECONDS,
        }
