"""decide_route and StaticMembership: where an illegal item goes, decided from membership alone."""

from __future__ import annotations

import pytest

from node.cases.model import Route
from node.cases.routing import (
    FallbackKind,
    FallbackPolicy,
    Member,
    RouteDecision,
    StaticMembership,
    decide_route,
)
from node.errors import InvalidArgument

NL = Member("nl-hotline", frozenset({"NL"}), frozenset({"NL"}))
DE = Member("de-hotline", frozenset({"DE", "AT"}))
FR_A = Member("fr-hotline-a", frozenset({"FR"}), frozenset({"FR"}))
FR_B = Member("fr-hotline-b", frozenset({"FR"}))


def membership(*members: Member, fallback: FallbackPolicy | None = None) -> StaticMembership:
    return StaticMembership(members, fallback)


def test_the_own_jurisdiction_is_domestic() -> None:
    m = membership(NL, DE)
    assert decide_route("nl-hotline", "NL", "NL", m) == RouteDecision(Route.DOMESTIC)


def test_own_jurisdiction_is_domestic_even_if_another_member_claims_the_country() -> None:
    rival = Member("other-nl", frozenset({"NL"}))
    m = membership(rival)  # this node is not even listed
    assert m.receiver_for("NL") == "other-nl"
    assert decide_route("nl-hotline", "NL", "NL", m) == RouteDecision(Route.DOMESTIC)


def test_a_country_this_node_receives_for_is_domestic() -> None:
    # A node may receive for countries beyond its own jurisdiction (here: Belgium).
    nl = Member("nl-hotline", frozenset({"NL", "BE"}))
    assert decide_route("nl-hotline", "NL", "BE", membership(nl, DE)) == RouteDecision(Route.DOMESTIC)


def test_a_member_country_is_referred_to_its_hotline() -> None:
    m = membership(NL, DE)
    assert decide_route("nl-hotline", "NL", "DE", m) == RouteDecision(Route.REFERRAL, "de-hotline")
    assert decide_route("nl-hotline", "NL", "AT", m) == RouteDecision(Route.REFERRAL, "de-hotline")


def test_a_country_with_several_hotlines_goes_to_the_designated_receiver() -> None:
    m = membership(NL, FR_B, FR_A)
    assert m.receiver_for("FR") == "fr-hotline-a"
    assert decide_route("nl-hotline", "NL", "FR", m) == RouteDecision(Route.REFERRAL, "fr-hotline-a")


@pytest.mark.parametrize(
    "members",
    [
        (FR_B, Member("fr-hotline-c", frozenset({"FR"}))),  # nobody designated
        (FR_A, Member("fr-hotline-c", frozenset({"FR"}), frozenset({"FR"}))),  # two designated
    ],
    ids=["none", "two"],
)
def test_several_hotlines_need_exactly_one_designated_receiver(members: tuple[Member, ...]) -> None:
    with pytest.raises(InvalidArgument) as refused:
        membership(NL, *members)
    assert refused.value.field == "membership.FR.designated_for"
    assert "fr-hotline-c" in refused.value.message


def test_a_designation_for_a_country_with_one_hotline_is_harmless() -> None:
    only = Member("fr-hotline-a", frozenset({"FR"}), frozenset({"FR"}))
    assert membership(only).receiver_for("FR") == "fr-hotline-a"


def test_no_member_falls_back_to_direct_handling_by_default() -> None:
    m = membership(NL, DE)
    assert m.fallback() == FallbackPolicy(FallbackKind.DIRECT, "")
    assert m.receiver_for("BR") is None
    assert decide_route("nl-hotline", "NL", "BR", m) == RouteDecision(Route.FALLBACK_DIRECT)


def test_no_member_can_fall_back_to_a_referral_to_a_designated_member() -> None:
    m = membership(NL, DE, fallback=FallbackPolicy(FallbackKind.REFER, "de-hotline"))
    assert decide_route("nl-hotline", "NL", "BR", m) == RouteDecision(Route.FALLBACK_REFERRAL, "de-hotline")
    # A country that has a member still goes to that member.
    assert decide_route("nl-hotline", "NL", "DE", m) == RouteDecision(Route.REFERRAL, "de-hotline")


def test_the_fallback_node_itself_handles_no_member_items_directly() -> None:
    m = membership(NL, DE, fallback=FallbackPolicy(FallbackKind.REFER, "de-hotline"))
    assert decide_route("de-hotline", "DE", "BR", m) == RouteDecision(Route.FALLBACK_DIRECT)


def test_the_fallback_node_must_be_a_member() -> None:
    with pytest.raises(InvalidArgument) as refused:
        membership(NL, DE, fallback=FallbackPolicy(FallbackKind.REFER, "us-hotline"))
    assert refused.value.field == "membership.fallback"
    assert "us-hotline" in refused.value.message


def test_a_direct_fallback_names_no_node_and_needs_none() -> None:
    m = membership(NL, fallback=FallbackPolicy(FallbackKind.DIRECT, "not-a-member"))
    assert decide_route("nl-hotline", "NL", "BR", m) == RouteDecision(Route.FALLBACK_DIRECT)


def test_members_are_kept_in_the_order_given() -> None:
    m = membership(DE, NL, FR_A)
    assert [x.node_id for x in m.members] == ["de-hotline", "nl-hotline", "fr-hotline-a"]
    assert [m.receiver_for(c) for c in ("NL", "DE", "AT", "FR", "US")] == [
        "nl-hotline",
        "de-hotline",
        "de-hotline",
        "fr-hotline-a",
        None,
    ]
