"""Where an illegal item goes: the domestic flow, a referral to a member, or the no-member fallback.

Until the signed roster exists, a small membership table from the node's config answers these questions;
the roster will implement the same `Membership` protocol.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from node.cases.model import Route
from node.errors import InvalidArgument

__all__ = [
    "FallbackKind",
    "FallbackPolicy",
    "Member",
    "Membership",
    "RouteDecision",
    "StaticMembership",
    "decide_route",
]


class FallbackKind(enum.StrEnum):
    # This node sends the NTD to the foreign hosting provider itself.
    DIRECT = "direct"
    # A designated member node takes items hosted where no member is.
    REFER = "refer"


@dataclass(frozen=True, slots=True)
class FallbackPolicy:
    kind: FallbackKind = FallbackKind.DIRECT
    node_id: str = ""


@dataclass(frozen=True, slots=True)
class Member:
    node_id: str
    jurisdictions: frozenset[str]
    # Countries (among its jurisdictions) for which this member is the designated receiver, where a
    # country has several hotlines.
    designated_for: frozenset[str] = frozenset()


class Membership(Protocol):
    def receiver_for(self, country: str) -> str | None:
        """The node that receives referrals for items hosted in `country`, or None if no member."""
        ...

    def fallback(self) -> FallbackPolicy: ...


@dataclass(frozen=True, slots=True)
class RouteDecision:
    route: Route
    peer_node: str = ""


def decide_route(own_node: str, own_jurisdiction: str, country: str, membership: Membership) -> RouteDecision:
    if country == own_jurisdiction:
        return RouteDecision(Route.DOMESTIC)
    receiver = membership.receiver_for(country)
    if receiver == own_node:
        return RouteDecision(Route.DOMESTIC)
    if receiver is not None:
        return RouteDecision(Route.REFERRAL, receiver)
    policy = membership.fallback()
    if policy.kind is FallbackKind.REFER and policy.node_id and policy.node_id != own_node:
        return RouteDecision(Route.FALLBACK_REFERRAL, policy.node_id)
    return RouteDecision(Route.FALLBACK_DIRECT)


class StaticMembership:
    """Membership from config: each member's jurisdictions, and who is designated where several share one."""

    def __init__(self, members: Iterable[Member], fallback: FallbackPolicy | None = None) -> None:
        self._members = tuple(members)
        self._fallback = fallback or FallbackPolicy()
        self._receivers: dict[str, str] = {}
        by_country: dict[str, list[Member]] = {}
        for member in self._members:
            for country in member.jurisdictions:
                by_country.setdefault(country, []).append(member)
        for country, members in by_country.items():
            if len(members) == 1:
                self._receivers[country] = members[0].node_id
                continue
            designated = [m for m in members if country in m.designated_for]
            if len(designated) != 1:
                names = ", ".join(sorted(m.node_id for m in members))
                raise InvalidArgument(
                    f"{country} has several hotlines ({names}); exactly one must be designated receiver",
                    field=f"membership.{country}.designated_for",
                )
            self._receivers[country] = designated[0].node_id
        if self._fallback.kind is FallbackKind.REFER and not any(
            m.node_id == self._fallback.node_id for m in self._members
        ):
            raise InvalidArgument(
                f"fallback node {self._fallback.node_id!r} is not a member", field="membership.fallback"
            )

    @property
    def members(self) -> tuple[Member, ...]:
        return self._members

    def receiver_for(self, country: str) -> str | None:
        return self._receivers.get(country)

    def fallback(self) -> FallbackPolicy:
        return self._fallback
