"""Small asyncio helpers the node's long-running loops share."""

from __future__ import annotations

import asyncio

__all__ = ["wait_event"]


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set.

    On Python 3.11, `asyncio.wait_for` can swallow a cancellation that arrives just as the awaited
    future completes, so a loop built on it may never stop. `asyncio.timeout` propagates it."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
