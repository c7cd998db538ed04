"""Why messages to a peer wait: the reason `hotline-node peers` shows, never a silent hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.clock import ManualClock
from node.exchange.membership import RosterMembership
from tests.exchange.federation import Federation


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def test_an_active_pair_is_not_held(fed: Federation) -> None:
    assert fed.membership.held_reason("nl-hotline", "de-hotline", fed.clock.now()) == ""


@pytest.mark.parametrize(
    ("node", "status", "code"),
    [
        ("de-hotline", roster_pb2.MEMBER_STATUS_REVOKED, "MEMBER_REVOKED: de-hotline is revoked in roster version 2"),
        ("nl-hotline", roster_pb2.MEMBER_STATUS_SUSPENDED, "MEMBER_SUSPENDED: nl-hotline is suspended"),
    ],
)
def test_a_suspended_or_revoked_end_holds_the_messages_with_the_reason(
    fed: Federation, node: str, status: int, code: str
) -> None:
    fed.set_status(node, status)
    reason = fed.membership.held_reason("nl-hotline", "de-hotline", fed.clock.now())
    assert reason.startswith(code) and reason.endswith("its messages wait until a roster reinstates it")


def test_a_peer_that_is_not_a_member_or_an_expired_roster_holds_the_messages(fed: Federation) -> None:
    assert fed.membership.held_reason("nl-hotline", "xx-hotline", fed.clock.now()) == (
        "NOT_A_MEMBER: xx-hotline is not in roster version 1"
    )
    roster = roster_pb2.Roster.FromString(fed.roster.SerializeToString())
    roster.expires_at.FromDatetime(fed.clock.now() - timedelta(seconds=1))
    expired = RosterMembership(roster)
    assert expired.held_reason("nl-hotline", "de-hotline", fed.clock.now()).startswith(
        "ROSTER_EXPIRED: roster version 1 expired at"
    )
