"""Runs the sending side: one PeerSender loop for each peer that has messages waiting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from node.exchange.sender import PeerSender
from node.store.case_store import SqlCaseStore

__all__ = ["ExchangeRuntime"]

_log = structlog.get_logger(__name__)


class ExchangeRuntime:
    def __init__(
        self, store: SqlCaseStore, make_sender: Callable[[str], PeerSender], poll_seconds: float = 0.5
    ) -> None:
        self._store = store
        self._make_sender = make_sender
        self._poll = poll_seconds
        self.senders: dict[str, PeerSender] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())

    def wake(self, peer: str | None = None) -> None:
        """New messages were queued (for `peer`, or for anyone); also called when a peer contacts us."""
        self._wake.set()
        for name, sender in self.senders.items():
            if peer is None or name == peer:
                sender.wake.set()

    async def stop(self) -> None:
        tasks = [t for t in (self._supervisor, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            peers = await loop.run_in_executor(None, self._peers_with_pending)
            for peer in peers:
                task = self._tasks.get(peer)
                if task is None or task.done():
                    if task is not None and not task.cancelled() and task.exception() is not None:
                        _log.error("exchange.sender_crashed", peer=peer, error=str(task.exception()))
                    sender = self.senders.get(peer) or self._make_sender(peer)
                    self.senders[peer] = sender
                    self._tasks[peer] = asyncio.create_task(sender.run(self._poll))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    def _peers_with_pending(self) -> list[str]:
        with self._store.transaction(read_only=True) as tx:
            return tx.peers_with_pending()
