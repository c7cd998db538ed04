"""Small asyncio helpers the node's long-running loops share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

__all__ = ["InlineExecutor", "wait_event"]

_T = TypeVar("_T")


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


class InlineExecutor(Executor):
    """Runs each submitted call at once, on the caller's thread. The simulator's deterministic mode uses it
    for a node's database work, so that the order of events depends on the seed alone, never on threads."""

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the awaiting coroutine, as a thread pool would
            future.set_exception(error)
        return future
