"""The roster this node trusts: persisted, updated only through verified versions, swapped without a restart.

The first roster comes from a file shipped out of band (like TUF's root metadata): it must carry a threshold
of signatures by its own authority keys. Every later version must be signed by a threshold of the authority
keys of the version before it.

A newer version arrives three ways: from a peer (`accept`, the chain a lagging node fetches), from the
operator (`install`, what `hotline-node roster apply` runs: it writes the verified version into the store,
whether the node runs or not), and from the roster file (`install_newer`: a newer file than the trusted
version is installed the same way, at start and on every roster check). A running node adopts what
`roster apply` stored on its next `refresh` (a timer): it reads versions newer than its own from the store
and verifies the chain again before it swaps. `check_expiry`
warns before the roster expires and says when it has.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

import structlog

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.cases.event_kinds import EventKind
from node.cases.model import Event, RosterDetails
from node.clock import Clock
from node.crypto.roster import (
    PinnedAuthority,
    RosterError,
    parse_signed_roster,
    verify_first_roster,
    verify_roster,
    verify_roster_chain,
)
from node.exchange.membership import RosterMembership
from node.exchange.ports import ExchangeStore
from node.exchange.roster_rules import check_next_version

__all__ = ["RosterState"]

_log = structlog.get_logger(__name__)


class RosterState:
    def __init__(self, store: ExchangeStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Callable[[RosterMembership], None]] = []
        self._membership: RosterMembership | None = None
        # What was already logged and recorded ("<version>:<kind>"), by this process; the store keeps it for the
        # next (a restart does not warn again).
        self._warned: set[str] = set()
        with store.transaction(read_only=True) as tx:
            stored = tx.rosters_after(0)
        if stored:
            signed = roster_pb2.SignedRoster.FromString(base64.b64decode(stored[-1][1]))
            roster = roster_pb2.Roster.FromString(signed.roster)
            self._membership = RosterMembership(roster, hashlib.sha256(signed.roster).digest())

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
            self.install_newer(signed, "the roster file")
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

    def install(self, signed: bytes) -> bool:
        """Trust `signed` if it is the next version, signed by a threshold of the trusted version's authority
        and not expired; raises RosterError naming the reason otherwise (see `check`). False if it is the
        version already trusted, byte for byte."""
        with self._lock:
            verdict, roster = self.check(signed)
            if verdict == "older":
                raise RosterError(
                    "ROLLBACK", f"version {roster.version} is older than the trusted {self.membership.version}"
                )
            if verdict == "next":
                self._trust([signed], roster)
        return verdict == "next"

    def check(self, signed: bytes) -> tuple[str, roster_pb2.Roster]:
        """What `signed` is to this node, changing nothing: "trusted" (the version it trusts, byte for byte),
        "older" (a version it trusted before), or "next" (the next version, verified). Raises RosterError:
        MALFORMED, ROLLBACK (an older version, or one it trusts with other bytes: a split view), NOT_NEXT,
        EXPIRED, THRESHOLD, BAD_SIGNATURE, KEY_ID_MISMATCH or DUPLICATE_KEY."""
        _, roster = parse_signed_roster(signed)
        current = self.membership.roster
        if roster.version <= current.version:
            if self.signed_after(roster.version - 1)[:1] == [signed]:
                return ("trusted" if roster.version == current.version else "older"), roster
            raise RosterError(
                "ROLLBACK",
                f"version {roster.version} is not newer than the trusted {current.version}, and not the "
                f"version {roster.version} this node trusted (other bytes: a split view?)",
            )
        check_next_version(roster, current)
        return "next", verify_roster(signed, trusted=current, now=self._clock.now())

    def refresh(self) -> RosterMembership:
        """Adopt the versions stored since this node last looked (by `roster apply` in another process),
        verified again in order. A chain that does not verify is logged, once, and the current one kept."""
        stored = self.signed_after(self.membership.version)
        if stored:
            try:
                self.accept(stored)
            except RosterError as error:
                self._once(
                    f"{len(stored) + self.membership.version}:refused",
                    EventKind.ROSTER_STORED_REFUSED,
                    error.reason,
                    error.message,
                )
        return self.membership

    def check_expiry(self, warn_before: timedelta) -> str:
        """ "expired", "expiring" (within `warn_before`) or "ok". The first time a version is expiring, and
        again when it has expired, this is logged and recorded as an event for the operator."""
        membership = self.membership
        now = self._clock.now()
        expires = membership.expires_at
        if membership.expired(now):
            detail = (
                f"roster version {membership.version} expired at {expires.isoformat()}: referrals and status "
                "updates stay queued, and incoming messages are refused, until a newer roster is applied"
            )
            self._once(f"{membership.version}:expired", EventKind.ROSTER_EXPIRED, "ROSTER_EXPIRED", detail)
            return "expired"
        if expires - now <= warn_before:
            detail = f"roster version {membership.version} expires at {expires.isoformat()}: apply a newer one"
            self._once(f"{membership.version}:expiring", EventKind.ROSTER_EXPIRING, "ROSTER_EXPIRING", detail)
            return "expiring"
        return "ok"

    def warn_once(self, key: str, kind: EventKind, code: str, detail: str, subject: str = "") -> None:
        """Log a warning `kind` and record it as an event, the first time `key` is seen (by this node: a restart
        does not warn again)."""
        self._once(key, kind, code, detail, subject=subject)

    def _once(self, key: str, kind: EventKind, code: str, detail: str, *, version: int = 0, subject: str = "") -> None:
        if key in self._warned:
            return
        details = RosterDetails(code, version or self.membership.version, subject)
        now = self._clock.now()
        with self._store.transaction() as tx:
            new = tx.give_warning(_stored_key(key), code, detail, now)
            if new:
                tx.append_event(Event.new(kind, now, detail=f"{code}: {detail}", details=details))
        self._warned.add(key)
        if new:
            _log.warning(kind, code=code, detail=detail)

    def install_newer(self, signed: bytes, source: str) -> bool:
        """Install `signed` (read from `source`, the roster file) if it is newer than the trusted version, as
        `roster apply` would: at start, and on each roster check of a running node (the file is polled). An
        install is logged and recorded as an event; a refusal too, once per version and reason."""
        version = 0  # of a roster that parses
        try:
            _, roster = parse_signed_roster(signed)
            version = roster.version
            if roster.version <= self.membership.version:
                return False
            self.install(signed)
        except RosterError as error:
            detail = f"{source}: {error.message}"
            self._once(
                f"{source}:{error.reason}:{error.message}",
                EventKind.ROSTER_FILE_REFUSED,
                error.reason,
                detail,
                version=version,
                subject=source,
            )
            return False
        detail = f"roster version {roster.version} installed from {source}"
        self._once(
            f"{roster.version}:installed",
            EventKind.ROSTER_INSTALLED,
            "INSTALLED",
            detail,
            version=roster.version,
            subject=source,
        )
        return True

    def signed_after(self, version: int) -> list[bytes]:
        with self._store.transaction(read_only=True) as tx:
            return [base64.b64decode(b64) for _, b64 in tx.rosters_after(version)]

    def _trust(self, signed_rosters: list[bytes], newest: roster_pb2.Roster) -> None:
        now = self._clock.now()
        digest = b""
        with self._store.transaction() as tx:
            for signed in signed_rosters:
                body = roster_pb2.SignedRoster.FromString(signed).roster
                roster = roster_pb2.Roster.FromString(body)
                tx.put_roster(roster.version, base64.b64encode(signed).decode(), now)
                digest = hashlib.sha256(body).digest() if roster.version == newest.version else digest
            if newest.version != (self._membership.version if self._membership else 0):
                # Peers refused this node under an older version: a new roster lifts every refusal.
                tx.forget_peer_refusals()
        self._membership = RosterMembership(newest, digest)
        _log.info("roster.trusted", version=newest.version, members=len(newest.members))
        for listener in self._listeners:
            listener(self._membership)


def _stored_key(key: str) -> str:
    """`key` as the store keeps it (at most 200 characters): a long one cut, with the digest of the whole."""
    if len(key) <= 200:
        return key
    return f"{key[:135]}#{hashlib.sha256(key.encode()).hexdigest()}"
