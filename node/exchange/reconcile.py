"""Reconciliation: two nodes compare what they believe they share, and queue again what the other lacks.

A shared item is one this node referred to the peer (its origin side) or holds as the peer's assignee; both name
it by (origin node, origin item id) and its last status sequence (applied at the origin, sent at the assignee).
The items are grouped in buckets (a UTC day of first_reported_at); each bucket has an RFC 9162 Merkle root over
its items, so two nodes show cheaply that they agree, bucket by bucket.

One round, started by either node (`hotline-node reconcile --peer X`, the scheduled job, and after a restore):
1. the caller sends its bucket digests for [since, until); the peer answers with its own. Equal: they agree.
2. otherwise the caller sends its items of the buckets that differ; the peer compares, queues again (through
   its outbox, same message ids) what the caller lacks, and answers with its items of those buckets; the caller
   does the same with the answer.
What each side queues again is a message it sent that peer before, so the peer's claims can at worst make it
send a message again; the receiver deduplicates on the message id, so nothing is applied twice. Every request
and answer is signed by its sender and sealed to its recipient (kinds RECONCILE_REQUEST and RECONCILE_ANSWER),
and only an active member may ask.

An item the origin itself lost (restored from a backup older than its referral) comes back from the assignee:
each node keeps every referral it received as its origin signed it, with its own receipt, and hands those the
origin lacks back in the view (`referral_copies`). The origin trusts a copy only as far as its own signature goes:
signed by this node with a key it holds (current or retired), a referral to that peer made before its last
restore, and the peer's receipt of exactly those bytes. It re-creates the item (referred to the peer, at the
status sequence the referral carried), its outbox entry (acknowledged) and the receipt, and forgets its refusals
(UNKNOWN_ITEM) of the peer's updates, so that the updates the peer queues again apply, once. A copy that does not
verify refuses the whole view (BAD_REFERRAL_COPY) and changes nothing. The side that learns of a recovery asks
once more, so that one round queues the updates the recovered items lack.

What no message can repair is reported, not guessed at: an item the origin lost with no copy at the assignee
(withdrawn there, or retention cleared it), or messages whose body retention cleared.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

import structlog
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from uuid6 import uuid7

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import (
    KIND_REFERRAL,
    KIND_STATUS_UPDATE,
    Referral,
    StatusUpdate,
    dump_body,
    from_outbox,
)
from node.cases.model import Event, MessageDetails, OutboxMessage
from node.clock import Clock
from node.crypto.merkle import MerkleTree, leaf_hash
from node.errors import DomainError, InvalidArgument
from node.exchange.codec import decode_body
from node.exchange.delivery import OpenedEnvelope, RejectedMessage
from node.exchange.ports import (
    ExchangeNodeStore,
    ExchangeNodeTransaction,
    OutboxMark,
    OutboxStatus,
    Receipt,
    ReconcileState,
    ReconcilingTransaction,
    ReferralCopy,
    SentMessage,
    SharedItem,
)
from node.proto_types import timestamp, timestamp_from_proto

__all__ = [
    "ReconcileLimits",
    "ReconcileOutcome",
    "ReconcileRefused",
    "ReconcileTransport",
    "Reconciliation",
    "bucket_digests",
]

_log = structlog.get_logger(__name__)

BUCKET = timedelta(days=1)
_MAX_SEQUENCE = 2**31 - 1  # what the items table keeps
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ROUNDS = 8  # of one reconciliation, while items come back


@dataclass(frozen=True, slots=True)
class ReconcileLimits:
    max_range: timedelta = timedelta(days=400)
    max_items: int = 20_000  # in one view; a wider view is refused: ask for a narrower range
    max_envelope_bytes: int = 4 * 1024 * 1024
    max_clock_skew: timedelta = timedelta(minutes=5)
    ttl: timedelta = timedelta(minutes=5)


class Claim(NamedTuple):
    """What a peer claims of a shared item."""

    status_sequence: int
    withdrawn: bool


class ReconcileRefused(Exception):
    """A reconciliation request refused; `kind` is what the transport answers: "denied" (not an active member,
    or not the sender the TLS peer is), "invalid" (malformed, bad range, bad signature) or "exhausted" (too
    large)."""

    def __init__(self, kind: str, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.kind, self.code, self.message = kind, code, message


class ReconcileTransport(Protocol):
    async def reconcile(self, peer: str, envelope: bytes) -> bytes:
        """Send a sealed request to `peer` and return its sealed answer; raises TransportError."""
        ...


class ReconcileCrypto(Protocol):
    def seal(
        self, *, kind: int, body: bytes, recipient: str, message_id: str, created_at: datetime, expires_at: datetime
    ) -> bytes: ...

    def open(self, data: bytes) -> OpenedEnvelope: ...

    def verify_referral_copy(
        self, signed_referral: bytes, receipt: bytes, *, peer: str
    ) -> tuple[OpenedEnvelope, datetime]: ...


# Re-creates this node's item from its own verified referral to a peer (node.cases.federation); whether it did.
RecoverReferral = Callable[[ExchangeNodeTransaction, str, Referral, datetime], bool]


class Members(Protocol):
    def is_active(self, node_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ReconcileOutcome:
    peer: str
    agreed: bool
    differences: int  # shared items the two views differ on
    resent_here: int  # messages this node queued again for the peer
    resent_there: int  # messages the peer queued again for this node
    unrepairable: list[str] = field(default_factory=list)  # what no message can repair, one line each
    recovered: int = 0  # items this node had lost, re-created from the peer's copies of its referrals

    def as_json(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "agreed": self.agreed,
            "differences": self.differences,
            "resent_here": self.resent_here,
            "resent_there": self.resent_there,
            "unrepairable": self.unrepairable,
            "recovered": self.recovered,
        }


def bucket_of(at: datetime) -> datetime:
    return _EPOCH + ((at - _EPOCH) // BUCKET) * BUCKET


def _leaf(item: SharedItem) -> bytes:
    state = "withdrawn" if item.withdrawn else str(item.status_sequence)
    return leaf_hash(f"{item.origin_node}\n{item.origin_item_id}\n{state}".encode())


def bucket_digests(items: Iterable[SharedItem]) -> dict[datetime, tuple[int, bytes]]:
    """(count, Merkle root) of each bucket with items; the items of a bucket sorted by their reference."""
    buckets: dict[datetime, list[SharedItem]] = {}
    for item in items:
        buckets.setdefault(bucket_of(item.first_reported_at), []).append(item)
    return {
        start: (len(group), MerkleTree([_leaf(i) for i in sorted(group, key=_key)]).root)
        for start, group in buckets.items()
    }


def _key(item: SharedItem) -> tuple[str, str]:
    return item.origin_node, item.origin_item_id


class Reconciliation:
    """One node's side of reconciliation: `answer` serves a peer's request (blocking: the database);
    `reconcile` asks a peer."""

    def __init__(
        self,
        *,
        node_id: str,
        store: ExchangeNodeStore,
        crypto: ReconcileCrypto,
        members: Callable[[], Members],
        clock: Clock,
        limits: ReconcileLimits | None = None,
        recover: RecoverReferral | None = None,
    ) -> None:
        """`recover`: re-create an item from this node's own referral a peer handed back; without it, copies are
        refused."""
        self._recover_item = recover
        self._me = node_id
        self._store = store
        self._crypto = crypto
        self._members = members
        self._clock = clock
        self.limits = limits or ReconcileLimits()

    # ------------------------------------------------------------------ asking a peer

    async def reconcile(
        self,
        peer: str,
        transport: ReconcileTransport,
        run_blocking: Callable[..., Awaitable[Any]],
        *,
        since: datetime,
        until: datetime,
    ) -> ReconcileOutcome:
        """Compare this node's view with `peer`'s for [since, until) and queue again what either lacks."""
        if peer == self._me or not self._members().is_active(peer):
            raise InvalidArgument(f"{peer} is not an active member of the roster", field="peer")
        self._check_range(since, until)
        mine: list[SharedItem] = await run_blocking(self._view, peer, since, until)
        ours = bucket_digests(mine)
        theirs = await self._ask(peer, transport, self._request(since, until, ours, [], []))
        digests = _digests(theirs)
        # The first round with a peer after a restore compares every item, whatever the digests say: updates
        # queued since the restore may carry numbers the peer applied already (the digests would agree).
        full = await run_blocking(self._restored_since_agreed, peer)
        differing = sorted(b for b in ours.keys() | digests.keys() if full or ours.get(b) != digests.get(b))
        if not differing:
            await run_blocking(self._record, peer, 0, 0, True, "")
            _log.info("reconcile.agreed", peer=peer, items=len(mine))
            return ReconcileOutcome(peer, True, 0, 0, 0)
        detail = set(differing)
        copies: list[ReferralCopy] = []  # the peer's items it lacks, to hand back
        resent_there, rounds, recovered_here = 0, 0, 0
        handed: set[str] = set()  # the items whose copies were handed to the peer
        while True:
            listed = [i for i in mine if bucket_of(i.first_reported_at) in detail]
            answer = await self._ask(peer, transport, self._request(since, until, ours, differing, listed, copies))
            resent_there += answer.resent
            recovered = await run_blocking(self._recover, peer, answer.referral_copies)
            recovered_here += recovered
            their_items = self._items(answer, peer, detail)
            differences, resent, unrepairable, copies = await run_blocking(
                self._repair_and_record, peer, since, until, detail, their_items, resent_there, full
            )
            rounds += 1
            # Items came back, here or there: once more, so that what they lack (status updates) is queued now
            # (and the copies a view had no room for go in the next). Copies the peer did not take (it was not
            # restored) are not handed again.
            fresh = {c.origin_item_id for c in copies} - handed
            handed |= fresh
            if not (recovered or fresh) or rounds >= _MAX_ROUNDS:
                break
            mine = await run_blocking(self._view, peer, since, until)
        _log.info(
            "reconcile.differed", peer=peer, differences=differences, resent_here=resent, resent_there=resent_there
        )
        if not differences and not resent_there:
            return ReconcileOutcome(peer, True, 0, 0, 0, unrepairable, recovered_here)
        return ReconcileOutcome(peer, False, differences, resent, resent_there, unrepairable, recovered_here)

    def _request(
        self,
        since: datetime,
        until: datetime,
        digests: dict[datetime, tuple[int, bytes]],
        detail_for: Sequence[datetime],
        items: Sequence[SharedItem],
        copies: Sequence[ReferralCopy] = (),
    ) -> messages_pb2.ReconcileView:
        return messages_pb2.ReconcileView(
            since=timestamp(since),
            until=timestamp(until),
            buckets=[
                messages_pb2.BucketDigest(start=timestamp(start), count=count, root=root)
                for start, (count, root) in sorted(digests.items())
            ],
            detail_for=[_stamp(b) for b in detail_for],
            items=[_to_proto(i) for i in items],
            referral_copies=[
                messages_pb2.ReferralCopy(signed_referral=c.signed_referral, receipt=c.receipt) for c in copies
            ],
        )

    async def _ask(
        self, peer: str, transport: ReconcileTransport, view: messages_pb2.ReconcileView
    ) -> messages_pb2.ReconcileView:
        answer = await transport.reconcile(peer, self._seal(envelope_pb2.MESSAGE_KIND_RECONCILE_REQUEST, view, peer))
        opened = self._open(answer, peer, envelope_pb2.MESSAGE_KIND_RECONCILE_ANSWER)
        return self._parse(opened.body)

    # ------------------------------------------------------------------ answering a peer

    def answer(self, envelope: bytes, *, peer: str | None) -> bytes:
        """A peer's sealed request -> this node's sealed answer. Raises ReconcileRefused; a refused request
        changes nothing."""
        if len(envelope) > self.limits.max_envelope_bytes:
            raise ReconcileRefused(
                "exhausted", "OVERSIZE", f"a reconciliation request is at most {self.limits.max_envelope_bytes} bytes"
            )
        opened = self._open(envelope, peer, envelope_pb2.MESSAGE_KIND_RECONCILE_REQUEST)
        sender = opened.sender
        request = self._parse(opened.body)
        since, until = _range(request)
        self._check_range(since, until)
        detail = {_bucket_start(b) for b in request.detail_for}
        theirs = self._items(request, sender, detail)
        self._recover(sender, request.referral_copies)
        resent, copies = 0, list[ReferralCopy]()
        if detail:
            _, resent, _, copies = self._repair_and_record(sender, since, until, detail, theirs, 0)
            mine = self._view(sender, since, until)
        else:
            mine = self._view(sender, since, until)
            if bucket_digests(mine) == _digests(request):
                self._record(sender, 0, 0, True, "")
        view = self._request(
            since,
            until,
            bucket_digests(mine),
            sorted(detail),
            [i for i in mine if bucket_of(i.first_reported_at) in detail],
            copies,
        )
        view.resent = resent
        return self._seal(envelope_pb2.MESSAGE_KIND_RECONCILE_ANSWER, view, sender)

    def _seal(self, kind: int, view: messages_pb2.ReconcileView, recipient: str) -> bytes:
        """Signed by this node, sealed to `recipient`, valid for the limits' ttl."""
        now = self._clock.now()
        return self._crypto.seal(
            kind=kind,
            body=view.SerializeToString(),
            recipient=recipient,
            message_id=str(uuid7()),
            created_at=now,
            expires_at=now + self.limits.ttl,
        )

    def _open(self, envelope: bytes, peer: str | None, kind: int) -> OpenedEnvelope:
        try:
            opened = self._crypto.open(envelope)
        except RejectedMessage as error:
            raise ReconcileRefused("invalid", error.code, error.reason) from None
        if peer is not None and opened.sender != peer:
            raise ReconcileRefused("denied", "PEER_MISMATCH", f"the TLS peer is {peer}, not {opened.sender}")
        if not self._members().is_active(opened.sender):
            raise ReconcileRefused("denied", "SENDER_NOT_ACTIVE", f"{opened.sender} is not an active member")
        if opened.kind != kind:
            raise ReconcileRefused("invalid", "MALFORMED", f"expected message kind {kind}, got {opened.kind}")
        now = self._clock.now()
        if opened.expires_at <= now:
            raise ReconcileRefused("invalid", "EXPIRED", f"the request expired at {opened.expires_at.isoformat()}")
        if opened.created_at - now > self.limits.max_clock_skew:
            raise ReconcileRefused("invalid", "FROM_THE_FUTURE", "the request is dated ahead of this node's clock")
        return opened

    def _parse(self, body: bytes) -> messages_pb2.ReconcileView:
        view = messages_pb2.ReconcileView()
        try:
            view.ParseFromString(body)
        except DecodeError:
            raise ReconcileRefused("invalid", "MALFORMED", "the body is not a ReconcileView") from None
        if (
            max(len(view.items), len(view.buckets), len(view.detail_for), len(view.referral_copies))
            > self.limits.max_items
        ):
            raise ReconcileRefused(
                "exhausted", "TOO_MANY_ITEMS", f"at most {self.limits.max_items} items: ask for a narrower range"
            )
        return view

    def _check_range(self, since: datetime, until: datetime) -> None:
        if since >= until:
            raise ReconcileRefused(
                "invalid", "BAD_RANGE", f"the range is empty: {since.isoformat()} >= {until.isoformat()}"
            )
        if until - since > self.limits.max_range:
            raise ReconcileRefused(
                "invalid", "BAD_RANGE", f"the range spans more than {self.limits.max_range.days} days"
            )
        if until > self._clock.now() + self.limits.max_clock_skew + BUCKET:
            raise ReconcileRefused("invalid", "BAD_RANGE", f"the range ends in the future: {until.isoformat()}")

    def _items(
        self, view: messages_pb2.ReconcileView, peer: str, detail: set[datetime]
    ) -> dict[tuple[str, str], Claim]:
        """The peer's claimed items, by reference; only items the two can share, in the buckets asked about."""
        claimed: dict[tuple[str, str], Claim] = {}
        for item in view.items:
            if item.origin_node not in (self._me, peer) or not item.origin_item_id:
                raise ReconcileRefused("invalid", "MALFORMED", "an item's origin is neither of the two nodes")
            if item.status_sequence > _MAX_SEQUENCE:
                raise ReconcileRefused("invalid", "MALFORMED", f"a status sequence is at most {_MAX_SEQUENCE}")
            if bucket_of(_time(item, "first_reported_at")) not in detail:
                raise ReconcileRefused("invalid", "MALFORMED", "an item lies outside the buckets listed")
            claimed[(item.origin_node, item.origin_item_id)] = Claim(item.status_sequence, item.withdrawn)
        return claimed

    # ------------------------------------------------------------------ the store

    def _view(self, peer: str, since: datetime, until: datetime) -> list[SharedItem]:
        with self._store.transaction(read_only=True) as tx:
            return self._shared(tx, peer, since, until)

    def _shared(self, tx: ReconcilingTransaction, peer: str, since: datetime, until: datetime) -> list[SharedItem]:
        items = tx.shared_items(peer, self._me, since, until, self.limits.max_items + 1)
        if len(items) > self.limits.max_items:
            raise ReconcileRefused(
                "exhausted", "TOO_MANY_ITEMS", f"more than {self.limits.max_items} shared items: narrow the range"
            )
        return items

    def _repair_and_record(
        self,
        peer: str,
        since: datetime,
        until: datetime,
        detail: set[datetime],
        theirs: dict[tuple[str, str], Claim],
        resent_there: int,
        after_restore: bool = False,
    ) -> tuple[int, int, list[str], list[ReferralCopy]]:
        """Compare this node's items of the `detail` buckets with the peer's, queue again what the peer lacks,
        and record the comparison: (differences, messages queued again, what cannot be repaired, the copies of the
        peer's referrals it lacks, to hand back)."""
        now = self._clock.now()
        with self._store.transaction() as tx:
            mine = {
                _key(i): i for i in self._shared(tx, peer, since, until) if bucket_of(i.first_reported_at) in detail
            }
            resend_all: list[str] = []  # items the peer (their assignee) lacks: send it everything about them
            updates_after: dict[str, int] = {}  # items whose status updates past a sequence the origin lacks
            unrepairable: list[str] = []
            lacking: dict[str, SharedItem] = {}  # the peer's items it lacks, by its item id
            differences = len(theirs.keys() - mine.keys())
            for reference in sorted(theirs.keys() - mine.keys()):
                if reference[0] == self._me:
                    unrepairable.append(f"item {reference[1]} (this node's) is known to {peer} but not here")
            restored_at = tx.last_restored_at() if after_restore else None
            queued: dict[str, list[SentMessage]] = {}  # since the restore, by item: what _number_on renumbers
            if restored_at is not None:
                held = [i.item_id for i in mine.values() if i.origin_node == peer]
                for message in tx.sent_about(peer, held):
                    if message.created_at > restored_at:
                        queued.setdefault(message.item_id, []).append(message)
            for reference, item in sorted(mine.items()):
                claim = theirs.get(reference)
                their = None if claim is None else claim.status_sequence
                counter = item.status_sequence
                if their is not None and item.item_id in queued:
                    counter = self._number_on(tx, peer, item.item_id, queued[item.item_id], their, counter)
                if claim is not None and claim.withdrawn and item.withdrawn:
                    continue  # withdrawn on both sides: what follows a withdrawal changes nothing
                if claim == Claim(counter, item.withdrawn) and counter == item.status_sequence:
                    continue
                differences += 1
                if item.origin_node == self._me:
                    if claim is None or (item.withdrawn and not claim.withdrawn):
                        resend_all.append(item.item_id)  # the referral, and the withdrawal it lacks
                elif their is None:
                    lacking[item.origin_item_id] = item
                elif claim is not None and claim.withdrawn:
                    continue  # the origin withdrew it: it sends the withdrawal again
                elif their < counter:
                    updates_after[item.item_id] = their
                elif tx.raise_status_sequence(item.item_id, their):
                    # We lost updates we had sent (a restore): number on from what the origin applied.
                    _log.warning("reconcile.sequence_raised", peer=peer, item_id=item.item_id, sequence=their)
            kept = tx.referral_copies(peer, sorted(k for k, i in lacking.items() if not i.withdrawn))
            for origin_item_id, item in sorted(lacking.items()):
                if origin_item_id not in {c.origin_item_id for c in kept}:
                    unrepairable.append(f"item {item.item_id} (origin {peer}'s {origin_item_id}) is unknown there")
            copies = _within(kept, self.limits.max_envelope_bytes // 2)  # the rest go in the next view
            again = [
                m.message_id
                for m in tx.sent_about(peer, [*resend_all, *updates_after])
                if m.item_id in resend_all or _update_after(m.kind, m.body, updates_after.get(m.item_id))
            ]
            resent = tx.requeue_outbox(again, now)
            if resent < len(again):
                unrepairable.append(f"{len(again) - resent} messages to resend had their body cleared by retention")
            self._report(tx, peer, unrepairable, now)
            tx.put_reconciliation(
                ReconcileState(
                    peer,
                    now,
                    now if not differences else None,
                    differences,
                    resent + resent_there,
                    "; ".join(unrepairable),
                )
            )
        return differences, resent, unrepairable, copies

    def _recover(self, peer: str, copies: Sequence[messages_pb2.ReferralCopy]) -> int:
        """Re-create the items `peer` handed back copies of (this node's own referrals, lost in a restore); how
        many. Every copy is checked before anything is written: one that does not verify refuses them all."""
        if not copies:
            return 0
        if self._recover_item is None:
            raise ReconcileRefused("invalid", "BAD_REFERRAL_COPY", "this node takes no referral copies")
        verified: list[tuple[OpenedEnvelope, datetime, Referral, bytes]] = []
        for copy in copies:
            try:
                opened, accepted_at = self._crypto.verify_referral_copy(copy.signed_referral, copy.receipt, peer=peer)
            except RejectedMessage as error:
                _log.warning("reconcile.copy_refused", peer=peer, code=error.code)
                raise ReconcileRefused("invalid", "BAD_REFERRAL_COPY", error.reason) from None
            try:
                referral = decode_body(opened.kind, opened.body, sender=self._me)
            except DomainError as error:
                raise ReconcileRefused(
                    "invalid", "BAD_REFERRAL_COPY", f"the referral does not decode: {error}"
                ) from None
            if not isinstance(referral, Referral) or referral.origin_node != self._me or referral.referred_by:
                raise ReconcileRefused("invalid", "BAD_REFERRAL_COPY", "not a referral this node originated")
            verified.append((opened, accepted_at, referral, copy.receipt))
        now = self._clock.now()
        recovered = 0
        with self._store.transaction() as tx:
            restored_at = tx.last_restored_at()
            for opened, accepted_at, referral, receipt in verified:
                if restored_at is None or opened.created_at > restored_at:
                    continue  # no restore lost it: not taken back (retention may have purged it)
                if not self._recover_item(tx, peer, referral, opened.created_at):
                    continue  # here already
                item_id = referral.origin_item_id
                body = dump_body(referral.to_json())
                tx.enqueue_outbox(
                    OutboxMessage(opened.message_id, peer, KIND_REFERRAL, item_id, body, opened.created_at)
                )
                tx.mark_outbox_many([OutboxMark(opened.message_id, OutboxStatus.ACKED)], accepted_at)
                receipt_b64 = base64.b64encode(receipt).decode()
                tx.put_receipts([Receipt(opened.message_id, peer, item_id, accepted_at, receipt_b64, now)])
                recovered += 1
            if recovered:  # the peer's updates about them, refused while they were lost, are judged afresh
                tx.forget_refused(peer, "UNKNOWN_ITEM")
        if recovered:
            _log.warning("reconcile.recovered", peer=peer, items=recovered)
        return recovered

    @staticmethod
    def _number_on(
        tx: ReconcilingTransaction,
        peer: str,
        item_id: str,
        since_restore: list[SentMessage],
        applied: int,
        counter: int,
    ) -> int:
        """After a restore: the status updates about an item queued since the restore (`since_restore`; not sent
        yet: a restored node sends a peer nothing before it has reconciled with it) were numbered from the
        restored, older count. If the origin has applied any of those numbers already, they get the numbers after
        `applied`, in queue order, and the item counts on from them. Updates queued before the restore keep
        theirs: the origin may have them, and knows them by id. Returns the item's count."""
        queued = [
            (message, from_outbox(message.kind, message.body))
            for message in since_restore
            if message.kind == KIND_STATUS_UPDATE and message.status is OutboxStatus.PENDING and message.body
        ]
        updates = [(m, u) for m, u in queued if isinstance(u, StatusUpdate)]
        if not updates or min(u.sequence for _, u in updates) > applied:
            return counter
        sequence = applied
        for message, update in updates:
            sequence += 1
            tx.rewrite_outbox_body(
                message.message_id, dump_body(dataclasses.replace(update, sequence=sequence).to_json())
            )
        tx.raise_status_sequence(item_id, sequence)
        _log.warning("reconcile.renumbered", peer=peer, item_id=item_id, applied=applied, updates=len(updates))
        return max(counter, sequence)

    def _restored_since_agreed(self, peer: str) -> bool:
        """Whether this node was restored and has not agreed with `peer` since."""
        with self._store.transaction(read_only=True) as tx:
            restored_at = tx.last_restored_at()
            if restored_at is None:
                return False
            agreed = {s.peer: s.agreed_at for s in tx.reconciliations()}.get(peer)
        return agreed is None or agreed <= restored_at

    @staticmethod
    def _report(tx: ReconcilingTransaction, peer: str, unrepairable: list[str], now: datetime) -> None:
        """An event for the operator when what cannot be repaired with a peer changes (not at every round)."""
        before = next((s.detail for s in tx.reconciliations() if s.peer == peer), "")
        detail = "; ".join(unrepairable)[:500]
        if detail and detail != before:
            tx.append_event(
                Event(
                    str(uuid.uuid4()),
                    EventKind.RECONCILE_UNREPAIRABLE,
                    now,
                    detail=f"with {peer}: {detail}",
                    details=MessageDetails(peer),
                )
            )
            _log.warning("reconcile.unrepairable", peer=peer, detail=detail)

    def _record(self, peer: str, differences: int, resent: int, agreed: bool, detail: str) -> None:
        now = self._clock.now()
        with self._store.transaction() as tx:
            tx.put_reconciliation(
                ReconcileState(peer, now, now if agreed else None, max(differences, 0), resent, detail)
            )


def _within(copies: list[ReferralCopy], budget: int) -> list[ReferralCopy]:
    """The first of `copies` that fit in `budget` bytes (at least one: a single copy is at most an envelope)."""
    taken: list[ReferralCopy] = []
    size = 0
    for copy in copies:
        size += len(copy.signed_referral) + len(copy.receipt)
        if taken and size > budget:
            break
        taken.append(copy)
    return taken


def _update_after(kind: str, body: str, sequence: int | None) -> bool:
    if sequence is None or kind != KIND_STATUS_UPDATE or not body:
        return False
    message = from_outbox(kind, body)
    return isinstance(message, StatusUpdate) and message.sequence > sequence


def _digests(view: messages_pb2.ReconcileView) -> dict[datetime, tuple[int, bytes]]:
    return {_time(b, "start"): (b.count, b.root) for b in view.buckets}


def _range(view: messages_pb2.ReconcileView) -> tuple[datetime, datetime]:
    return _time(view, "since"), _time(view, "until")


def _time(message: Any, name: str) -> datetime:
    try:
        value = timestamp_from_proto(message, name, field=name)
    except InvalidArgument as error:
        raise ReconcileRefused("invalid", "MALFORMED", str(error)) from None
    if value is None:
        raise ReconcileRefused("invalid", "MALFORMED", f"{name} is missing")
    return value


def _bucket_start(stamp: Timestamp) -> datetime:
    try:
        start = stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ReconcileRefused("invalid", "MALFORMED", "detail_for holds a time out of range") from None
    if start != bucket_of(start):
        raise ReconcileRefused("invalid", "MALFORMED", "detail_for holds a time that starts no bucket")
    return start


def _stamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _to_proto(item: SharedItem) -> messages_pb2.SharedItem:
    return messages_pb2.SharedItem(
        origin_node=item.origin_node,
        origin_item_id=item.origin_item_id,
        status_sequence=item.status_sequence,
        first_reported_at=timestamp(item.first_reported_at),
        withdrawn=item.withdrawn,
    )
