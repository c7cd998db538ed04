"""What the exchange needs from a store, written as contracts. node.store implements it with SQLAlchemy (its
txn/inbox.py, txn/outbox.py and txn/rosters.py); the exchange's modules are typed against these Protocols
and import nothing from node.store.

Constraints every implementation MUST keep:
- A transaction is one unit: it commits when the block ends normally and rolls back on any exception, and
  what the exchange writes in it commits or rolls back together with what the case workflow writes in it.
- Reads inside a transaction see everything written earlier in the same transaction.
- Stored strings (outbox status, inbox status, reason codes) are kept exactly as given: peers' receipts and
  the operator's tools read them back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from node.cases.model import Event, OutboxMessage
from node.cases.ports import CaseTransaction

__all__ = [
    "AdminStore",
    "AdminTransaction",
    "ExchangeNodeStore",
    "ExchangeNodeTransaction",
    "ExchangeStore",
    "ExchangeTransaction",
    "GivenWarning",
    "HeldMessage",
    "InboxEntry",
    "OutboxDeferral",
    "OutboxEntry",
    "OutboxMark",
    "OutboxStatus",
    "PeerBackoff",
    "PeerRefusal",
    "PeerState",
    "PendingDepth",
    "Receipt",
    "ReceivingStore",
    "ReceivingTransaction",
    "ReconcileState",
    "ReconcilingStore",
    "ReconcilingTransaction",
    "ReferralCopy",
    "Rejection",
    "RejectionSide",
    "SentMessage",
    "SharedItem",
]


class OutboxStatus(enum.StrEnum):
    """Where a queued message stands. The value is what the outbox stores."""

    PENDING = "pending"  # not yet answered for good (also while its peer is suspended or backed off, or it
    # was refused for a transient reason and waits for its own backoff)
    ACKED = "acked"  # the peer accepted it, or had already, and its signed receipt verified
    REJECTED = "rejected"  # the peer refused it for good: it is never sent again


class InboxEntry(NamedTuple):
    """A message received from a peer, with its result: its inbox row."""

    sender: str
    message_id: str
    kind: str
    received_at: datetime
    status: str  # a node.exchange.delivery.DeliveryStatus value: accepted or rejected
    reason_code: str = ""
    reason: str = ""
    receipt: str = ""  # base64 of the signed receipt, for an accepted message


class ReferralCopy(NamedTuple):
    """A referral as this node received it: the exact message its origin signed, and this node's receipt."""

    origin_node: str
    origin_item_id: str
    item_id: str  # this node's item
    sender: str
    message_id: str
    signed_referral: bytes  # the serialised SignedMessage
    receipt: bytes  # this node's signed receipt of it
    received_at: datetime


class PeerRefusal(NamedTuple):
    """A peer's verified refusal of this node (suspended or revoked there), under this node's roster version."""

    peer: str
    reason_code: str
    reason: str
    roster_version: int  # the version this node trusted when refused: honoured until it changes
    refused_at: datetime
    refusal: bytes  # the peer's signed refusal


class GivenWarning(NamedTuple):
    """A once-only warning given to the operator (logged and recorded as an event)."""

    warning: str  # what it was about, e.g. "3:expiring" (roster version 3 expiring)
    code: str
    detail: str
    given_at: datetime


class HeldMessage(NamedTuple):
    """A message accepted before the item it is about (its referral is still on its way), held until it comes."""

    sender: str
    message_id: str
    origin_node: str
    origin_item_id: str
    kind: str  # an outbox kind (node.cases.exchange_messages), e.g. "withdrawal"
    body: str  # its outbox JSON
    held_at: datetime
    hold_until: datetime


class Receipt(NamedTuple):
    """A peer's signed receipt for a message this node sent: the chain of custody of the item."""

    message_id: str
    peer: str
    item_id: str
    accepted_at: datetime  # as the peer signed it
    receipt: str  # base64 of the signed receipt
    recorded_at: datetime


class OutboxMark(NamedTuple):
    """The answer a queued message got."""

    message_id: str
    status: OutboxStatus
    error: str = ""  # for a rejected message: "<reason code>: <reason>"


class OutboxDeferral(NamedTuple):
    """A queued message refused for a transient reason: it stays pending and goes again later."""

    message_id: str
    error: str  # "<reason code>: <reason>"


class PeerState(NamedTuple):
    """What this node knows of its link to a peer, for the operator."""

    peer: str
    failures: int
    next_attempt_at: datetime | None
    last_error: str
    last_success_at: datetime | None
    clock_skew: timedelta | None  # the peer's clock minus this node's, as last measured
    clock_measured_at: datetime | None


