"""The serving process's heap, frozen once it has started."""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_heap"]


def freeze_startup_heap() -> None:
    """Collect once, then move every object that exists now (modules, engines, servers, keys) into the
    garbage collector's permanent generation. Full collections then scan only what was built since, so they
    pause the event loop for far less: with the simulator's 46 nodes in one process, from 0.3-0.5 s to about
    0.1 s. Call it once the process has started serving; `gc.unfreeze()` undoes it."""
    gc.collect()
    gc.freeze()
