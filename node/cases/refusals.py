"""The details a refusal about an item's state carries for a program (google.rpc.ErrorInfo.metadata).

Keys, as errors.proto documents them: "state" (the item's state), "allowed_states" (the states the request
needs, comma-separated), "hold_until" (when an active LEA hold ends; "released" if it lasts until released),
"assigned_node" (the node assigned to the item). States are ItemState names without the ITEM_STATE_ prefix.
"""

from __future__ import annotations

from collections.abc import Iterable

from node.cases.model import Hold, ItemState

__all__ = ["hold_metadata", "state_metadata"]


def state_metadata(state: ItemState, allowed: Iterable[ItemState] = ()) -> dict[str, str]:
    metadata = {"state": str(state)}
    wanted = ",".join(str(s) for s in allowed)
    if wanted:
        metadata["allowed_states"] = wanted
    return metadata


def hold_metadata(hold: Hold) -> dict[str, str]:
    return {"hold_until": hold.until.isoformat() if hold.until else "released"}
