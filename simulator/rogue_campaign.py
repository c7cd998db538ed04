"""A `rogue` fault: the rogue member attacks the well-behaved members over real mutual TLS, and each answer
is recorded with the outcomes the invariant checker accepts for it."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from node.clock import AcceleratedClock, LoopClock
from simulator.network import Network
from simulator.rogue import LEGITIMATE, RogueMember, expected_outcome, load_membership
from simulator.scenario import Fault

__all__ = ["run_campaign"]


async def run_campaign(
    network: Network, fault: Fault, clock: AcceleratedClock | LoopClock, start: datetime
) -> list[dict[str, Any]]:
    rosters = [(network.run_dir / f"roster-{v}.signed").read_bytes() for v in range(1, network.roster_version + 1)]
    membership = load_membership(rosters, clock.now())
    records: list[dict[str, Any]] = []
    for rogue_id in fault.nodes:
        node = network.nodes[rogue_id]
        assert node.keys is not None and node.proxy is not None
        targets = list(fault.targets) or [n.node_id for n in network.members]
        rogue = RogueMember(rogue_id, node.keys, lambda: membership, clock, proxy=f"127.0.0.1:{node.proxy.port}")
        async with rogue:
            sent = await rogue.run_campaign(targets, list(fault.attacks), random.Random(f"rogue-{rogue_id}"))
        t_s = round((clock.now() - start).total_seconds(), 1)
        for record in sent:
            records.append(
                {
                    "t_s": t_s,
                    "kind": record.kind,
                    "target": record.target,
                    "message_id": record.message_id,
                    "status": record.status,
                    "reason_code": record.reason_code,
                    "detail": record.detail,
                    "expected": set(expected_outcome(record.kind)),
                    "legitimate": record.kind == LEGITIMATE,
                }
            )
    return records
