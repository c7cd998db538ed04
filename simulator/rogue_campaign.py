"""A `rogue` fault: the rogue member attacks the well-behaved members (live: over real mutual TLS through its
fault proxy; deterministic: through the in-memory network to each victim's receiver), and each answer is
recorded with the outcomes the invariant checker accepts for it."""

from __future__ import annotations

import random
from collections.abc import Callable
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
    named = _key_names(network)
    for rogue_id in fault.nodes:
        node = network.nodes[rogue_id]
        assert node.keys is not None
        targets = list(fault.targets) or [n.node_id for n in network.members]
        if network.deterministic:
            rogue = RogueMember(rogue_id, node.keys, lambda: membership, clock, local=network.receiver)
        else:
            assert node.proxy is not None
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
                    "detail": named(record.detail),
                    "expected": set(expected_outcome(record.kind)),
                    "legitimate": record.kind == LEGITIMATE,
                }
            )
    return records


def _key_names(network: Network) -> Callable[[str], str]:
    """Name the members' keys in a victim's answer ("ed25519:<de-hotline signing 1>" for its key id): the
    keys are random, the names are not, so attacks.csv depends on the seed alone."""
    names: dict[str, str] = {}
    for node in network.nodes.values():
        if node.keys is None:
            continue
        for n, key in enumerate([*node.keys.signing, *node.keys.retired_signing], 1):
            names[key.key_id.split(":")[-1]] = f"<{node.node_id} signing {n}>"
        for n, hpke in enumerate(node.keys.hpke, 1):
            names[hpke.key_id.split(":")[-1]] = f"<{node.node_id} hpke {n}>"

    def named(text: str) -> str:
        for key_id, name in names.items():
            text = text.replace(key_id, name)
        return text

    return named
