"""The scheduler: a started node escalates overdue items by itself, and a failing job is logged and retried."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
import structlog

from node.app import Node
from node.cases.model import ActionType, Assessment, Classification
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.scheduler import NodeScheduler
from tests.conftest import ANALYST, INTAKE

POLL_SECONDS = 0.02
POLL_LIMIT = 250  # up to about five seconds


async def eventually(condition: Callable[[], bool]) -> bool:
    for _ in range(POLL_LIMIT):
        if condition():
            return True
        await asyncio.sleep(POLL_SECONDS)
    return condition()


def escalations(node: Node, item_id: str) -> list[str]:
    return [e.kind for e in node.cases.timeline(item_id) if e.kind == "deadline.escalated"]


async def test_a_started_node_escalates_an_overdue_item_by_itself(
    make_node: Callable[..., Node], database_url: str, clock: ManualClock
) -> None:
    node = make_node(database_url, deadline_check_seconds=0.05)
    (reported,) = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/sched"),))).items
    item_id = reported.item_id
    node.cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL))
    node.cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED))
    node.cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED))

    runs: list[list[str]] = []
    escalate = node.cases.escalate_overdue

    def counted(limit: int = 500) -> list[str]:
        result = escalate(limit)
        runs.append(result)
        return result

    node.cases.escalate_overdue = counted  # type: ignore[method-assign]
    await node.start()
    try:
        assert await eventually(lambda: len(runs) >= 2), "the deadline job never ran"
        assert escalations(node, item_id) == []  # the job ran, but nothing is due yet
        clock.advance(timedelta(hours=72))
        assert await eventually(lambda: escalations(node, item_id) != []), "no escalation"
        done = len(runs)
        assert await eventually(lambda: len(runs) >= done + 2)
    finally:
        await node.stop(grace=0)
    assert escalations(node, item_id) == ["deadline.escalated"]  # later runs did not escalate it again
    assert sum(len(r) for r in runs) == 1
    assert node.cases.get_item(item_id).escalated_at == clock.now()


async def test_a_failing_job_is_logged_and_runs_again() -> None:
    scheduler = NodeScheduler()
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the first run fails")

    with structlog.testing.capture_logs() as logs:
        scheduler.every(0.03, "flaky-job", flaky)
        assert scheduler.job_names == ["flaky-job"]
        scheduler.start()
        try:
            assert await eventually(lambda: calls >= 3), f"the job stopped after {calls} run(s)"
        finally:
            await scheduler.stop()
    failures = [entry for entry in logs if entry["event"] == "scheduler.job_failed"]
    assert len(failures) == 1
    assert failures[0]["job"] == "flaky-job" and failures[0]["log_level"] == "error"
    assert failures[0].get("exc_info") is True


async def test_runs_of_one_job_never_overlap() -> None:
    scheduler = NodeScheduler()
    running = 0
    most = 0
    finished = 0

    async def slow() -> None:
        nonlocal running, most, finished
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.12)  # longer than the interval
        running -= 1
        finished += 1

    scheduler.every(0.03, "slow-job", slow)
    scheduler.start()
    try:
        assert await eventually(lambda: finished >= 2)
    finally:
        await scheduler.stop()
    assert most == 1


async def test_stop_lets_a_run_under_way_finish_and_starts_no_new_one() -> None:
    """A node stopping while its deadline check runs used to cancel the run mid-way, and APScheduler logged
    the cancellation as the job raising an exception."""
    scheduler = NodeScheduler()
    started = asyncio.Event()
    release = asyncio.Event()
    runs: list[str] = []

    async def check() -> None:
        runs.append("started")
        started.set()
        await release.wait()
        runs.append("finished")

    scheduler.every(0.03, "deadline-check", check)
    scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.1)  # three intervals: no new run may start while the stop waits
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert runs == ["started", "finished"]


async def test_stopping_a_scheduler_that_never_started_is_harmless() -> None:
    scheduler = NodeScheduler()
    scheduler.every(60, "idle", lambda: asyncio.sleep(0))
    await scheduler.stop()
    assert scheduler.job_names == ["idle"]


async def test_intervals_are_in_the_clocks_seconds_under_an_accelerated_clock() -> None:
    scheduler = NodeScheduler(scale=3600)  # one simulated hour per wall second
    calls = 0

    async def job() -> None:
        nonlocal calls
        calls += 1

    scheduler.every(60, "every-simulated-minute", job)  # 1/60 s of wall time
    scheduler.start()
    try:
        assert await eventually(lambda: calls >= 3), f"ran {calls} time(s)"
    finally:
        await scheduler.stop()
    with pytest.raises(ValueError, match="positive"):
        NodeScheduler(scale=0)


async def test_each_runs_outcome_reaches_the_listener() -> None:
    """The metrics' feed (an APScheduler listener): a run that raised is `failed`, the others `ok`."""
    outcomes: list[tuple[str, str]] = []
    scheduler = NodeScheduler(on_run=lambda job, outcome: outcomes.append((job, outcome)))
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the first run fails")

    scheduler.every(0.03, "flaky-job", flaky)
    scheduler.start()
    try:
        assert await eventually(lambda: len(outcomes) >= 3)
    finally:
        await scheduler.stop()
    assert outcomes[0] == ("flaky-job", "failed")
    assert set(outcomes[1:]) == {("flaky-job", "ok")}
