"""The case systems' flows while they wait: an item whose provider takes days to answer is a small record on a
loop timer (`simulator.driver._Work`), not a suspended task with its chain of coroutine frames, so the memory
of a long run grows with the items in flight by a few hundred bytes each, not kilobytes."""

from __future__ import annotations

import asyncio
import gc
import tomllib
from pathlib import Path

import pytest

from simulator import driver
from simulator.runner import Progress, run_deterministic
from simulator.scenario import parse_scenario
from tests.simulator.small_scenarios import Place, tiny_network

pytestmark = pytest.mark.timeout(120)

# Providers answer after some five days: once the reports are in, every item waits for its answer.
SLOW_PROVIDERS = tiny_network(
    "slow-providers",
    [Place("NL", 0.5, 0.5, 120), Place("DE", 0.5, 0.5, 120)],
    seed=11,
    duration_hours=6,
    drain_hours=30,
    max_reports=24,
    sample_minutes=240,
)
# The coroutines of an item's flow (the watchers of the event streams and the report form are not).
_FLOWS = {"CaseSystems._report", "CaseSystems._take_on", "CaseSystems._assignee", "CaseSystems._run"}


def test_an_item_waiting_for_its_provider_is_a_parked_record_not_a_task(tmp_path: Path) -> None:
    counts: list[tuple[float, int, int]] = []

    def look(progress: Progress) -> None:
        if progress.phase != "draining":
            return
        flows = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ in _FLOWS]  # type: ignore[union-attr]
        parked = [o for o in gc.get_objects() if isinstance(o, driver._Work)]
        counts.append((progress.simulated_hours, len(flows), len(parked)))

    result = run_deterministic(parse_scenario(tomllib.loads(SLOW_PROVIDERS)), tmp_path / "run", on_progress=look)

    assert result.ok, {r.name: r.violations for r in result.invariants if not r.ok}
    assert counts, "the run never reported its drain"
    # Hours into the drain, the items are all waiting for their providers: parked, with no task among them.
    late = [(flows, parked) for hours, flows, parked in counts if hours >= 20]
    assert late and min(parked for _, parked in late) >= 10, counts
    assert max(flows for flows, _ in late) == 0, counts
