"""The roster over time: a version installed by another process (`roster apply`) is adopted by the running
node; the node warns before its roster expires; after expiry nothing is sent or accepted, and nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.app import Node
from node.cases.model import Assessment, Classification, ItemState
from node.cases.requests import NewReport, NewUrl
from node.clock import ManualClock
from node.crypto.roster import RosterError, sign_roster
from node.exchange.membership import RosterMembership
from node.exchange.ports import OutboxStatus
from node.exchange.roster_state import RosterState
from node.store import schema as t
from tests.conftest import ANALYST, INTAKE
from tests.exchange.federation import Federation
from tests.exchange.test_roster_state import AUTHORITY, roster
from tests.exchange.test_two_nodes import NODES, _roster, build_exchange_node

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)  # of tests.exchange.test_roster_state.roster


def states(make_node: Callable[..., Node], url: str) -> tuple[Node, RosterState, RosterState]:
    """A node's roster state, and a second one on the same store (as `roster apply` opens it)."""
    node = make_node(url)
    running = RosterState(node.store, node.clock)
    running.bootstrap(sign_roster(roster(1), AUTHORITY[:2]))
    running.on_change(node.cases.set_membership)
    return node, running, RosterState(node.store, node.clock)


def test_the_running_node_adopts_what_roster_apply_installed(sqlite_url: str, make_node: Callable[..., Node]) -> None:
    _, running, apply = states(make_node, sqlite_url)
    v2 = sign_roster(roster(2, roster_pb2.MEMBER_STATUS_SUSPENDED), AUTHORITY[1:])
    assert apply.install(v2) is True
    assert apply.install(v2) is False  # the same version again: nothing to do
    assert running.membership.version == 1
    assert running.refresh().version == 2  # the timer's look
    assert not running.membership.is_active("de-hotline")
    assert apply.check(v2)[0] == "trusted"


@pytest.mark.parametrize(
    ("signed", "reason"),
    [
        (lambda: sign_roster(roster(3), AUTHORITY), "NOT_NEXT"),
        (lambda: sign_roster(roster(2), AUTHORITY[:1]), "THRESHOLD"),
        (lambda: sign_roster(roster(1), AUTHORITY), "ROLLBACK"),
        (lambda: b"\x0a\xff", "MALFORMED"),
    ],
)
def test_install_refuses_with_the_reason(
    sqlite_url: str, make_node: Callable[..., Node], signed: Callable[[], bytes], reason: str
) -> None:
    _, running, apply = states(make_node, sqlite_url)
    with pytest.raises(RosterError) as caught:
        apply.install(signed())
    assert caught.value.reason == reason
    assert running.refresh().version == 1


def test_an_expired_roster_cannot_be_installed(sqlite_url: str, make_node: Callable[..., Node]) -> None:
    node, _, apply = states(make_node, sqlite_url)
    v2 = roster(2)
    v2.expires_at.FromDatetime(node.clock.now() - timedelta(seconds=1))
    with pytest.raises(RosterError) as caught:
        apply.install(sign_roster(v2, AUTHORITY))
    assert caught.value.reason == "EXPIRED"


def test_the_node_warns_before_expiry_and_says_when_it_has_expired(
    sqlite_url: str, make_node: Callable[..., Node], clock: ManualClock
) -> None:
    node, running, _ = states(make_node, sqlite_url)
    warn = timedelta(days=14)
    clock.advance(EXPIRES - timedelta(days=20) - clock.now())
    assert running.check_expiry(warn) == "ok"
    clock.advance(timedelta(days=10))
    assert running.check_expiry(warn) == "expiring"
    assert running.check_expiry(warn) == "expiring"  # recorded once
    clock.advance(timedelta(days=11))
    assert running.check_expiry(warn) == "expired"
    assert not running.membership.may_send("nl-hotline", "de-hotline", clock.now())
    with node.engine.connect() as connection:
        events = connection.execute(select(t.events.c.kind, t.events.c.detail).order_by(t.events.c.seq)).all()
    assert [e.kind for e in events] == ["roster.expiring", "roster.expired"]
    assert events[0].detail.startswith("ROSTER_EXPIRING: roster version 1 expires at 2030-01-01T00:00:00+00:00")
    assert "referrals and status updates stay queued" in events[1].detail


