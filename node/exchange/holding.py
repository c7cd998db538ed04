"""Messages that arrive before the item they are about, held at the receiver for a bounded time.

A withdrawal can overtake its referral: sent by another node than the referral (the origin withdraws while the
previous assignee's re-referral after a MOVED is still on its way), or queued behind it but delivered first.
Rather than refuse it, the receiver accepts it (with its receipt: the sender's part is done), holds it, and
applies it in the transaction that applies the referral. A message held for `ReceiverLimits.hold_for` (as
long as a sender retries a transient refusal) whose item never came is dropped, with an event for the
operator: there is nothing left to apply it to. A sender may have at most `max_held_per_sender` messages held;
beyond that, its messages are refused for now (NOTFOUND, transient) and it sends them again later.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from node.cases.event_details import MessageDetails
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import Referral, Withdrawal, from_outbox
from node.cases.exchange_rules import RefusalReason
from node.cases.model import Event
from node.errors import DomainError
from node.exchange.codec import Incoming
from node.exchange.ports import HeldMessage, ReceivingTransaction

__all__ = ["HOLDABLE_CODES", "Holding"]

_log = structlog.get_logger(__name__)

# The refusals that mean "the item is not known yet": a message refused with one of them may be held.
HOLDABLE_CODES = frozenset({"NOTFOUND", str(RefusalReason.ITEM_NOT_YET_KNOWN)})


class Holding:
    """Holds, releases and expires messages; `apply` applies a released one (as the receiver applies any)."""

    def __init__(self, apply: Callable[[ReceivingTransaction, str, Incoming], object]) -> None:
        self._apply = apply

    def hold(
        self,
        tx: ReceivingTransaction,
        sender: str,
        message_id: str,
        incoming: Incoming,
        code: str,
        now: datetime,
        *,
        hold_for: timedelta,
        max_per_sender: int,
    ) -> bool:
        """Hold a message refused with `code` if it may be held (a withdrawal of an item not known yet) and the
        sender has room. Whether it was held."""
        if code not in HOLDABLE_CODES or not isinstance(incoming, Withdrawal):
            return False
        if tx.held_count(sender) >= max_per_sender:
            _log.warning("exchange.hold_full", sender=sender, message_id=message_id)
            return False
        # Non-ASCII as itself, not as \\u escapes (12 characters for one emoji): a reason of 2,000 characters is
        # at most 4,000 characters of JSON (a newline or tab escaped), well within the column.
        body = json.dumps(incoming.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        origin = (incoming.origin_node, incoming.origin_item_id)
        tx.hold_message(HeldMessage(sender, message_id, *origin, incoming.kind, body, now, now + hold_for))
        _log.info("exchange.held", sender=sender, message_id=message_id)
        return True

    def release(self, tx: ReceivingTransaction, referral: Referral, now: datetime) -> None:
        """The referral has just been applied: apply what was held for its item, each on its own."""
        for held in tx.take_held(referral.origin_node, referral.origin_item_id):
            try:
                with tx.savepoint():
                    self._apply(tx, held.sender, from_outbox(held.kind, held.body))
            except DomainError as error:
                code = type(error).__name__.upper()
                _log.warning("exchange.held_refused", sender=held.sender, message_id=held.message_id, code=code)
                _event(tx, EventKind.EXCHANGE_HELD_REFUSED, now, held, code)
            else:
                _log.info("exchange.held_applied", sender=held.sender, message_id=held.message_id)

    def expire(self, tx: ReceivingTransaction, now: datetime) -> None:
        """Drop what was held for its whole hold period: its item never came."""
        for held in tx.drop_expired_held(now):
            _log.warning("exchange.held_expired", sender=held.sender, message_id=held.message_id)
            _event(tx, EventKind.EXCHANGE_HELD_EXPIRED, now, held, "its item never arrived")


def _event(tx: ReceivingTransaction, kind: EventKind, now: datetime, held: HeldMessage, why: str) -> None:
    tx.append_event(
        Event.new(
            kind,
            now,
            detail=f"{held.kind} {held.message_id} from {held.sender} held since {held.held_at.isoformat()}: {why}",
            details=MessageDetails(held.sender, held.message_id, held.kind, reason_code=why if why.isupper() else ""),
        )
    )
