"""The virtual-time loop: time moves only when every task waits, straight to the next timer; no real I/O."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import pytest

from node.aio import InlineExecutor
from node.clock import LoopClock
from node.scheduler import LoopScheduler
from simulator.virtual_loop import Deadlock, RealIoError, run_virtual

START = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_week_of_sleeps_passes_in_order_at_once() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        order: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await asyncio.sleep(seconds)
            order.append((name, loop.time()))

        await asyncio.gather(sleeper("week", 7 * 86400), sleeper("hour", 3600), sleeper("now", 0))
        return order

    assert run_virtual(main()) == [("now", 0.0), ("hour", 3600.0), ("week", 604800.0)]


def test_the_loop_clock_and_the_scheduler_run_on_loop_time() -> None:
    async def main() -> tuple[datetime, list[datetime]]:
        clock = LoopClock(asyncio.get_running_loop(), START)
        runs: list[datetime] = []

        async def job() -> None:
            runs.append(clock.now())
            if len(runs) == 2:
                raise RuntimeError("a failing run is logged; the next one still comes")

        scheduler = LoopScheduler()
        scheduler.every(1800, "deadlines", job)
        scheduler.start()
        await asyncio.sleep(3 * 3600 + 1)
        await scheduler.stop()
        return clock.now(), runs

    now, runs = run_virtual(main())
    assert now == START + timedelta(hours=3, seconds=1)
    assert runs == [START + timedelta(minutes=30 * n) for n in range(1, 7)]


def test_database_work_runs_inline_and_the_default_thread_pool_is_refused() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        got = await loop.run_in_executor(InlineExecutor(), lambda: 6 * 7)
        with pytest.raises(RealIoError):
            await loop.run_in_executor(None, lambda: 0)
        return got

    assert run_virtual(main()) == 42


def test_real_io_is_refused() -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        a.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_recv(a, 1)
        finally:
            a.close()
            b.close()

    with pytest.raises(RealIoError):
        run_virtual(main())


def test_waiting_for_what_can_never_come_is_a_deadlock_not_a_hang() -> None:
    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(Deadlock):
        run_virtual(main())


def test_inline_database_work_interleaves_with_other_tasks_as_on_a_stock_loop() -> None:
    """The virtual loop settles an inline call without a concurrent future; the other tasks must see the
    same order of events as a stock asyncio loop gives, results and errors alike."""

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        executor = InlineExecutor()
        order: list[str] = []

        def work(name: str) -> str:
            order.append(f"{name} runs")
            if name == "bad":
                raise ValueError(name)
            return name

        async def caller(name: str) -> None:
            try:
                order.append(f"{name} got {await loop.run_in_executor(executor, work, name)}")
            except ValueError as error:
                order.append(f"{name} raised {error}")

        async def ticker() -> None:
            for tick in range(4):
                order.append(f"tick {tick}")
                await asyncio.sleep(0)

        await asyncio.gather(caller("a"), ticker(), caller("bad"), caller("b"))
        return order

    stock = asyncio.run(main())
    assert run_virtual(main()) == stock
    assert "bad raised bad" in stock
