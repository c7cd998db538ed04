"""Works the notice queue: sends what is due, records each attempt and its outcome on the item's timeline,
and retries a refused or unreachable receiver with persisted exponential backoff, so nothing is lost across
restarts. A notice is marked sent only after its receiver took it: a crash in between sends it again with
the same message id (SMTP Message-ID, webhook Idempotency-Key), by which the receiver recognises it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import structlog

from node.cases.event_kinds import EventKind
from node.cases.model import Event, NoticeDetails
from node.clock import Clock
from node.notices.compose import Notice
from node.notices.ports import (
    DeliveryFailed,
    NoticeChannel,
    NoticeObserver,
    NoticeStore,
    NoticeTransaction,
    QueuedNotice,
)
from node.notices.settings import NoticeSettings

__all__ = ["NoticeDispatcher", "retry_delay"]

_log = structlog.get_logger(__name__)

T = TypeVar("T")


class Blocking(Protocol):
    """Runs database work off the event loop (the node's Backend.run)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


_BATCH = 20


def retry_delay(attempts: int, settings: NoticeSettings) -> timedelta:
    """After `attempts` failed attempts: the initial delay, doubled each time, at most the maximum."""
    initial, most = settings.retry_initial.total_seconds(), settings.retry_max.total_seconds()
    return timedelta(seconds=min(most, initial * 2 ** min(attempts - 1, 30)))


class NoticeDispatcher:
    def __init__(
        self,
        store: NoticeStore,
        clock: Clock,
        settings: NoticeSettings,
        channel: NoticeChannel,
        observer: NoticeObserver | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._channel = channel
        self._observer = observer

    async def run_once(self, blocking: Blocking) -> int:
        """Send every notice due now (database work through `blocking`, on the node's database threads). How
        many were sent."""
        due = await blocking(lambda: self._due(self._clock.now()))
        sent = 0
        for queued in due:
            sent += await self._attempt(queued, blocking)
        return sent

    def _due(self, now: datetime) -> list[QueuedNotice]:
        with self._store.transaction() as tx:
            return tx.due_notices(now, _BATCH)

    async def _attempt(self, queued: QueuedNotice, blocking: Blocking) -> int:
        notice, settings = queued.notice, self._settings
        timeout = max(
            settings.smtp.timeout if settings.smtp else timedelta(),
            settings.webhook.timeout if settings.webhook else timedelta(),
        )
        error = ""
        try:
            await asyncio.wait_for(self._channel.send(notice, self._clock.now()), timeout.total_seconds() + 5)
        except DeliveryFailed as failure:
            error = str(failure)
        except TimeoutError:
            error = "timed out"
        except Exception as failure:  # a channel's bug must not stall the queue: count it as a failed attempt
            error = f"{type(failure).__name__}"
            _log.exception("notice.channel_error", notice_id=notice.notice_id)
        now = self._clock.now()
        if not error:
            await blocking(lambda: self._sent(queued, now))
            return 1
        await blocking(lambda: self._failed(queued, now, error))
        return 0

    def _sent(self, queued: QueuedNotice, now: datetime) -> None:
        notice = queued.notice
        with self._store.transaction() as tx:
            if not tx.notice_sent(notice.notice_id, now):
                return
            _event(
                tx,
                EventKind.NOTICE_SENT,
                notice,
                now,
                f"{notice.kind} {notice.notice_id} by {notice.channel}",
                attempts=queued.attempts + 1,
            )
        _log.info("notice.sent", notice_id=notice.notice_id, item_id=notice.item_id, kind=str(notice.kind))
        self._observe(queued, "sent")

    def _failed(self, queued: QueuedNotice, now: datetime, error: str) -> None:
        notice, settings = queued.notice, self._settings
        attempts = queued.attempts + 1
        give_up = now - notice.created_at >= settings.give_up_after
        retry_at = None if give_up else now + retry_delay(attempts, settings)
        what = f"{notice.kind} {notice.notice_id} attempt {attempts}: {error}"
        with self._store.transaction() as tx:
            tx.notice_failed(notice.notice_id, error, retry_at)
            _event(tx, EventKind.NOTICE_ATTEMPT_FAILED, notice, now, what, attempts=attempts, error=error)
            if attempts == settings.alert_after_attempts and not give_up:
                _event(
                    tx, EventKind.NOTICE_FAILING, notice, now, f"{what}; still retrying", attempts=attempts, error=error
                )
            if give_up:
                _event(
                    tx,
                    EventKind.NOTICE_FAILED,
                    notice,
                    now,
                    f"{what}; gave up (`hotline-node notices retry`)",
                    attempts=attempts,
                    error=error,
                )
        log = _log.error if give_up or attempts >= settings.alert_after_attempts else _log.warning
        log("notice.attempt_failed", notice_id=notice.notice_id, item_id=notice.item_id, attempts=attempts, error=error)
        self._observe(queued, "gave_up" if give_up else "failed")

    def _observe(self, queued: QueuedNotice, outcome: str) -> None:
        if self._observer is not None:
            self._observer.attempted(str(queued.notice.kind), queued.notice.channel, outcome)


def _event(
    tx: NoticeTransaction,
    kind: EventKind,
    notice: Notice,
    now: datetime,
    detail: str,
    *,
    attempts: int,
    error: str = "",
) -> None:
    details = NoticeDetails(notice.notice_id, str(notice.kind), notice.channel, attempts, error)
    tx.append_event(Event.new(kind, now, item_id=notice.item_id, detail=detail, details=details))