class SharedItem(NamedTuple):
    """An item this node shares with a peer, as reconciliation names it: the origin's reference and the last
    status sequence applied (at the origin) or sent (at the assignee)."""

    origin_node: str
    origin_item_id: str
    status_sequence: int
    first_reported_at: datetime
    item_id: str  # this node's own item id
    withdrawn: bool = False  # the origin withdrew the referral (at the assignee: the withdrawal was applied)


class SentMessage(NamedTuple):
    """A message this node queued for a peer, whatever its answer was."""

    message_id: str
    kind: str
    item_id: str
    body: str  # "" once retention cleared it
    status: OutboxStatus
    created_at: datetime


class ReconcileState(NamedTuple):
    """The last comparison of this node's view with a peer's."""

    peer: str
    checked_at: datetime
    agreed_at: datetime | None
    differences: int
    resent: int
    detail: str


class PeerBackoff(NamedTuple):
    """How often delivery to a peer has failed in a row, and when to try it next. PeerBackoff() is none."""

    failures: int = 0
    next_attempt_at: datetime | None = None


class ExchangeTransaction(Protocol):
    """One transaction, as the exchange uses it."""

    # The receiving side: deduplicate on (sender, message id), in the transaction that applies the messages.
    def get_inbox_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], InboxEntry]:
        """The entries of those (sender, message id) pairs received before; a pair never received is absent."""
        ...

    def put_inbox_many(self, entries: list[InboxEntry]) -> None:
        """Record received messages. A (sender, message id) pair MUST be recorded at most once: recording it
        again MUST fail the transaction. The reason code MAY be cut to 40 characters and the reason to 500."""
        ...

    def keep_referral_copy(self, copy: ReferralCopy) -> None:
        """Keep the referral received for (origin node, origin item id), replacing an earlier one of that item."""
        ...

    def hold_message(self, held: HeldMessage) -> None:
        """Keep a message that arrived before its item. A (sender, message id) pair is held at most once."""
        ...

    def held_count(self, sender: str) -> int:
        """How many messages from `sender` are held."""
        ...

    def take_held(self, origin_node: str, origin_item_id: str) -> list[HeldMessage]:
        """Remove and return the messages held for that item, in the order they were held."""
        ...

    def drop_expired_held(self, now: datetime) -> list[HeldMessage]:
        """Remove and return the held messages whose hold ended by `now`."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: an exception inside MUST undo all the block wrote (through this Protocol or
        CaseTransaction), and nothing else."""
        ...

    # The sending side.
    def pending_outbox_after(
        self,
        peer: str,
        after_id: int,
        limit: int,
        *,
        due_at: datetime | None = None,
        horizon: datetime | None = None,
    ) -> list[tuple[int, OutboxMessage]]:
        """(outbox id, message) of at most `limit` of `peer`'s PENDING messages whose outbox id is past
        `after_id`, oldest (lowest outbox id) first. Outbox ids MUST grow in the order messages are queued.
        With `due_at`: only the due ones, and none queued behind a message for the same peer about the same
        item that is not due (messages about one item go in queue order). A message never deferred is due; a
        deferred one is due from the time defer_outbox_many set, or at once if that lies beyond `horizon` (the
        clock was set back since)."""
        ...

    def defer_outbox_many(
        self, deferrals: list[OutboxDeferral], at: datetime, delay: Callable[[int], timedelta]
    ) -> None:
        """Keep each message PENDING, count one more attempt, record its error (MAY be cut to 500
        characters), and make it due at `at + delay(attempts)`, attempts counting this one."""
        ...

    def mark_outbox_many(self, marks: list[OutboxMark], at: datetime) -> None:
        """Set each message's status and error; an ACKED one MUST record `at` as its ack time. The error MAY
        be cut to 500 characters."""
        ...

    def put_receipts(self, receipts: list[Receipt]) -> None:
        """Keep each receipt. A message MUST keep the first receipt stored for it: a later one is ignored."""
        ...

    def peer_backoff(self, peer: str) -> PeerBackoff:
        """The backoff last set for `peer`; PeerBackoff() if none was."""
        ...

    def set_peer_backoff(
        self, peer: str, backoff: PeerBackoff, *, error: str = "", success_at: datetime | None = None
    ) -> None:
        """Replace `peer`'s backoff and last error (MAY be cut to 500 characters); record `success_at`, when
        given, as the last time a delivery to it succeeded."""
        ...

    def set_peer_clock(self, peer: str, skew: timedelta, at: datetime) -> None:
        """Record `peer`'s clock skew (its clock minus ours, to the millisecond) as measured at `at`."""
        ...

    def peer_answered(self, peer: str, at: datetime, skew: timedelta | None) -> None:
        """A delivery to `peer` was answered at `at`: what set_peer_backoff(peer, PeerBackoff(), success_at=at)
        and, with a `skew`, set_peer_clock(peer, skew, at) record, together."""
        ...

    def peer_states(self) -> list[PeerState]:
        """Every peer this node has a delivery or clock record of, by peer id."""
        ...

    def has_pending(self, peer: str) -> bool:
        """Whether `peer` has at least one PENDING message (due or not). One indexed lookup."""
        ...

    def peers_with_pending(self) -> list[str]:
        """Every peer with at least one PENDING message, in order. MUST stay cheap however many messages the
        outbox keeps: it runs whenever anything is queued."""
        ...

    # A peer's refusal of this node, honoured across restarts until the roster changes.
    def put_peer_refusal(self, refusal: PeerRefusal) -> None:
        """Keep `refusal` as the peer's (replacing an earlier one of that peer). The reason code MAY be cut to 40
        characters and the reason to 500."""
        ...

    def peer_refusals(self) -> list[PeerRefusal]:
        """Every refusal kept, by peer id."""
        ...

    def forget_peer_refusals(self, peer: str | None = None) -> int:
        """Forget `peer`'s refusal (None: every peer's); how many were forgotten."""
        ...

    # Once-only warnings, not given again after a restart.
    def give_warning(self, warning: str, code: str, detail: str, at: datetime) -> bool:
        """Record that the warning `warning` (at most 200 characters) was given; whether it is new (False: it was
        given before, by this process or another). The code MAY be cut to 40 characters, the detail to 500."""
        ...

    def warnings_given(self) -> list[GivenWarning]:
        """Every warning given, oldest first."""
        ...

    # Rosters.
    def put_roster(self, version: int, signed_b64: str, at: datetime) -> None:
        """Keep a verified roster (base64 of the signed roster) as trusted from `at`. Keeping a version again
        with the same bytes MUST change nothing; with other bytes, it MUST fail the transaction."""
        ...

    def rosters_after(self, version: int) -> list[tuple[int, str]]:
        """(version, base64 signed roster) of every trusted roster newer than `version`, oldest first."""
        ...

    # The operator's record.
    def append_event(self, event: Event) -> None:
        """Record an event for the operator, with the transaction: rolled back with it, never without it."""
        ...


