"""Who may say what about an item, across nodes: the authority rules every exchange message meets in the
receiver's transaction, before anything of it is applied. Written once, here; node.cases.federation calls
them and the receiver answers a refusal REJECTED with its reason code.

- A referral comes from its origin. An item that moves on is referred to its new host by the origin, once it
  has applied and checked the MOVED update (so the origin's record of the assignee is the authority), and a
  referral never re-opens an item closed or withdrawn here (`referral_verdict`).
- A status update comes from the node the origin has as the item's assignee. Sequence numbers apply exactly
  in order: a duplicate changes nothing, a later one within STATUS_WINDOW waits for the gap to fill, and one
  beyond the window is refused, as is any news after the update that closed the item (`status_verdict`).
- A MOVED update names the member serving the new country (or the fallback), never the sender itself, nor an
  assignee of the last LOOP_HOPS hops: a loop (`check_move`).
- A withdrawal comes from the origin (`withdrawal_verdict`).
- Hash verdicts come only from a peer this node takes them from (node.peer_verdicts), at most
  MAX_VERDICTS_PER_MESSAGE in one message, each for a hash this node knows the format of (`check_verdicts`).

Every reason is final (about the message: sending it again gets the same answer) except ITEM_NOT_YET_KNOWN,
which is about the moment (the referral may still be on its way).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

from node.cases.exchange_messages import Referral, StatusUpdate
from node.cases.model import ActionType, Item, ItemState
from node.cases.routing import FallbackKind, Membership
from node.errors import DomainError

__all__ = [
    "LOOP_HOPS",
    "MAX_VERDICTS_PER_MESSAGE",
    "REASONS",
    "STATUS_WINDOW",
    "ExchangeRefusal",
    "ItemNotYetKnown",
    "ReferralVerdict",
    "RefusalReason",
    "StatusVerdict",
    "check_move",
    "check_verdicts",
    "earlier_assignees",
    "referral_verdict",
    "status_verdict",
    "withdrawal_verdict",
]

# How many hash verdicts one message may carry (its outbox body stays well within OUTBOX_BODY_CHARS).
MAX_VERDICTS_PER_MESSAGE = 100
# How far ahead of the last applied sequence number a status update may arrive and wait for the gap to fill.
STATUS_WINDOW = 32
# How many earlier assignees a MOVED update may not name again (a loop, or two members playing ping-pong).
LOOP_HOPS = 4


class RefusalReason(enum.StrEnum):
    OWN_ITEM = "OWN_ITEM"
    ORIGIN_NOT_SENDER = "ORIGIN_NOT_SENDER"
    ITEM_CLOSED = "ITEM_CLOSED"
    UNKNOWN_ITEM = "UNKNOWN_ITEM"
    NOT_ASSIGNEE = "NOT_ASSIGNEE"
    SEQUENCE_BEYOND_WINDOW = "SEQUENCE_BEYOND_WINDOW"
    MOVE_TO_SELF = "MOVE_TO_SELF"
    MOVE_NOT_SERVING = "MOVE_NOT_SERVING"
    MOVE_LOOP = "MOVE_LOOP"
    NOT_ORIGIN = "NOT_ORIGIN"
    ITEM_NOT_YET_KNOWN = "ITEM_NOT_YET_KNOWN"
    VERDICTS_NOT_ACCEPTED = "VERDICTS_NOT_ACCEPTED"
    VERDICT_BATCH_TOO_LARGE = "VERDICT_BATCH_TOO_LARGE"
    UNKNOWN_HASH_FORMAT = "UNKNOWN_HASH_FORMAT"


# Each reason, whether it is final (about the message) and what it means.
REASONS: dict[RefusalReason, tuple[bool, str]] = {
    RefusalReason.OWN_ITEM: (True, "a referral of an item this node originated"),
    RefusalReason.ORIGIN_NOT_SENDER: (True, "a referral that names another member as its origin or referrer"),
    RefusalReason.ITEM_CLOSED: (True, "news of an item closed or withdrawn here: nothing re-opens it"),
    RefusalReason.UNKNOWN_ITEM: (True, "a status update about no item this node referred"),
    RefusalReason.NOT_ASSIGNEE: (True, "a status update from a node this node does not have as the assignee"),
    RefusalReason.SEQUENCE_BEYOND_WINDOW: (True, "a status update too far ahead of the last one applied"),
    RefusalReason.MOVE_TO_SELF: (True, "a MOVED update that names its sender as the new assignee"),
    RefusalReason.MOVE_NOT_SERVING: (True, "a MOVED update naming no member that serves the new country"),
    RefusalReason.MOVE_LOOP: (True, "a MOVED update naming a recent assignee again"),
    RefusalReason.NOT_ORIGIN: (True, "a withdrawal of an item another member originated"),
    RefusalReason.ITEM_NOT_YET_KNOWN: (False, "a withdrawal of an item not (yet) referred here"),
    RefusalReason.VERDICTS_NOT_ACCEPTED: (True, "hash verdicts from a peer this node takes none from"),
    RefusalReason.VERDICT_BATCH_TOO_LARGE: (True, "more hash verdicts in one message than a peer may send"),
    RefusalReason.UNKNOWN_HASH_FORMAT: (True, "a hash verdict for a hash algorithm or digest this node does not know"),
}


class ExchangeRefusal(DomainError):
    """A peer's message that the authority rules refuse; `code` is its reason, as the receiver answers it."""

    def __init__(self, reason: RefusalReason, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.refusal = reason
        self.code = str(reason)

    @property
    def final(self) -> bool:
        return REASONS[self.refusal][0]


class ItemNotYetKnown(ExchangeRefusal):
    """About the moment, not the message: the item may arrive with a referral still on its way."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(RefusalReason.ITEM_NOT_YET_KNOWN, message, field=field)


class ReferralVerdict(enum.StrEnum):
    NEW = "new"  # create the item
    REPEAT = "repeat"  # the same referral again: it is here and open, nothing to do
    REOPEN = "reopen"  # it moved on from here earlier, and its origin refers it back


def referral_verdict(*, me: str, sender: str, referral: Referral, existing: Item | None) -> ReferralVerdict:
    """`existing`: what this node holds under the referral's origin and origin item id."""
    if referral.origin_node == me:
        raise ExchangeRefusal(RefusalReason.OWN_ITEM, "a referral of this node's own item", field="origin_node")
    if referral.origin_node != sender or referral.referred_by not in ("", sender):
        named = referral.referred_by or referral.origin_node
        raise ExchangeRefusal(
            RefusalReason.ORIGIN_NOT_SENDER,
            f"{sender} sent a referral naming {referral.origin_node} as origin and {named} as referrer; "
            "only the origin refers an item (after a move too)",
            field="origin_node",
        )
    if existing is None:
        return ReferralVerdict.NEW
    if not existing.is_open:
        raise ExchangeRefusal(
            RefusalReason.ITEM_CLOSED, f"the item is {existing.state} here and is not re-opened", field="origin_item_id"
        )
    return ReferralVerdict.REPEAT if existing.assigned_node == me else ReferralVerdict.REOPEN


class StatusVerdict(enum.StrEnum):
    APPLY = "apply"  # the next in sequence
    BUFFER = "buffer"  # within the window: waits for the gap to fill
    DUPLICATE = "duplicate"  # applied already: changes nothing
    IGNORE = "ignore"  # the item was withdrawn: its assignee's news changes nothing


def status_verdict(*, sender: str, item: Item | None, sequence: int, window: int = STATUS_WINDOW) -> StatusVerdict:
    """`item`: this node's item the update names, if any."""
    if item is None or item.origin_node:
        raise ExchangeRefusal(RefusalReason.UNKNOWN_ITEM, "no item that this node referred", field="origin_item_id")
    # A withdrawal makes this node the assignee again; the node it was referred to may still report.
    assignee = item.referred_to if item.state is ItemState.WITHDRAWN else item.assigned_node
    if sender != assignee:
        raise ExchangeRefusal(
            RefusalReason.NOT_ASSIGNEE, f"{sender} is not assigned to the item; {assignee} is", field="sender"
        )
    if item.state is ItemState.WITHDRAWN:
        return StatusVerdict.IGNORE
    if sequence <= item.status_sequence:
        return StatusVerdict.DUPLICATE
    if not item.is_open:  # closed by the assignee's own last update: nothing follows it
        raise ExchangeRefusal(
            RefusalReason.ITEM_CLOSED, f"the item is {item.state} here and is not re-opened", field="sequence"
        )
    if sequence > item.status_sequence + window:
        raise ExchangeRefusal(
            RefusalReason.SEQUENCE_BEYOND_WINDOW,
            f"#{sequence} is more than {window} ahead of #{item.status_sequence}, the last applied",
            field="sequence",
        )
    return StatusVerdict.BUFFER if sequence > item.status_sequence + 1 else StatusVerdict.APPLY


def earlier_assignees(item: Item, hops: int = LOOP_HOPS) -> list[str]:
    """The nodes that moved the item on (the actors of its MOVED actions), the last `hops`, oldest first."""
    movers = [a.actor for a in sorted(item.actions, key=lambda a: a.occurred_at) if a.type is ActionType.MOVED]
    return movers[-hops:] if hops > 0 else []


def check_move(
    *, me: str, sender: str, item: Item, update: StatusUpdate, membership: Membership, hops: int = LOOP_HOPS
) -> None:
    """A MOVED update from the assignee `sender` about this node's `item`, checked before it is applied."""
    target, country = update.reassigned_to, update.moved_to_country
    if target == sender:
        raise ExchangeRefusal(RefusalReason.MOVE_TO_SELF, f"{sender} moved the item to itself", field="reassigned_to")
    serving = _serving(country, membership) if country else None
    if not target or target != serving:
        raise ExchangeRefusal(
            RefusalReason.MOVE_NOT_SERVING,
            f"{target or 'no node'} does not serve {country or 'an unnamed country'}; {serving or 'no member'} does",
            field="reassigned_to",
        )
    recent: Sequence[str] = earlier_assignees(item, hops)
    if target != me and target in recent:
        raise ExchangeRefusal(
            RefusalReason.MOVE_LOOP,
            f"{target} had the item within the last {hops} moves ({' -> '.join(recent)} -> {sender})",
            field="reassigned_to",
        )


def _serving(country: str, membership: Membership) -> str | None:
    receiver = membership.receiver_for(country)
    if receiver is not None:
        return receiver
    fallback = membership.fallback()
    return fallback.node_id if fallback.kind is FallbackKind.REFER and fallback.node_id else None


def withdrawal_verdict(*, item: Item | None, origin_elsewhere: bool) -> bool:
    """`item`: what this node holds under the sender (as origin) and the item id; `origin_elsewhere`: whether
    it holds the item id under another origin. True if the item is open and closes now, False if it was
    closed already (a withdrawal changes nothing more)."""
    if item is None:
        if origin_elsewhere:
            raise ExchangeRefusal(
                RefusalReason.NOT_ORIGIN,
                "another member referred the item; only its origin withdraws it",
                field="origin_item_id",
            )
        raise ItemNotYetKnown("no item was referred here under that reference", field="origin_item_id")
    return item.is_open


def check_verdicts(*, sender: str, count: int, accepted_from: Iterable[str]) -> None:
    """Hash verdicts from `sender`, `count` of them: refused unless this node takes verdicts from the sender and
    the batch is within bounds."""
    if sender not in accepted_from:
        raise ExchangeRefusal(
            RefusalReason.VERDICTS_NOT_ACCEPTED,
            f"this node takes no hash verdicts from {sender} (node.peer_verdicts)",
            field="verdicts",
        )
    if count > MAX_VERDICTS_PER_MESSAGE:
        raise ExchangeRefusal(
            RefusalReason.VERDICT_BATCH_TOO_LARGE,
            f"{count} hash verdicts in one message; at most {MAX_VERDICTS_PER_MESSAGE}",
            field="verdicts",
        )
