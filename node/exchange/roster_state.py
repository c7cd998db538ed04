"""The roster this node trusts: persisted, updated only through verified versions, swapped without a restart.

The first roster comes from a file shipped out of band (like TUF's root metadata): it must carry a threshold
of signatures by its own authority keys. Every later version must be signed by a threshold of the authority
keys of the version before it.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence

import structlog

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.clock import Clock
from node.crypto.roster import PinnedAuthority, RosterError, verify_first_roster, verify_roster_chain
from node.exchange.membership import RosterMembership
from node.exchange.ports import ExchangeStore

__all__ = ["RosterState"]

_log = structlog.get_logger(__name__)


class RosterState:
    def __init__(self, store: ExchangeStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Callable[[RosterMembership], None]] = []
        self._membership: RosterMembership | None = None
        with store.transaction(read_only=True) as tx:
            stored = tx.rosters_after(0)
        if stored:
            signed = roster_pb2.SignedRoster.FromString(base64.b64decode(stored[-1][1]))
            self._membership = RosterMembership(roster_pb2.Roster.FromString(signed.roster))

    @property
    def membership(self) -> RosterMembership:
        if self._membership is None:
            raise RosterError("MALFORMED", "no roster is trusted yet")
        return self._membership

    def on_change(self, listener: Callable[[RosterMembership], None]) -> None:
        self._listeners.append(listener)

    def bootstrap(self, signed: bytes, pinned: PinnedAuthority | None = None) -> RosterMembership:
        """Trust the shipped roster on first start, if the pinned authority signed it (without a pin, its own
        authority: trust on first use); later starts keep the newer one they already trust."""
        if self._membership is not None:
            return self._membership
        roster = verify_first_roster(signed, now=self._clock.now(), pinned=pinned)
        if pinned is None:
            _log.warning("roster.unpinned", version=roster.version, fix="set exchange.authority_key_ids")
        self._trust([signed], roster)
        return self.membership

    def accept(self, signed_rosters: Sequence[bytes]) -> RosterMembership:
        """Apply newer versions in order; raises RosterError (and keeps the current one) if any fails."""
        with self._lock:
            current = self.membership.roster
            newest = verify_roster_chain(signed_rosters, trusted=current, now=self._clock.now())
            assert newest is not None
            self._trust(list(signed_rosters), newest)
        return self.membership

    def signed_after(self, version: int) -> list[bytes]:
        with self._store.transaction(read_only=True) as tx:
            return [base64.b64decode(b64) for _, b64 in tx.rosters_after(version)]

    def _trust(self, signed_rosters: list[bytes], newest: roster_pb2.Roster) -> None:
        now = self._clock.now()
        with self._store.transaction() as tx:
            for signed in signed_rosters:
                roster = roster_pb2.Roster.FromString(roster_pb2.SignedRoster.FromString(signed).roster)
                tx.put_roster(roster.version, base64.b64encode(signed).decode(), now)
        self._membership = RosterMembership(newest)
        _log.info("roster.trusted", version=newest.version, members=len(newest.members))
        for listener in self._listeners:
            listener(self._membership)
