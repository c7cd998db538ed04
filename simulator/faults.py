"""Applying a scenario's faults to the running network: crash, partition, latency, loss, revoke or suspend
(a member leaves), a member joining, key rotation, and a rogue member's campaign, each at its simulated time
and undone when its duration ends.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

from node.clock import AcceleratedClock, LoopClock
from simulator.metrics import fault_row
from simulator.network import Network
from simulator.proxy import LinkFault
from simulator.scenario import Fault, Scenario

__all__ = ["apply_fault"]


async def apply_fault(
    scenario: Scenario,
    network: Network,
    clock: AcceleratedClock | LoopClock,
    fault: Fault,
    log: list[dict[str, Any]],
    attacks: list[dict[str, Any]],
) -> None:
    """Wait for the fault's start on the simulated clock, apply it, undo it when its duration ends, and append
    its faults.csv row to `log`; a `rogue` fault appends the campaign's records to `attacks`."""

    async def at(hours: float) -> None:
        wait = (scenario.start + timedelta(hours=hours) - clock.now()).total_seconds() / clock.scale
        if wait > 0:
            await asyncio.sleep(wait)

    def now_s() -> float:
        return round((clock.now() - scenario.start).total_seconds(), 1)

    await at(fault.at_hours)
    start_s = now_s()
    end_h = fault.at_hours + fault.duration_hours
    nodes = list(fault.nodes)
    members = sorted(n.node_id for n in network.members)
    detail = ",".join(nodes)
    if fault.kind == "crash":
        for node in nodes:
            await network.crash(node)
        await at(end_h)
        for node in nodes:
            await network.restart(node)
    elif fault.kind == "partition":
        side_a, side_b = _sides(fault, members, scenario.simulation.seed)
        network.rules.split(side_a, side_b)  # bridge nodes are on neither side: they reach both
        detail = f"{fault.mode}: {'+'.join(side_a)} | {'+'.join(side_b)}"
        if fault.mode == "bridge":
            detail += f" bridged by {'+'.join(nodes)}"
        await at(end_h)
        network.rules.heal()
    elif fault.kind == "latency":
        # Simulated milliseconds, slowed to the wall clock's pace like everything else.
        wall = 1000 * clock.scale
        network.rules.set_default(LinkFault(latency=fault.latency_ms / wall, jitter=fault.jitter_ms / wall))
        detail = f"{fault.latency_ms:g} ms (simulated)"
        await at(end_h)
        network.rules.clear_faults()
    elif fault.kind == "loss":
        network.rules.set_default(LinkFault(loss=min(fault.loss, 0.99)))
        detail = f"{fault.loss:.0%} of segments lost"
        await at(end_h)
        network.rules.clear_faults()
    elif fault.kind in ("revoke", "suspend"):
        status = "revoked" if fault.kind == "revoke" else "suspended"
        for node in nodes:
            version = network.set_status(node, status)
        detail = f"{detail} {status} in roster v{version}"
        if fault.duration_hours > 0:
            await at(end_h)
            for node in nodes:
                network.set_status(node, "full")
    elif fault.kind == "join":
        for node in nodes:
            version = network.join(node)
        detail = f"{detail} joined in roster v{version}"
    elif fault.kind == "rotate_keys":
        for node in nodes:
            version = network.rotate_keys(node)
            await network.crash(node)  # a planned restart to take up the new keys; nothing is lost
            await network.restart(node)
        detail = f"{detail} new keys in roster v{version}"
    elif fault.kind == "rogue":
        from simulator.rogue_campaign import run_campaign

        records = await run_campaign(network, fault, clock, scenario.start)
        attacks.extend(records)
        detail = f"{detail}: {len(records)} messages ({', '.join(fault.attacks)})"
    log.append(fault_row(start_s, fault.kind, detail, now_s() if fault.duration_hours > 0 else None))


def _sides(fault: Fault, members: list[str], seed: int) -> tuple[list[str], list[str]]:
    if fault.mode == "isolate":
        side_a = [n for n in members if n in fault.nodes]
        return side_a, [n for n in members if n not in fault.nodes]
    shuffled = [n for n in members if n not in fault.nodes]
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    return sorted(shuffled[:half]), sorted(shuffled[half:])