def test_after_expiry_referrals_stay_queued_until_a_newer_roster_arrives(tmp_path: Path, clock: ManualClock) -> None:
    federation = Federation(tmp_path, clock)
    try:
        federation.roster.expires_at.FromDatetime(clock.now() + timedelta(hours=1))
        federation.membership = RosterMembership(federation.roster)
        nl = federation.members["nl-hotline"].node
        de = federation.members["de-hotline"].node
        report = nl.cases.submit_report(INTAKE, NewReport((NewUrl("https://de.host.example/expiry"),)))
        item = nl.cases.assess(ANALYST, report.items[0].item_id, Assessment(Classification.NATIONAL))
        assert item.state is ItemState.REFERRED

        clock.advance(timedelta(hours=2))
        assert federation.deliver_all() == 0  # refused by de-hotline as ROSTER_EXPIRED: held, not rejected
        with nl.engine.connect() as connection:
            assert connection.execute(select(t.outbox.c.status)).scalars().all() == [OutboxStatus.PENDING]
        with de.engine.connect() as connection:
            details = connection.execute(select(t.events.c.detail)).scalars().all()
            assert any(d.startswith("ROSTER_EXPIRED from nl-hotline") for d in details)
            assert connection.execute(select(t.items)).all() == []

        federation.roster.version += 1  # the authority's renewal arrives
        federation.roster.expires_at.FromDatetime(clock.now() + timedelta(days=90))
        federation.membership = RosterMembership(federation.roster)
        clock.advance(timedelta(minutes=15))  # past the refused message's own backoff (a transient refusal)
        assert federation.deliver_all() == 1
        assert federation.deliver_all() == 0
        with de.engine.connect() as connection:
            assert len(connection.execute(select(t.items)).all()) == 1
    finally:
        federation.close()


def test_a_newer_roster_file_is_installed_and_a_refused_one_is_named_once(
    sqlite_url: str, make_node: Callable[..., Node]
) -> None:
    node, running, _ = states(make_node, sqlite_url)
    skipped = sign_roster(roster(3), AUTHORITY)
    assert running.install_newer(skipped, "roster.signed") is False
    assert running.install_newer(skipped, "roster.signed") is False  # polled again: not recorded again
    assert running.install_newer(sign_roster(roster(1), AUTHORITY[:2]), "roster.signed") is False  # not newer
    assert running.install_newer(sign_roster(roster(2), AUTHORITY[:2]), "roster.signed") is True
    assert running.membership.version == 2
    with node.engine.connect() as connection:
        events = connection.execute(select(t.events.c.kind, t.events.c.detail).order_by(t.events.c.seq)).all()
    assert [tuple(e) for e in events] == [
        (
            "roster.file_refused",
            "NOT_NEXT: roster.signed: version 3 is not the next version after version 1: 2 is",
        ),
        ("roster.installed", "INSTALLED: roster version 2 installed from roster.signed"),
    ]


def test_an_apply_while_the_node_polls_the_same_version_installs_it_once(
    sqlite_url: str, make_node: Callable[..., Node]
) -> None:
    """The operator applies version 2 while the running node (its state still at version 1) finds the same
    version in its roster file: both succeed, and the store keeps version 2 once."""
    _, running, apply = states(make_node, sqlite_url)
    v2 = sign_roster(roster(2), AUTHORITY[:2])
    assert apply.install(v2) is True
    assert running.membership.version == 1
    assert running.install_newer(v2, "roster.signed") is True
    assert running.membership.version == 2
    assert running.signed_after(1) == [v2]


def test_a_sole_writer_nodes_roster_check_does_not_ask_the_store(tmp_path: Path, clock: ManualClock) -> None:
    """Only another process (`roster apply`) stores versions the running node has not seen: a node whose database
    no other process writes skips that look; any other node makes it."""
    ports = {node_id: 0 for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock)
    node = build_exchange_node(tmp_path, "nl-hotline", "NL", 0, roster_file, clock)
    assert node.exchange is not None
    looked: list[bool] = []
    node.store.observe = lambda read_only, _seconds, _committed: looked.append(read_only)
    try:
        node.exchange.check_roster(roster_file, timedelta(days=1), stored_elsewhere=False)
        assert looked == []
        node.exchange.check_roster(roster_file, timedelta(days=1))
        assert looked == [True]
    finally:
        node.store.observe = None
        node.engine.dispose()
