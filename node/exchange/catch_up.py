"""Roster catch-up: a peer's call that claims a newer roster makes this node fetch it from that peer, at most
one fetch per peer at a time and at most one per interval. A claim is only a claim: however many calls make
it, and however fast, the node calls the peer back no more than once per `interval` (the issue: 200 calls in
half a second made 200 concurrent GetRoster calls back). Time comes from the node's Clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from node.clock import Clock

__all__ = ["RosterCatchUp"]

_log = structlog.get_logger(__name__)


class RosterCatchUp:
    def __init__(
        self, fetch: Callable[[str], Awaitable[None]], clock: Clock, interval: timedelta = timedelta(seconds=10)
    ) -> None:
        self._fetch = fetch  # fetches the peer's newer rosters and trusts them if they verify; may raise
        self._clock = clock
        self.interval = interval
        self._running: dict[str, asyncio.Task[None]] = {}
        self._last_started: dict[str, datetime] = {}

    def request(self, peer: str) -> bool:
        """Start a fetch from `peer` in the background unless one is under way or one started less than an
        interval ago (then the claim is dropped: a later call from the peer claims it again). Whether it
        started one. Called on the event loop."""
        if peer in self._running:
            return False
        now = self._clock.now()
        last = self._last_started.get(peer)
        if last is not None and now - last < self.interval:
            return False
        self._last_started[peer] = now
        task = asyncio.create_task(self._run(peer))
        self._running[peer] = task
        task.add_done_callback(lambda _: self._running.pop(peer, None))
        return True

    async def _run(self, peer: str) -> None:
        try:
            await self._fetch(peer)
        except Exception as error:  # logged; a call from that peer after the interval tries again
            _log.warning("roster.catch_up_failed", peer=peer, error=str(error))

    async def stop(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
