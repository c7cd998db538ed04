"""An asyncio event loop on virtual time, for the simulator's deterministic mode.

`loop.time()` is a number the loop keeps itself, never the wall clock. When every task waits, the loop jumps
straight to the next due timer instead of sleeping, so a simulated week passes as fast as the work in it can
be done, and the order of events depends on the program and its seed alone.

The loop does no real I/O: its selector never waits and never reports a ready socket, and registering any
file descriptor besides the loop's own wake-up pipe raises `RealIoError` (a socket in deterministic mode is
a bug: the nodes exchange through the in-memory transport, the case systems call the servicers in-process).
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from node.aio import InlineExecutor

__all__ = ["Deadlock", "RealIoError", "VirtualTimeLoop", "run_virtual"]

_T = TypeVar("_T")


class RealIoError(RuntimeError):
    """Something tried to wait on a real file descriptor under virtual time."""


class Deadlock(RuntimeError):
    """Every task waits, and no timer will ever wake one: the simulation cannot go on."""


class _VirtualSelector(selectors.BaseSelector):
    """Holds the loop's wake-up pipe and nothing else; `select` advances virtual time instead of waiting."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop
        self._keys: dict[int, selectors.SelectorKey] = {}
        self._open = True  # the first registration is the loop's own wake-up pipe

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        if not self._open:
            raise RealIoError(f"real I/O on {fileobj!r} under virtual time (deterministic mode allows none)")
        self._open = False
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise Deadlock("every task waits and no timer is due: nothing can happen any more")
        self._loop.advance(timeout)
        return []

    def close(self) -> None:
        self._keys.clear()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return dict(self._keys)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """`time()` starts at 0.0 and moves only when the loop would otherwise wait."""

    def __init__(self) -> None:
        self._now = 0.0
        super().__init__(_VirtualSelector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds

    def _write_to_self(self) -> None:
        """call_soon_threadsafe's wake-up: nothing sleeps under virtual time, so there is no one to wake."""

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> asyncio.Future[Any]:  # type: ignore[override]
        if executor is None:
            raise RealIoError("the default thread pool under virtual time: pass an inline executor")
        if type(executor) is not InlineExecutor:
            return super().run_in_executor(executor, func, *args)
        # What the base class does for an inline executor (run the call now, settle the awaited future from a
        # callback on the next turn of the loop), without the concurrent future and its chaining: the same
        # callbacks in the same order, so the same outcomes.
        self._check_closed()  # type: ignore[attr-defined]
        future = self.create_future()
        try:
            result = func(*args)
        except BaseException as error:  # handed to the awaiting coroutine, as the executor's future would
            self.call_soon(_settle_error, future, error)
        else:
            self.call_soon(_settle, future, result)
        return future


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _settle_error(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)


def run_virtual(main: Coroutine[Any, Any, _T]) -> _T:
    """asyncio.run, on a fresh VirtualTimeLoop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)
