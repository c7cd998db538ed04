"""Periodic jobs on APScheduler 3: the removal-deadline check. Jobs read time from the node's Clock.

Each run's outcome reaches `on_run(job, outcome)` (the node's metrics) from an APScheduler listener: ok, failed
(the job raised: logged here, and run again at the next interval), cancelled (stopped mid-run), missed (not
run at its time) or skipped (the previous run still going).

Intervals are in the clock's seconds: under an accelerated clock (the simulator) a job every 60 simulated
seconds runs every 60/scale wall seconds, so deadlines fall due on simulated time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

__all__ = ["LoopScheduler", "NodeScheduler"]

_log = structlog.get_logger(__name__)


_OK, _FAILED = "ok", "failed"
_OUTCOMES = {EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "skipped"}


class NodeScheduler:
    def __init__(self, scale: float = 1.0, on_run: Callable[[str, str], None] | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._scale = scale
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        if on_run is not None:
            self._scheduler.add_listener(
                functools.partial(_report, on_run),
                EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES,
            )
        self._jobs: list[str] = []
        self._running: set[asyncio.Task[Any]] = set()

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[Any]], *, now: bool = False) -> None:
        """Run `job` every `seconds`; with `now`, also at once when the scheduler starts."""

        async def guarded() -> str:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
                return _OK
            except Exception:  # a failing run is logged; the next interval tries again
                _log.exception("scheduler.job_failed", job=name)
                return _FAILED
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


def _report(on_run: Callable[[str, str], None], event: JobEvent) -> None:
    """An APScheduler event as (job, outcome). A run's own failures end it normally (`guarded` returns the
    outcome); only a cancellation reaches APScheduler as an error."""
    if event.code == EVENT_JOB_EXECUTED and isinstance(event, JobExecutionEvent):
        outcome = str(event.retval)
    elif event.code == EVENT_JOB_ERROR:
        outcome = "cancelled" if isinstance(getattr(event, "exception", None), asyncio.CancelledError) else _FAILED
    else:
        outcome = _OUTCOMES.get(event.code, "other")
    on_run(str(event.job_id), outcome)


class LoopScheduler:
    """NodeScheduler's jobs as plain timers on the running event loop, for a loop on virtual time (the
    simulator's deterministic mode): APScheduler 3 computes its fire times from the wall clock, this runs
    each job every `seconds` of loop time. Same interface and the same guard: a failing run is logged and
    the next interval tries again; a run never overlaps the previous one."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[float, Callable[[], Awaitable[Any]], bool]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[Any]], *, now: bool = False) -> None:
        """Run `job` every `seconds`; with `now`, also at once when the scheduler starts."""
        if seconds <= 0:
            raise ValueError("the interval must be positive")
        self._jobs[name] = (seconds, job, now)

    @property
    def job_names(self) -> list[str]:
        return list(self._jobs)

    def start(self) -> None:
        for name, (seconds, job, now) in self._jobs.items():
            self._tasks.append(asyncio.create_task(self._run(name, seconds, job, now)))

    async def _run(self, name: str, seconds: float, job: Callable[[], Awaitable[Any]], now: bool) -> None:
        first = True
        while True:
            if not (first and now):
                await asyncio.sleep(seconds)
            first = False
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
