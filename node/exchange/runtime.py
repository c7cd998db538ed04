"""Runs the sending side: one PeerSender loop for each peer that has messages waiting."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from node.aio import wait_event
from node.exchange.ports import ExchangeStore
from node.exchange.sender import PeerSender

__all__ = ["ExchangeRuntime"]

_log = structlog.get_logger(__name__)
_MIN_GAP_SECONDS = 0.02  # between two looks for peers with waiting messages


class ExchangeRuntime:
    def __init__(
        self,
        store: ExchangeStore,
        make_sender: Callable[[str], PeerSender],
        poll_seconds: float = 0.5,
        run_blocking: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        """`run_blocking` runs the look for waiting messages (default: the loop's default thread pool)."""
        self._store = store
        self._run_blocking = run_blocking
        self._make_sender = make_sender
        self._poll = poll_seconds
        self.senders: dict[str, PeerSender] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        # Told by the commits what they queue (`queued`): a superset of the peers with pending messages, the last
        # look's and those queued since (None: not known, look). Only once `told_of_queues` is called.
        self._told = False
        self._maybe_pending: set[str] | None = None
        self._queued_since: set[str] | None = set()  # the peers queued for since the last commit's wake-up
        self._queued_lock = threading.Lock()

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())

    def wake(self, peer: str | None = None) -> None:
        """New messages were queued (for `peer`, or for anyone); also called when a peer contacts us."""
        self._wake.set()
        if peer is None:
            for sender in self.senders.values():
                sender.wake.set()
        elif (one := self.senders.get(peer)) is not None:
            one.wake.set()

    def committed(self) -> None:
        """After a commit of this node's (on the event loop). Told what commits queue: wake the supervisor and the
        loops of the peers queued for since the last commit, and nothing when nothing was queued (a commit of a
        case command wakes no sender that has nothing new); else every loop, as `wake()`."""
        if not self._told:
            self.wake()
            return
        with self._queued_lock:
            peers, self._queued_since = self._queued_since, set()
        if peers is None:
            self.wake()
            return
        if peers:
            self._wake.set()
        for peer in peers:
            if (one := self.senders.get(peer)) is not None:
                one.wake.set()

    def told_of_queues(self) -> None:
        """Every commit that queues messages in this database calls `queued` (no other process writes it): a
        wake-up need not look for peers with waiting messages when each peer that can have any has its loop."""
        self._told = True

    def queued(self, peers: frozenset[str] | None) -> None:
        """A commit queued messages for `peers` (None: for peers not known). On the committing thread, before
        the commit's wake-up."""
        with self._queued_lock:
            if peers is None or self._maybe_pending is None:
                self._maybe_pending = None
            else:
                self._maybe_pending.update(peers)
            if peers is None or self._queued_since is None:
                self._queued_since = None
            else:
                self._queued_since.update(peers)
        # The senders count it too: a sender whose last answers left nothing pending looks again (PeerSender).
        told = list(self.senders.values()) if peers is None else [self.senders.get(peer) for peer in peers]
        for sender in told:
            if sender is not None:
                sender.queued_count += 1

    def _must_look(self, woken: bool) -> bool:
        """Whether a look could start a loop: always after a timeout (or untold), else only when a peer that can
        have waiting messages has no loop running."""
        if not (woken and self._told):
            return True
        with self._queued_lock:
            candidates = self._maybe_pending
            if candidates is None:
                return True
            return any((task := self._tasks.get(peer)) is None or task.done() for peer in candidates)

    def _told_without_loop(self) -> list[str] | None:
        """Told what commits queue: the peers queued for since the last look whose loop is not running, taken
        off the candidates (the loop started for each looks at its own outbox, and ends only when nothing waits
        there). None when not told, or told of messages for peers not known: then the outbox is looked at."""
        if not self._told:
            return None
        with self._queued_lock:
            if self._maybe_pending is None:
                return None
            idle = sorted(p for p in self._maybe_pending if (task := self._tasks.get(p)) is None or task.done())
            self._maybe_pending.difference_update(idle)
            return idle

    async def stop(self) -> None:
        """Cancel the supervisor and every sender loop, including any the supervisor started meanwhile, and
        keep cancelling until all have ended."""
        self._stopping = True
        while tasks := [t for t in (self._supervisor, *self._tasks.values()) if t is not None and not t.done()]:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=1.0)
        for ended in (self._supervisor, *self._tasks.values()):
            if ended is not None and not ended.cancelled() and ended.exception() is not None:
                _log.error("exchange.loop_failed", error=str(ended.exception()))

    async def _supervise(self) -> None:
        """Start a loop for each peer with messages waiting (a peer's loop ends when nothing waits for it).
        It looks when woken, at most once every 20 ms however often commits wake it, and otherwise every ten
        poll intervals. Told what commits queue, a wake-up starts the loops of the peers queued for without
        looking at the outbox (each loop looks at its own), and only a timeout looks at the whole outbox."""
        loop = asyncio.get_running_loop()
        woken = False
        while not self._stopping:
            started = loop.time()
            self._wake.clear()  # before looking: a message queued while we look wakes us again
            peers: list[str] = []
            if self._must_look(woken):
                told = self._told_without_loop() if woken else None
                peers = told if told is not None else await self._look(loop)
            for peer in peers:
                task = self._tasks.get(peer)
                if task is None or task.done():
                    if task is not None and not task.cancelled() and task.exception() is not None:
                        _log.error("exchange.sender_crashed", peer=peer, error=str(task.exception()))
                    sender = self.senders.get(peer) or self._make_sender(peer)
                    self.senders[peer] = sender
                    self._tasks[peer] = asyncio.create_task(sender.run(self._poll))
            woken = await wait_event(self._wake, 10 * self._poll)
            await asyncio.sleep(max(0.0, started + min(self._poll, _MIN_GAP_SECONDS) - loop.time()))

    async def _look(self, loop: asyncio.AbstractEventLoop) -> list[str]:
        """The peers with pending messages, from the outbox; from here on the candidates are what commits queue."""
        with self._queued_lock:
            self._maybe_pending = set()  # from here on, what commits queue
        try:
            if self._run_blocking is not None:
                peers: list[str] = await self._run_blocking(self._peers_with_pending)
            else:
                peers = await loop.run_in_executor(None, self._peers_with_pending)
        except BaseException:
            self._maybe_pending = None  # not known: the next wake-up looks
            raise
        with self._queued_lock:
            if self._maybe_pending is not None:
                self._maybe_pending.update(peers)
        return peers

    def _peers_with_pending(self) -> list[str]:
        with self._store.transaction(single_read=True) as tx:
            return tx.peers_with_pending()
