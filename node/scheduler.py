"""Periodic jobs on APScheduler 3: the removal-deadline check. Jobs read time from the node's Clock.

Intervals are in the clock's seconds: under an accelerated clock (the simulator) a job every 60 simulated
seconds runs every 60/scale wall seconds, so deadlines fall due on simulated time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

__all__ = ["LoopScheduler", "NodeScheduler"]

_log = structlog.get_logger(__name__)


class NodeScheduler:
    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._scale = scale
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._jobs: list[str] = []
        self._running: set[asyncio.Task[Any]] = set()

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[Any]]) -> None:
        async def guarded() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
            except Exception:  # a failing run is logged; the next interval tries again
                _log.exception("scheduler.job_failed", job=name)
            finally:
                if task is not None:
                    self._running.discard(task)

        self._scheduler.add_job(
            guarded,
            "interval",
            seconds=seconds / self._scale,
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._jobs.append(name)

    @property
    def job_names(self) -> list[str]:
        return list(self._jobs)

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self, grace: float = 10.0) -> None:
        """Start no new runs, let the runs under way finish (up to `grace` seconds: their database work
        cannot be interrupted anyway), then shut down. Only a run still going after that is cancelled."""
        if self._scheduler.running:
            self._scheduler.remove_all_jobs()
            if self._running:
                await asyncio.wait(set(self._running), timeout=grace)
            self._scheduler.shutdown(wait=False)
        await asyncio.sleep(0)


class LoopScheduler:
    """NodeScheduler's jobs as plain timers on the running event loop, for a loop on virtual time (the
    simulator's deterministic mode): APScheduler 3 computes its fire times from the wall clock, this runs
    each job every `seconds` of loop time. Same interface and the same guard: a failing run is logged and
    the next interval tries again; a run never overlaps the previous one."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[float, Callable[[], Awaitable[Any]]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[Any]]) -> None:
        if seconds <= 0:
            raise ValueError("the interval must be positive")
        self._jobs[name] = (seconds, job)

    @property
    def job_names(self) -> list[str]:
        return list(self._jobs)

    def start(self) -> None:
        for name, (seconds, job) in self._jobs.items():
            self._tasks.append(asyncio.create_task(self._run(name, seconds, job)))

    async def _run(self, name: str, seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:  # a failing run is logged; the next interval tries again
                _log.exception("scheduler.job_failed", job=name)

    async def stop(self, grace: float = 10.0) -> None:
        """Cancel the timers. Under virtual time a run is never cut off halfway: its database work is inline."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._tasks.clear()
        self._jobs.clear()
