"""A runtime told by the commits what they queue (a node whose every writer is in process) starts the loop of a
queued peer that has none without looking at the outbox (the loop looks at its own), and looks at the whole
outbox only for peers not known, or when not told."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from node.exchange.runtime import ExchangeRuntime


class _Store:
    """Counts the looks; answers each with the peers it is told have waiting messages."""

    def __init__(self) -> None:
        self.looks = 0
        self.pending: list[str] = ["peer-a"]

    def transaction(self, read_only: bool = False, single_read: bool = False) -> contextlib.nullcontext[_Store]:
        return contextlib.nullcontext(self)  # the store is its own transaction

    def peers_with_pending(self) -> list[str]:
        self.looks += 1
        return list(self.pending)


class _Sender:
    """A loop that runs until cancelled."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.queued_count = 0  # what the runtime counts of the commits that queue for the peer

    async def run(self, poll: float) -> None:
        await asyncio.Event().wait()


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the runtime did not get there")


async def _settled() -> None:
    """Let the supervisor take a wake-up and wait again (its 20 ms gap included)."""
    await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def _running(store: _Store, *, told: bool) -> AsyncIterator[ExchangeRuntime]:
    """A runtime over `store` with a loop for each peer it has pending (told of queues or not), stopped after."""
    runtime = ExchangeRuntime(cast(Any, store), lambda peer: cast(Any, _Sender()), poll_seconds=600)
    if told:
        runtime.told_of_queues()
    runtime.start()
    try:
        await _until(lambda: set(store.pending) <= runtime.senders.keys())
        yield runtime
    finally:
        await runtime.stop()


async def test_a_told_runtime_looks_only_when_a_loop_may_be_missing() -> None:
    store = _Store()
    async with _running(store, told=True) as runtime:
        assert store.looks == 1
        runtime.queued(frozenset({"peer-a"}))  # its loop runs: a look could start nothing
        runtime.wake()
        await _settled()
        runtime.wake()  # a commit that queued nothing
        await _settled()
        assert store.looks == 1
        runtime.queued(frozenset({"peer-b"}))  # no loop for it yet: start one, without a look
        runtime.wake()
        await _until(lambda: "peer-b" in runtime.senders)
        assert store.looks == 1
        b_loop = runtime._tasks["peer-b"]
        b_loop.cancel()  # its loop ended (nothing waited for it) ...
        await asyncio.sleep(0)
        runtime.wake()  # ... and a commit that queued nothing starts no other
        await _settled()
        assert runtime._tasks["peer-b"] is b_loop
        runtime.queued(frozenset({"peer-b"}))  # queued for it again: a new loop, still without a look
        runtime.wake()
        await _until(lambda: runtime._tasks["peer-b"] is not b_loop)
        assert store.looks == 1
        runtime.queued(None)  # queued for peers not known: look
        runtime.wake()
        await _until(lambda: store.looks == 2)


async def test_an_untold_runtime_looks_at_every_wake_up() -> None:
    store = _Store()
    async with _running(store, told=False) as runtime:
        runtime.queued(frozenset({"peer-a"}))
        runtime.wake()
        await _until(lambda: store.looks == 2)


async def test_a_commit_wakes_only_the_loops_of_the_peers_it_queued_for() -> None:
    store = _Store()
    store.pending = ["peer-a", "peer-b"]
    async with _running(store, told=True) as runtime:
        a, b = runtime.senders["peer-a"], runtime.senders["peer-b"]
        a.wake.clear()
        b.wake.clear()
        runtime.committed()  # a commit that queued nothing (a case command's, say)
        assert not a.wake.is_set() and not b.wake.is_set()
        runtime.queued(frozenset({"peer-b"}))
        runtime.committed()
        assert b.wake.is_set() and not a.wake.is_set()
        b.wake.clear()
        runtime.committed()  # told once per commit: the next commit queued nothing
        assert not b.wake.is_set()
        runtime.queued(None)  # for peers not known: every loop looks
        runtime.committed()
        assert a.wake.is_set() and b.wake.is_set()


async def test_an_untold_runtime_wakes_every_loop_at_each_commit() -> None:
    store = _Store()
    async with _running(store, told=False) as runtime:
        runtime.senders["peer-a"].wake.clear()
        runtime.committed()
        assert runtime.senders["peer-a"].wake.is_set()
