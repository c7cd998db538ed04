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

This module holds the rounds (asking, answering, comparing the digests and the claims); the buckets, their digests
and the wire form of a view are in node.exchange.reconcile_digests, what a round changes in the store (queued
again, renumbered, recovered, recorded) in node.exchange.reconcile_repair, the types and ports in
node.exchange.reconcile_types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from google.protobuf.message import DecodeError
from uuid6 import uuid7

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.clock import Clock
from node.errors import InvalidArgument
from node.exchange.delivery import OpenedEnvelope, RejectedMessage
from node.exchange.ports import (
    ExchangeNodeStore,
    ReconcileState,
    ReconcilingTransaction,
    ReferralCopy,
    SharedItem,
)
from node.exchange.reconcile_digests import (
    BUCKET,
    bucket_digests,
    bucket_of,
    bucket_start,
    digests_of,
    range_of,
    time_of,
    view_message,
)
from node.exchange.reconcile_repair import Repair
from node.exchange.reconcile_types import (
    Claim,
    Members,
    ReconcileCrypto,
    ReconcileLimits,
    ReconcileOutcome,
    ReconcileRefused,
    ReconcileTransport,
    RecoverReferral,
)

__all__ = [
    "ReconcileLimits",
    "ReconcileOutcome",
    "ReconcileRefused",
    "ReconcileTransport",
    "Reconciliation",
    "bucket_digests",
]

_log = structlog.get_logger(__name__)

_MAX_SEQUENCE = 2**31 - 1  # what the items table keeps
_MAX_ROUNDS = 8  # of one reconciliation, while items come back


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
        self._me = node_id
        self._store = store
        self._crypto = crypto
        self._members = members
        self._clock = clock
        self.limits = limits or ReconcileLimits()
        self._repair = Repair(
            node_id=node_id,
            store=store,
            crypto=crypto,
            clock=clock,
            limits=self.limits,
            recover=recover,
            shared=self._shared,
        )

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
        theirs = await self._ask(peer, transport, view_message(since, until, ours, [], []))
        digests = digests_of(theirs)
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
            answer = await self._ask(peer, transport, view_message(since, until, ours, differing, listed, copies))
            resent_there += answer.resent
            recovered = await run_blocking(self._repair.recover, peer, answer.referral_copies)
            recovered_here += recovered
            their_items = self._items(answer, peer, detail)
            differences, resent, unrepairable, copies = await run_blocking(
                self._repair.repair_and_record, peer, since, until, detail, their_items, resent_there, full
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
        since, until = range_of(request)
        self._check_range(since, until)
        detail = {bucket_start(b) for b in request.detail_for}
        theirs = self._items(request, sender, detail)
        self._repair.recover(sender, request.referral_copies)
        resent, copies = 0, list[ReferralCopy]()
        if detail:
            _, resent, _, copies = self._repair.repair_and_record(sender, since, until, detail, theirs, 0)
            mine = self._view(sender, since, until)
        else:
            mine = self._view(sender, since, until)
            if bucket_digests(mine) == digests_of(request):
                self._record(sender, 0, 0, True, "")
        view = view_message(
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
            if bucket_of(time_of(item, "first_reported_at")) not in detail:
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

    def _restored_since_agreed(self, peer: str) -> bool:
        """Whether this node was restored and has not agreed with `peer` since."""
        with self._store.transaction(read_only=True) as tx:
            restored_at = tx.last_restored_at()
            if restored_at is None:
                return False
            agreed = {s.peer: s.agreed_at for s in tx.reconciliations()}.get(peer)
        return agreed is None or agreed <= restored_at

    def _record(self, peer: str, differences: int, resent: int, agreed: bool, detail: str) -> None:
        now = self._clock.now()
        with self._store.transaction() as tx:
            tx.put_reconciliation(
                ReconcileState(peer, now, now if agreed else None, max(differences, 0), resent, detail)
            )
