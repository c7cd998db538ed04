"""Queues the notice an action sends, in the transaction that records the action (node.cases.ports.NoticeHook):
the LEA notice when LEA_NOTIFIED is recorded, the NTD when HP_NOTIFIED is. A notice that cannot be addressed
is not queued, and the item's timeline says why."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import structlog

from node.cases.event_kinds import EventKind
from node.cases.model import ActionType, Event, Item, NoticeDetails
from node.cases.ports import CaseTransaction
from node.notices.compose import compose
from node.notices.ports import NoticeTransaction
from node.notices.settings import NoticeKind, NoticeSettings

__all__ = ["NoticePlanner"]

_log = structlog.get_logger(__name__)

_KIND = {ActionType.LEA_NOTIFIED: NoticeKind.LEA, ActionType.HP_NOTIFIED: NoticeKind.NTD}


class NoticePlanner:
    def __init__(self, settings: NoticeSettings) -> None:
        self._settings = settings

    def action_recorded(self, tx: CaseTransaction, item: Item, action: ActionType, now: datetime) -> None:
        kind = _KIND.get(action)
        if kind is None:
            return
        composed = compose(item, kind, self._settings, now)
        if isinstance(composed, str):
            _log.warning("notice.not_sent", item_id=item.item_id, kind=str(kind), reason=composed)
            _event(
                tx,
                EventKind.NOTICE_NOT_SENT,
                item,
                now,
                f"{kind}: {composed}",
                NoticeDetails("", str(kind), str(self._settings.channel)),
            )
            return
        # The one store implements both ports (node.store.sql_store checks it); the hook's signature names
        # the cases port because the domain must not know this module's.
        cast(NoticeTransaction, tx).enqueue_notices([composed])
        _log.info("notice.queued", item_id=item.item_id, kind=str(kind), notice_id=composed.notice_id)
        _event(
            tx,
            EventKind.NOTICE_QUEUED,
            item,
            now,
            f"{kind} {composed.notice_id} by {composed.channel}",
            NoticeDetails(composed.notice_id, str(kind), composed.channel),
        )


def _event(
    tx: CaseTransaction, kind: EventKind, item: Item, now: datetime, detail: str, details: NoticeDetails
) -> None:
    tx.append_event(Event.new(kind, now, item=item, detail=detail, details=details))
