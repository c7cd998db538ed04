"""The node's long-running loops stop when told to, even when a cancellation races a wake-up."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from node.aio import wait_event
from node.exchange.runtime import ExchangeRuntime


async def test_wait_event_reports_set_and_timeout() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 0.01) is True


async def test_a_cancellation_that_races_the_wake_up_is_not_swallowed() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(wait_event(event, 10))
    await asyncio.sleep(0)  # the task now waits on the event
    event.set()  # the wake-up and the cancellation arrive in the same loop iteration
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert task in done and task.cancelled()


class _StubbornSender:
    """A sender loop that swallows the first cancellation, as a loop built on Python 3.11's wait_for can."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.swallowed = 0

    async def run(self, poll: float) -> None:
        while True:
            try:
                await asyncio.sleep(poll)
            except asyncio.CancelledError:
                if self.swallowed:
                    raise
                self.swallowed += 1


class _Store:
    """Answers the supervisor's look for peers with waiting messages: one peer, always."""

    def transaction(self, read_only: bool = False, single_read: bool = False) -> Any:
        class _Tx:
            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def peers_with_pending(self) -> list[str]:
                return ["peer-a"]

        return _Tx()


async def test_runtime_stop_ends_a_loop_that_swallowed_its_first_cancellation() -> None:
    sender = _StubbornSender()
    runtime = ExchangeRuntime(cast(Any, _Store()), lambda peer: cast(Any, sender), poll_seconds=0.01)
    runtime.start()
    for _ in range(100):
        if runtime.senders:
            break
        await asyncio.sleep(0.01)
    assert "peer-a" in runtime.senders
    stopping = asyncio.create_task(runtime.stop())
    done, _ = await asyncio.wait({stopping}, timeout=3)
    for task in runtime._tasks.values():  # clean up after a failure: the second cancellation ends it
        task.cancel()
    assert stopping in done, "stop() still waits for a loop that swallowed a cancellation"
    assert sender.swallowed == 1
