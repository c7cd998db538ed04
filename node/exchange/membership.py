"""Membership from the signed roster: who receives referrals for a country, the fallback, member status.

It implements node.cases.routing.Membership, so routing does not care whether the config table or the roster
answers. A roster change swaps the object; nothing restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.cases.routing import FallbackKind, FallbackPolicy

__all__ = ["ACTIVE_STATUSES", "RosterMembership", "split_view"]

ACTIVE_STATUSES = frozenset({roster_pb2.MEMBER_STATUS_FULL, roster_pb2.MEMBER_STATUS_PROVISIONAL})


class RosterMembership:
    def __init__(self, roster: roster_pb2.Roster, digest: bytes = b"") -> None:
        """`digest`: SHA-256 of the exact Roster bytes that were signed (empty: not known)."""
        self.roster = roster
        self.digest = digest
        self._expires_at = roster.expires_at.ToDatetime(tzinfo=UTC)
        self._members = {m.node_id: m for m in roster.members}
        self._receivers: dict[str, str] = {}
        by_country: dict[str, list[roster_pb2.Member]] = {}
        for member in roster.members:
            if member.status not in ACTIVE_STATUSES:
                continue  # suspended and revoked members receive nothing
            for country in member.jurisdictions:
                by_country.setdefault(country, []).append(member)
        for country, members in by_country.items():
            designated = [m for m in members if country in m.designated_for]
            chosen = designated[0] if designated else (members[0] if len(members) == 1 else None)
            if chosen is not None:
                self._receivers[country] = chosen.node_id

    @property
    def version(self) -> int:
        return self.roster.version

    def receiver_for(self, country: str) -> str | None:
        return self._receivers.get(country)

    def fallback(self) -> FallbackPolicy:
        fallback = self.roster.fallback
        if fallback.kind == roster_pb2.FALLBACK_KIND_REFER and fallback.node_id in self._members:
            return FallbackPolicy(FallbackKind.REFER, fallback.node_id)
        return FallbackPolicy(FallbackKind.DIRECT)

    def member(self, node_id: str) -> roster_pb2.Member | None:
        return self._members.get(node_id)

    def is_active(self, node_id: str) -> bool:
        member = self._members.get(node_id)
        return member is not None and member.status in ACTIVE_STATUSES

    @property
    def expires_at(self) -> datetime:
        return self._expires_at

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def held_reason(self, sender: str, peer: str, now: datetime) -> str:
        """Why messages from `sender` to `peer` wait (a reason code and a sentence), or "" if they may go."""
        if self.expired(now):
            return f"ROSTER_EXPIRED: roster version {self.version} expired at {self.expires_at.isoformat()}"
        for node_id in (sender, peer):
            member = self._members.get(node_id)
            if member is None:
                return f"NOT_A_MEMBER: {node_id} is not in roster version {self.version}"
            if member.status not in ACTIVE_STATUSES:
                status = "REVOKED" if member.status == roster_pb2.MEMBER_STATUS_REVOKED else "SUSPENDED"
                return (
                    f"MEMBER_{status}: {node_id} is {status.lower()} in roster version {self.version}; its "
                    "messages wait until a roster reinstates it"
                )
        return ""

    def may_send(self, sender: str, peer: str, now: datetime) -> bool:
        """Whether `sender` may deliver to `peer` now: both active, and the roster not expired. Otherwise the
        messages wait in the outbox (held, never lost) until a roster allows it."""
        return not self.expired(now) and self.is_active(sender) and self.is_active(peer)


def split_view(membership: RosterMembership, version: int, digest: bytes) -> bool:
    """Whether a peer that trusts roster `version` with `digest` was shown another roster than this node's under
    the same version (the authority signed two): both digests known, same version, different bytes."""
    return bool(digest and membership.digest) and version == membership.version and digest != membership.digest
