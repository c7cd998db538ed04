"""The notice queue's store port: written in the transaction that records the action, worked by the
dispatcher. node.store.txn.notices implements it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from node.cases.model import Event
from node.notices.compose import Notice

__all__ = [
    "DeliveryFailed",
    "NoticeChannel",
    "NoticeObserver",
    "NoticeRow",
    "NoticeStatus",
    "NoticeStore",
    "NoticeTransaction",
    "QueuedNotice",
]


class DeliveryFailed(Exception):
    """A channel could not deliver a notice; the message says why (never the notice's text)."""


class NoticeChannel(Protocol):
    async def send(self, notice: Notice, now: datetime) -> None:
        """Deliver `notice` or raise DeliveryFailed."""
        ...


class NoticeObserver(Protocol):
    def attempted(self, kind: str, channel: str, outcome: str) -> None:
        """An attempt ended: outcome is "sent", "failed" (to be retried) or "gave_up"."""
        ...


class NoticeStatus(StrEnum):
    PENDING = "pending"  # to be sent at next_attempt_at
    SENT = "sent"  # the receiver took it (its text is dropped: ids, recipient and times stay)
    FAILED = "failed"  # still refused after the give-up period; `notices retry` queues it again


class QueuedNotice(NamedTuple):
    notice: Notice
    attempts: int


class NoticeRow(NamedTuple):
    """What the operator sees of a notice."""

    notice_id: str
    item_id: str
    kind: str
    channel: str
    recipient: str
    status: NoticeStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str


class NoticeTransaction(Protocol):
    def enqueue_notices(self, notices: list[Notice]) -> None: ...

    def due_notices(self, now: datetime, limit: int) -> list[QueuedNotice]:
        """Pending notices due by `now`, oldest first."""
        ...

    def notice_sent(self, notice_id: str, now: datetime) -> bool:
        """Mark it sent and drop its text. False if it was not pending (sent already)."""
        ...

    def notice_failed(self, notice_id: str, error: str, next_attempt_at: datetime | None) -> int:
        """Count a failed attempt; None gives up (FAILED). The number of attempts so far."""
        ...

    def list_notices(self, status: NoticeStatus | None, limit: int) -> list[NoticeRow]: ...

    def retry_notice(self, notice_id: str, now: datetime) -> bool:
        """Queue a FAILED notice again, due now. False if there is no such failed notice."""
        ...

    def append_event(self, event: Event) -> None: ...


class NoticeStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[NoticeTransaction]: ...