class ReconcilingTransaction(ExchangeTransaction, Protocol):
    """What reconciliation reads and repairs (node.exchange.reconcile)."""

    def shared_items(self, peer: str, me: str, since: datetime, until: datetime, limit: int) -> list[SharedItem]:
        """At most `limit` items first reported in [since, until) that this node (`me`) referred to `peer`
        (their current assignee) or holds as assignee for `peer` (their origin), by (origin, origin item id)."""
        ...

    def sent_about(self, peer: str, item_ids: list[str]) -> list[SentMessage]:
        """Every message queued for `peer` about those items, in queue order."""
        ...

    def requeue_outbox(self, message_ids: list[str], at: datetime) -> int:
        """Make those messages PENDING again, due at `at`, as never attempted (same message ids: the peer
        deduplicates). Messages whose body retention cleared are left alone. Returns how many were queued."""
        ...

    def rewrite_outbox_body(self, message_id: str, body: str) -> None:
        """Replace a PENDING message's body (its id stays); a message in any other state is left alone."""
        ...

    def raise_status_sequence(self, item_id: str, sequence: int) -> bool:
        """Set the item's status sequence to `sequence` if it is lower; whether it changed."""
        ...

    def referral_copies(self, origin_node: str, origin_item_ids: list[str]) -> list[ReferralCopy]:
        """The referrals kept of those items of `origin_node` (keep_referral_copy); an item with none is absent."""
        ...

    def forget_refused(self, sender: str, reason_code: str) -> int:
        """Forget the inbox entries of `sender`'s messages refused with `reason_code`, so that they are judged
        afresh when sent again (a refused message changed nothing); how many."""
        ...

    def put_reconciliation(self, state: ReconcileState) -> None:
        """Record the last comparison with a peer (keeping the earlier agreed_at when this one is None)."""
        ...

    def reconciliations(self) -> list[ReconcileState]:
        """The last comparison with each peer, by peer id."""
        ...

    def mark_restored(self, at: datetime, source: str) -> None:
        """Record that the database was restored from a backup at `at`."""
        ...

    def last_restored_at(self) -> datetime | None:
        """When the database was last restored from a backup; None if never."""
        ...


class ReconcilingStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[ReconcilingTransaction]:
        """As ExchangeStore.transaction."""
        ...


class ExchangeStore(Protocol):
    def transaction(
        self, *, read_only: bool = False, single_read: bool = False
    ) -> AbstractContextManager[ExchangeTransaction]:
        """A unit of work: commits when the block ends normally, rolls back on any exception. A read-only one
        MUST NOT wait for writers. `single_read`: as node.cases.ports.CaseStore.transaction's."""
        ...


class ReceivingTransaction(ExchangeTransaction, CaseTransaction, Protocol):
    """What the receiver holds: it applies messages (CaseTransaction) and deduplicates them
    (ExchangeTransaction) in one transaction, so a message is applied and recorded together or not at all."""

    def prefetch_origins(self, keys: Iterable[tuple[str, str]]) -> None:
        """A hint before applying a batch: look up these (origin node, origin item id) pairs at once, so that
        find_item_by_origin MAY answer for them without a query of its own. MUST NOT change any answer."""
        ...


class ReceivingStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[ReceivingTransaction]:
        """As ExchangeStore.transaction, with the case workflow's operations in the same transaction."""
        ...


# The operator's view of the exchange (node.exchange.admin): reads bounded by a limit or by the number of peers,
# and one write, forgetting a peer's backoff.


class PendingDepth(NamedTuple):
    """A peer's pending outbox: how many messages wait, and when the oldest of them was queued."""

    peer: str
    messages: int
    oldest_created_at: datetime


class OutboxEntry(NamedTuple):
    """A queued message as the operator sees it: ids, kind, status and timing, never its body."""

    message_id: str
    peer: str
    kind: str
    item_id: str
    status: OutboxStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    acked_at: datetime | None
    last_error: str


class RejectionSide(enum.StrEnum):
    """Who refused: a peer refused a message this node sent, or this node refused one a peer sent."""

    BY_PEER = "by_peer"
    BY_NODE = "by_node"


class Rejection(NamedTuple):
    """A message refused for good, either way."""

    side: RejectionSide
    peer: str  # the recipient (BY_PEER) or the sender (BY_NODE)
    message_id: str
    kind: str
    item_id: str  # "" for a message a peer sent: the inbox keeps no item id
    reason_code: str
    reason: str
    at: datetime  # when the message was queued (BY_PEER) or received (BY_NODE)


class AdminTransaction(Protocol):
    def pending_by_peer(self) -> list[PendingDepth]:
        """Every peer with at least one PENDING outbox message, by peer id."""
        ...

    def peer_states(self) -> list[PeerState]:
        """Every peer this node has a delivery or clock record of, by peer id."""
        ...

    def rejection_counts(self) -> dict[str, int]:
        """Per peer, the messages refused for good either way; a peer with none is absent."""
        ...

    def rejections(self, peer: str | None, limit: int) -> list[Rejection]:
        """At most `limit` rejections (of `peer` only, if given), newest first."""
        ...

    def outbox_entries(self, peer: str | None, status: OutboxStatus | None, limit: int) -> list[OutboxEntry]:
        """At most `limit` outbox messages (of `peer`, in `status`, if given), oldest queued first."""
        ...

    def knows_peer(self, peer: str) -> bool:
        """Whether this node has a delivery record or an outbox message of `peer`."""
        ...

    def peer_refusals(self) -> list[PeerRefusal]:
        """Every peer's refusal of this node kept, by peer id."""
        ...

    def warnings_given(self) -> list[GivenWarning]:
        """Every once-only warning given, oldest first."""
        ...

    def reset_peer_backoff(self, peer: str, now: datetime) -> int:
        """Forget `peer`'s backoff (no failures, no next attempt) and make its deferred PENDING messages due
        at `now`; how many messages were made due."""
        ...


class AdminStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[AdminTransaction]:
        """A unit of work; read-only ones MUST NOT wait for writers."""


class ExchangeNodeTransaction(ReceivingTransaction, ReconcilingTransaction, Protocol):
    """Everything a node's exchange does in a transaction: receive, send, reconcile."""


class ExchangeNodeStore(Protocol):
    def transaction(
        self, *, read_only: bool = False, single_read: bool = False
    ) -> AbstractContextManager[ExchangeNodeTransaction]:
        """As ExchangeStore.transaction."""
        ...

    def watch_queue(self, watcher: Callable[[frozenset[str] | None], None]) -> None:
        """Call `watcher` after each commit in this process that made outbox messages PENDING (queued, or
        queued again), with the peers they are for (None if not known), before the commit's listeners are told."""
        ...
