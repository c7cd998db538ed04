"""Periodic jobs on APScheduler 3: the removal-deadline check. Jobs read time from the node's Clock.

Intervals are in the clock's seconds: under an accelerated clock (the simulator) a job every 60 simulated
seconds runs every 60/scale wall seconds, so deadlines fall due on simulated time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

__all__ = ["NodeScheduler"]

_log = structlog.get_logger(__name__)


class NodeScheduler:
    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._scale = scale
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._jobs: list[str] = []
        self._running: set[asyncio.Task[Any]] = set()

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[Any]], *, now: bool = False) -> None:
        """Run `job` every `seconds`; with `now`, also at once when the scheduler starts."""

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
            **({"next_run_time": datetime.now(UTC)} if now else {}),
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
