"""Time is injected: every component reads it from a Clock, never from datetime.now() directly.

Production uses SystemClock. Tests use ManualClock; the simulator uses an accelerated clock, so that a
72-hour deadline can pass in seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["AcceleratedClock", "Clock", "LoopClock", "ManualClock", "OffsetClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += delta
            return self._now


class AcceleratedClock:
    """Simulated time that runs `scale` times faster than the wall clock, from `start`.

    Every node of a simulated network shares one instance, so they agree on the time to the microsecond.
    """

    def __init__(self, start: datetime, scale: float, *, running: bool = True) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._start = start
        self._scale = scale
        self._origin: float | None = time.monotonic() if running else None

    @property
    def scale(self) -> float:
        return self._scale

    def run(self) -> None:
        """Let a clock made with running=False start moving (the simulator holds time still while it
        builds its nodes, so that start-up takes no simulated time)."""
        if self._origin is None:
            self._origin = time.monotonic()

    def now(self) -> datetime:
        if self._origin is None:
            return self._start
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self._scale)

    def wall_seconds(self, simulated: timedelta) -> float:
        """How long `simulated` takes on the wall clock."""
        return simulated.total_seconds() / self._scale


class LoopClock:
    """The time of an event loop, from `start`: under the simulator's virtual-time loop, simulated time that
    moves only when every task waits. Timers on that loop (asyncio.sleep, the scheduler's jobs) run on the
    same time, so a clock second is a loop second (`scale` 1)."""

    scale = 1.0

    def __init__(self, loop: asyncio.AbstractEventLoop, start: datetime) -> None:
        self._loop = loop
        self._start = start
        self._origin = loop.time()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._loop.time() - self._origin)

    def monotonic(self) -> float:
        """The loop's own seconds, for what would time itself with time.monotonic (caches, say)."""
        return self._loop.time()

    def wall_seconds(self, simulated: timedelta) -> float:
        """How long `simulated` takes in loop seconds (the same)."""
        return simulated.total_seconds()


class OffsetClock:
    """Another clock, set `offset` ahead (or behind, when negative): a node whose clock is wrong. The offset
    can be changed, as an operator correcting the clock would; unlike ManualClock, it may step back."""

    def __init__(self, base: Clock, offset: timedelta = timedelta(0)) -> None:
        self._base = base
        self.offset = offset

    def now(self) -> datetime:
        return self._base.now() + self.offset
