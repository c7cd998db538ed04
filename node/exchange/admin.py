"""The operator's view of the federation, for the CLI (`hotline-node status`, `outbox list`, `rejections list`,
`peers reset-backoff`) and the admin RPCs alike: the same reads of the store, whether the node runs or not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from node.cases.fields import check_node_id
from node.clock import Clock
from node.errors import InvalidArgument, NotFound
from node.exchange.membership import RosterMembership
from node.exchange.ports import (
    AdminStore,
    GivenWarning,
    OutboxEntry,
    OutboxStatus,
    PeerRefusal,
    PeerState,
    Rejection,
)

__all__ = ["MAX_LIST", "FederationAdmin", "FederationStatus", "PeerStatus", "RosterSummary", "roster_summary"]

_log = structlog.get_logger(__name__)
MAX_LIST = 1000


@dataclass(frozen=True)
class RosterSummary:
    version: int
    expires_at: datetime
    members: tuple[str, ...] = ()  # node ids, this node's among them


@dataclass(frozen=True)
class PeerStatus:
    """One peer's link: its outbox, its backoff and last contact (None: no delivery record yet), rejections,
    and the peer's refusal of this node (None: none)."""

    peer: str
    pending: int
    oldest_pending_at: datetime | None
    link: PeerState | None
    rejections: int
    refusal: PeerRefusal | None = None


@dataclass(frozen=True)
class FederationStatus:
    node_id: str
    roster: RosterSummary | None  # None: the node runs no exchange
    peers: list[PeerStatus]
    warnings: list[GivenWarning] = field(default_factory=list)  # the once-only warnings given, oldest first


def roster_summary(membership: RosterMembership) -> RosterSummary:
    return RosterSummary(membership.version, membership.expires_at, tuple(m.node_id for m in membership.roster.members))


class FederationAdmin:
    """`roster` reads the trusted roster (None without the exchange)."""

    def __init__(
        self, node_id: str, store: AdminStore, clock: Clock, roster: Callable[[], RosterSummary] | None = None
    ) -> None:
        self._node_id, self._store, self._clock, self._roster = node_id, store, clock, roster

    def status(self) -> FederationStatus:
        """Every peer the roster lists or this node has a record of (sent to, received from, refused)."""
        roster = self._roster() if self._roster else None
        members = roster.members if roster else ()
        with self._store.transaction(read_only=True) as tx:
            pending = {p.peer: p for p in tx.pending_by_peer()}
            links = {s.peer: s for s in tx.peer_states()}
            refused = tx.rejection_counts()
            refusals = {r.peer: r for r in tx.peer_refusals()}
            warnings = tx.warnings_given()
        peers = [
            PeerStatus(
                peer,
                pending[peer].messages if peer in pending else 0,
                pending[peer].oldest_created_at if peer in pending else None,
                links.get(peer),
                refused.get(peer, 0),
                refusals.get(peer),
            )
            for peer in sorted({*pending, *links, *refused, *refusals, *members} - {self._node_id})
        ]
        return FederationStatus(self._node_id, roster, peers, warnings)

    def outbox(self, peer: str = "", status: OutboxStatus | None = None, limit: int = 100) -> list[OutboxEntry]:
        with self._store.transaction(read_only=True) as tx:
            return tx.outbox_entries(_peer_filter(peer), status, _limit(limit))

    def rejections(self, peer: str = "", limit: int = 100) -> list[Rejection]:
        with self._store.transaction(read_only=True) as tx:
            return tx.rejections(_peer_filter(peer), _limit(limit))

    def reset_backoff(self, peer: str) -> int:
        """Forget `peer`'s backoff and make its deferred messages due now; how many were made due. A peer this
        node has no record of is NotFound: nothing is written."""
        check_node_id(peer, field="peer")
        with self._store.transaction() as tx:
            if not tx.knows_peer(peer):
                raise NotFound(f"this node has no delivery record of {peer!r}", field="peer")
            due = tx.reset_peer_backoff(peer, self._clock.now())
        _log.info("exchange.backoff_reset", peer=peer, messages_due=due)
        return due


def _peer_filter(peer: str) -> str | None:
    return check_node_id(peer, field="peer") if peer else None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIST:
        raise InvalidArgument(f"must be between 1 and {MAX_LIST}", field="limit")
    return limit
