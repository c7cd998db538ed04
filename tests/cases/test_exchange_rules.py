"""The authority rules for exchange messages, as pure decisions: who may refer, report and withdraw an item,
in which order, and where a move may go."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from node.cases.exchange_messages import Referral, StatusUpdate
from node.cases.exchange_rules import (
    LOOP_HOPS,
    REASONS,
    STATUS_WINDOW,
    ExchangeRefusal,
    ItemNotYetKnown,
    ReferralVerdict,
    RefusalReason,
    StatusVerdict,
    check_move,
    earlier_assignees,
    referral_verdict,
    status_verdict,
    withdrawal_verdict,
)
from node.cases.model import Action, ActionType, Item, ItemState
from node.cases.routing import FallbackKind, FallbackPolicy, Member, StaticMembership

T = datetime(2026, 3, 1, tzinfo=UTC)
ME, OR, A, B, C = "me-hotline", "nl-hotline", "de-hotline", "fr-hotline", "be-hotline"
MEMBERS = StaticMembership(
    [
        Member(ME, frozenset({"LU"})),
        Member(OR, frozenset({"NL"})),
        Member(A, frozenset({"DE"})),
        Member(B, frozenset({"FR"})),
        Member(C, frozenset({"BE"})),
    ]
)


def item(**changes: object) -> Item:
    base = Item("i-1", "https://x.example/a", "x.example", ItemState.REFERRED, A, T, T, referred_to=A)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def code_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(ExchangeRefusal) as refused:
        call()
    return refused.value.code


def test_every_reason_is_declared_once_and_only_a_not_yet_known_item_is_about_the_moment() -> None:
    assert set(REASONS) == set(RefusalReason)
    assert {r for r, (final, _) in REASONS.items() if not final} == {RefusalReason.ITEM_NOT_YET_KNOWN}
    assert not ItemNotYetKnown("x").final and ExchangeRefusal(RefusalReason.NOT_ORIGIN, "x").final


# ------------------------------------------------------------------------------------------- referrals


def _referral(origin: str = OR, referred_by: str = "") -> Referral:
    return Referral(origin, "o-1", "https://x.example/a", (), None, None, T, 1, referred_by)


@pytest.mark.parametrize(
    ("sender", "referral", "existing", "expected"),
    [
        (OR, _referral(), None, ReferralVerdict.NEW),
        (OR, _referral(referred_by=OR), None, ReferralVerdict.NEW),
        (OR, _referral(), item(state=ItemState.AWAITING_LEA, assigned_node=ME), ReferralVerdict.REPEAT),
        (OR, _referral(), item(state=ItemState.REFERRED, assigned_node=B), ReferralVerdict.REOPEN),
        (B, _referral(), None, RefusalReason.ORIGIN_NOT_SENDER),
        (B, _referral(referred_by=B), None, RefusalReason.ORIGIN_NOT_SENDER),  # a re-referral comes from OR
        (OR, _referral(referred_by=B), None, RefusalReason.ORIGIN_NOT_SENDER),
        (ME, _referral(origin=ME), None, RefusalReason.OWN_ITEM),
        (OR, _referral(), item(state=ItemState.CLOSED_REMOVED), RefusalReason.ITEM_CLOSED),
        (OR, _referral(), item(state=ItemState.WITHDRAWN), RefusalReason.ITEM_CLOSED),
    ],
)
def test_a_referral_comes_from_its_origin_and_never_re_opens_a_closed_item(
    sender: str, referral: Referral, existing: Item | None, expected: object
) -> None:
    def decide() -> ReferralVerdict:
        return referral_verdict(me=ME, sender=sender, referral=referral, existing=existing)

    if isinstance(expected, RefusalReason):
        assert code_of(decide) == expected
    else:
        assert decide() is expected


# ------------------------------------------------------------------------------------------- status updates


@pytest.mark.parametrize(
    ("sender", "current", "sequence", "expected"),
    [
        (A, item(status_sequence=3), 4, StatusVerdict.APPLY),
        (A, item(status_sequence=3), 3, StatusVerdict.DUPLICATE),
        (A, item(status_sequence=3), 1, StatusVerdict.DUPLICATE),
        (A, item(status_sequence=3), 5, StatusVerdict.BUFFER),
        (A, item(status_sequence=3), 3 + STATUS_WINDOW, StatusVerdict.BUFFER),
        (A, item(status_sequence=3), 4 + STATUS_WINDOW, RefusalReason.SEQUENCE_BEYOND_WINDOW),
        (B, item(status_sequence=3), 4, RefusalReason.NOT_ASSIGNEE),
        (B, item(status_sequence=3), 5, RefusalReason.NOT_ASSIGNEE),  # nothing of a non-assignee waits
        (B, item(status_sequence=3), 2, RefusalReason.NOT_ASSIGNEE),
        (A, item(state=ItemState.CLOSED_REMOVED, status_sequence=3), 3, StatusVerdict.DUPLICATE),
        (A, item(state=ItemState.CLOSED_REMOVED, status_sequence=3), 4, RefusalReason.ITEM_CLOSED),
        (A, item(state=ItemState.WITHDRAWN, assigned_node=ME), 4, StatusVerdict.IGNORE),
        (B, item(state=ItemState.WITHDRAWN, assigned_node=ME), 4, RefusalReason.NOT_ASSIGNEE),
        (A, item(origin_node=B, origin_item_id="x"), 1, RefusalReason.UNKNOWN_ITEM),  # not this node's referral
        (A, None, 1, RefusalReason.UNKNOWN_ITEM),
    ],
)
def test_status_comes_from_the_assignee_in_order_within_a_window(
    sender: str, current: Item | None, sequence: int, expected: object
) -> None:
    def decide() -> StatusVerdict:
        return status_verdict(sender=sender, item=current, sequence=sequence)

    if isinstance(expected, RefusalReason):
        assert code_of(decide) == expected
    else:
        assert decide() is expected


# ------------------------------------------------------------------------------------------- MOVED


def _moved(country: str, to: str) -> StatusUpdate:
    return StatusUpdate("i-1", 2, A, T, ItemState.REFERRED, ActionType.MOVED, None, country, to)


def _history(*movers: str) -> Item:
    actions = [
        Action(f"a{n}", "i-1", ActionType.MOVED, T + timedelta(minutes=n), mover) for n, mover in enumerate(movers)
    ]
    return item(actions=actions)


@pytest.mark.parametrize(
    ("sender", "current", "update", "membership", "expected"),
    [
        (A, item(), _moved("FR", B), MEMBERS, None),
        (A, item(), _moved("NL", OR), MEMBERS, None),  # hosted in the origin's country: it takes it back
        (A, item(), _moved("BR", C), StaticMembership(MEMBERS.members, FallbackPolicy(FallbackKind.REFER, C)), None),
        (A, item(), _moved("DE", A), MEMBERS, RefusalReason.MOVE_TO_SELF),
        (A, item(), _moved("FR", "xx-hotline"), MEMBERS, RefusalReason.MOVE_NOT_SERVING),
        (A, item(), _moved("BE", B), MEMBERS, RefusalReason.MOVE_NOT_SERVING),
        (A, item(), _moved("BR", B), MEMBERS, RefusalReason.MOVE_NOT_SERVING),
        (A, item(), _moved("", B), MEMBERS, RefusalReason.MOVE_NOT_SERVING),
        (A, item(), _moved("FR", ""), MEMBERS, RefusalReason.MOVE_NOT_SERVING),
        (B, _history(A), _moved("DE", A), MEMBERS, RefusalReason.MOVE_LOOP),  # ping-pong
        (C, _history(A, B), _moved("DE", A), MEMBERS, RefusalReason.MOVE_LOOP),
        (C, _history(A, B), _moved("NL", OR), MEMBERS, None),
        (C, _history(A, *[B, C] * LOOP_HOPS), _moved("DE", A), MEMBERS, None),  # beyond the bounded hops
    ],
)
def test_a_move_names_the_member_serving_the_new_country_and_no_recent_assignee(
    sender: str, current: Item, update: StatusUpdate, membership: StaticMembership, expected: RefusalReason | None
) -> None:
    def decide() -> None:
        check_move(me=OR, sender=sender, item=current, update=update, membership=membership)

    if expected is None:
        decide()
    else:
        assert code_of(decide) == expected


def test_the_earlier_assignees_are_the_last_movers_oldest_first() -> None:
    assert earlier_assignees(_history(A, B, C), hops=2) == [B, C]
    assert earlier_assignees(_history(), hops=2) == []


# ------------------------------------------------------------------------------------------- withdrawals


def test_only_the_origin_withdraws_and_an_unknown_item_may_still_be_on_its_way() -> None:
    assert withdrawal_verdict(item=item(state=ItemState.AWAITING_LEA), origin_elsewhere=False) is True
    assert withdrawal_verdict(item=item(state=ItemState.CLOSED_REMOVED), origin_elsewhere=False) is False
    assert code_of(lambda: withdrawal_verdict(item=None, origin_elsewhere=True)) == RefusalReason.NOT_ORIGIN
    with pytest.raises(ItemNotYetKnown):
        withdrawal_verdict(item=None, origin_elsewhere=False)
