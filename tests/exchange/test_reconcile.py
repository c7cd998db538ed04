"""Reconciliation between two nodes over the in-memory transport, with real keys: a node restored from an older
backup compares its view with its peer's, the peer queues again what the restored node lost, and the two agree
with nothing lost and nothing applied twice. And every kind of bad request, refused with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2, roster_pb2
from node.cases.exchange_messages import StatusUpdate, dump_body
from node.cases.model import ActionType, Assessment, Classification, ItemState, OutboxMessage
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.crypto import SigningKeyPair
from node.exchange.delivery import TransportError
from node.exchange.memory import InMemoryTransport
from node.exchange.ports import OutboxStatus
from node.exchange.reconcile import ReconcileLimits, ReconcileOutcome, ReconcileRefused, Reconciliation
from node.exchange.sealing import RosterCrypto
from node.store import schema as t
from node.store.backup import backup_sqlite, restore_sqlite
from tests.conftest import ANALYST, INTAKE
from tests.exchange.federation import Federation, later

NATIONAL = Assessment(Classification.NATIONAL)
NL, DE, FR = "nl-hotline", "de-hotline", "fr-hotline"


async def _now(fn: Any, *args: Any) -> Any:
    return fn(*args)


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    for node_id in federation.members:
        federation.network.reconcilers[node_id] = _reconciliation(federation, node_id).answer
    yield federation
    federation.close()


def _reconciliation(fed: Federation, node_id: str, limits: ReconcileLimits | None = None) -> Reconciliation:
    member = fed.members[node_id]
    assert member.crypto is not None
    return Reconciliation(
        node_id=node_id,
        store=member.node.store,
        crypto=member.crypto,
        members=lambda: fed.membership,
        clock=member.clock,
        limits=limits,
        recover=member.node.cases.recover_referral_txn,
    )


def reconcile(fed: Federation, frm: str, to: str, *, days: float = 30) -> ReconcileOutcome:
    now = fed.clock.now()
    transport = InMemoryTransport(frm, fed.network, _now)
    return asyncio.run(
        _reconciliation(fed, frm).reconcile(
            to, transport, _now, since=now - timedelta(days=days), until=now + timedelta(minutes=1)
        )
    )


def refer(fed: Federation, path: str) -> str:
    nl = fed.members[NL].node
    item_id = nl.cases.submit_report(INTAKE, NewReport((NewUrl(f"https://de.host.example/{path}"),))).items[0].item_id
    nl.cases.assess(ANALYST, item_id, NATIONAL)
    return item_id


def act(fed: Federation, origin_item_id: str, action: ActionType) -> None:
    de = fed.members[DE].node
    with de.store.transaction(read_only=True) as tx:
        item = tx.find_item_by_origin(NL, origin_item_id)
    assert item is not None
    if item.state is ItemState.AWAITING_ASSESSMENT:
        de.cases.assess(ANALYST, item.item_id, NATIONAL)
    de.cases.record_action(ANALYST, item.item_id, NewAction(action))
    later(fed.clock, minutes=5)


def view(fed: Federation, node_id: str, peer: str) -> list[tuple[str, str, int]]:
    """What `node_id` believes it shares with `peer`: (origin, origin item id, last status sequence)."""
    with fed.members[node_id].node.store.transaction(read_only=True) as tx:
        items = tx.shared_items(
            peer, node_id, datetime(2000, 1, 1).astimezone(), fed.clock.now() + timedelta(minutes=1), 1000
        )
    return [(i.origin_node, i.origin_item_id, i.status_sequence) for i in items]


def rows(fed: Federation, node_id: str, table: Table, *where: Any) -> int:
    with fed.members[node_id].node.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_node_restored_from_a_backup_reconciles_with_nothing_lost_or_applied_twice(
    fed: Federation, tmp_path: Path
) -> None:
    nl, de = fed.members[NL].node, fed.members[DE].node
    before = [refer(fed, "a"), refer(fed, "b")]
    fed.deliver_all()
    act(fed, before[0], ActionType.LEA_NOTIFIED)
    fed.deliver_all()
    backup_sqlite(de.config.effective_database_url(), tmp_path / "de.backup")

    after = [refer(fed, "c"), refer(fed, "d")]  # made after the backup
    fed.deliver_all()
    act(fed, after[0], ActionType.LEA_NOTIFIED)
    act(fed, before[0], ActionType.HP_NOTIFIED)
    fed.deliver_all()
    expected = view(fed, NL, DE)
    assert expected == view(fed, DE, NL)
    nl_actions = rows(fed, NL, t.events)

    de.engine.dispose()
    restore_sqlite(de.config.effective_database_url(), tmp_path / "de.backup")
    lost = view(fed, DE, NL)
    assert {ref for _, ref, _ in lost} == set(before)  # the restored node lost the later referrals
    assert lost != expected

    first = reconcile(fed, DE, NL)
    assert not first.agreed and first.differences == 3  # c and d unknown, a behind
    assert first.resent_there == 2  # nl queued its referrals of c and d again
    assert fed.deliver_all() == 2
    second = reconcile(fed, DE, NL)  # c's referral came back: de learns nl applied c's update #1
    assert not second.agreed and second.differences == 1 and second.resent_there == 0
    third = reconcile(fed, NL, DE)
    assert third.agreed
    with de.store.transaction(read_only=True) as tx:
        assert [(s.peer, s.agreed_at) for s in tx.reconciliations()] == [(NL, fed.clock.now())]  # the peer's record
    assert view(fed, DE, NL) == view(fed, NL, DE) == expected

    # Nothing applied twice: one item per referral at de, nl applied no status update again, nothing else goes.
    for origin_item_id in before + after:
        assert rows(fed, DE, t.items, t.items.c.origin_item_id == origin_item_id) == 1
    assert rows(fed, NL, t.events) - nl_actions == 0
    assert fed.deliver_all() == 0
    # The restored node numbers its next update after what the origin applied.
    act(fed, before[0], ActionType.CONTENT_REMOVED)
    assert fed.deliver_all() == 1
    applied = {ref: seq for _, ref, seq in expected}
    assert nl.cases.get_item(before[0]).status_sequence == applied[before[0]] + 1


def test_nodes_that_agree_say_so_and_queue_nothing(fed: Federation) -> None:
    refer(fed, "a")
    fed.deliver_all()
    outcome = reconcile(fed, NL, DE)
    assert outcome.agreed and outcome.differences == 0 and outcome.resent_here == outcome.resent_there == 0
    assert fed.deliver_all() == 0
    with fed.members[DE].node.store.transaction(read_only=True) as tx:
        assert [s.peer for s in tx.reconciliations() if s.agreed_at is not None] == [NL]  # the peer recorded it too


def test_a_message_queued_again_to_a_node_that_has_it_is_a_duplicate_not_applied_again(fed: Federation) -> None:
    item_id = refer(fed, "a")
    fed.deliver_all()
    act(fed, item_id, ActionType.LEA_NOTIFIED)
    fed.deliver_all()
    nl = fed.members[NL].node
    updates = nl.cases.get_item(item_id).status_sequence
    assert updates >= 1
    with nl.store.transaction() as tx:  # as if nl had lost de's updates, but not its inbox
        tx.c.execute(t.items.update().where(t.items.c.item_id == item_id).values(status_sequence=0))
    outcome = reconcile(fed, NL, DE)
    assert outcome.resent_there == updates  # de queued its updates again
    assert fed.deliver_all() == updates  # nl's inbox still holds them: DUPLICATE, acknowledged, not applied again
    assert nl.cases.get_item(item_id).status_sequence == 0


# ---------------------------------------------------------------------------------------------- bad requests


def _request(
    fed: Federation, sender: str, view: messages_pb2.ReconcileView, crypto: RosterCrypto | None = None
) -> bytes:
    crypto = crypto or fed.members[sender].crypto
    assert crypto is not None
    now = fed.clock.now()
    return crypto.seal(
        kind=envelope_pb2.MESSAGE_KIND_RECONCILE_REQUEST,
        body=view.SerializeToString(),
        recipient=DE,
        message_id="00000000-0000-7000-8000-000000000001",
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )


def _view(since: datetime, until: datetime) -> messages_pb2.ReconcileView:
    v = messages_pb2.ReconcileView()
    v.since.FromDatetime(since)
    v.until.FromDatetime(until)
    return v


def test_a_request_from_a_non_member_is_refused(fed: Federation) -> None:
    outsider = RosterCrypto(
        node_id="xx-hotline",
        signing_keys=[SigningKeyPair.generate()],
        hpke_keys=[],
        membership=lambda: fed.membership,
        clock=fed.clock,
    )
    now = fed.clock.now()
    envelope = _request(fed, NL, _view(now - timedelta(days=1), now), outsider)
    with pytest.raises(ReconcileRefused) as refused:
        _reconciliation(fed, DE).answer(envelope, peer=None)
    assert refused.value.code == "UNKNOWN_KEY"


def test_a_request_through_another_members_connection_is_refused(fed: Federation) -> None:
    now = fed.clock.now()
    envelope = _request(fed, NL, _view(now - timedelta(days=1), now))
    with pytest.raises(ReconcileRefused) as refused:
        _reconciliation(fed, DE).answer(envelope, peer=FR)
    assert (refused.value.kind, refused.value.code) == ("denied", "PEER_MISMATCH")


@pytest.mark.parametrize(
    ("since_days", "until_days", "says"),
    [(0, -1, "the range is empty"), (-500, 0, "more than 400 days"), (0, 30, "ends in the future")],
)
def test_a_request_with_a_bogus_range_is_refused(fed: Federation, since_days: int, until_days: int, says: str) -> None:
    now = fed.clock.now()
    envelope = _request(fed, NL, _view(now + timedelta(days=since_days), now + timedelta(days=until_days)))
    with pytest.raises(ReconcileRefused) as refused:
        _reconciliation(fed, DE).answer(envelope, peer=NL)
    assert refused.value.code == "BAD_RANGE" and says in refused.value.message


def test_an_oversized_request_is_refused(fed: Federation) -> None:
    now = fed.clock.now()
    request = _view(now - timedelta(days=1), now)
    for n in range(11):
        request.items.add(origin_node=NL, origin_item_id=f"item-{n}", status_sequence=0)
    small = _reconciliation(fed, DE, ReconcileLimits(max_items=10))
    with pytest.raises(ReconcileRefused) as refused:
        small.answer(_request(fed, NL, request), peer=NL)
    assert (refused.value.kind, refused.value.code) == ("exhausted", "TOO_MANY_ITEMS")
    tiny = _reconciliation(fed, DE, ReconcileLimits(max_envelope_bytes=100))
    with pytest.raises(ReconcileRefused) as refused:
        tiny.answer(_request(fed, NL, _view(now - timedelta(days=1), now)), peer=NL)
    assert refused.value.code == "OVERSIZE"


def test_a_claim_about_an_item_neither_node_originated_is_refused_and_changes_nothing(fed: Federation) -> None:
    refer(fed, "a")
    fed.deliver_all()
    now = fed.clock.now()
    request = _view(now - timedelta(days=1), now)
    request.detail_for.add().FromDatetime(now.replace(hour=0, minute=0, second=0, microsecond=0))
    claimed = request.items.add(origin_node=FR, origin_item_id="someone-elses", status_sequence=9)
    claimed.first_reported_at.FromDatetime(now)
    with pytest.raises(ReconcileRefused) as refused:
        _reconciliation(fed, DE).answer(_request(fed, NL, request), peer=NL)
    assert refused.value.code == "MALFORMED" and "neither of the two nodes" in refused.value.message
    claimed.origin_node, claimed.status_sequence = NL, 2**40  # beyond what any node keeps
    with pytest.raises(ReconcileRefused) as refused:
        _reconciliation(fed, DE).answer(_request(fed, NL, request), peer=NL)
    assert refused.value.code == "MALFORMED" and "status sequence is at most" in refused.value.message
    assert rows(fed, DE, t.peer_reconciliation) == 0 and fed.deliver_all() == 0


def test_asking_a_node_that_is_not_an_active_member_is_refused_before_anything_is_sent(fed: Federation) -> None:
    with pytest.raises(Exception, match="not an active member"):
        reconcile(fed, NL, "xx-hotline")
    fed.network.partition(NL, DE)
    with pytest.raises(TransportError):
        reconcile(fed, NL, DE)


def test_a_suspended_member_may_not_reconcile(fed: Federation) -> None:
    now = fed.clock.now()
    envelope = _request(fed, NL, _view(now - timedelta(days=1), now))
    fed.set_status(NL, roster_pb2.MEMBER_STATUS_SUSPENDED)
    with pytest.raises(ReconcileRefused) as refused:
        _reconciliation(fed, DE).answer(envelope, peer=NL)
    assert (refused.value.kind, refused.value.code) == ("denied", "SENDER_NOT_ACTIVE")


def test_one_bad_message_is_set_aside_with_its_reason_and_the_rest_of_the_queue_flows(fed: Federation) -> None:
    """A status update about an item de never referred, queued at nl ahead of three referrals: de refuses it for
    good (UNKNOWN_ITEM); nl keeps it, marked rejected with the reason and an event, and the referrals flow. The
    kept message can be queued again (reconciliation does so when the peer lacks it)."""
    nl = fed.members[NL].node
    bad = StatusUpdate("01a2cccc-0000-7000-8000-000000000000", 1, NL, fed.clock.now(), ItemState.CLOSED_REMOVED)
    with nl.store.transaction() as tx:
        tx.enqueue_outbox(
            OutboxMessage(
                "01a2dddd-0000-7000-8000-000000000000", DE, bad.kind, "x", dump_body(bad.to_json()), fed.clock.now()
            )
        )
    origins = [refer(fed, f"q{i}") for i in range(3)]
    assert fed.deliver_all() == 4
    for origin in origins:
        assert rows(fed, DE, t.items, t.items.c.origin_item_id == origin) == 1
    with nl.engine.connect() as connection:
        status, error, body = connection.execute(
            select(t.outbox.c.status, t.outbox.c.last_error, t.outbox.c.body).where(
                t.outbox.c.message_id == "01a2dddd-0000-7000-8000-000000000000"
            )
        ).one()
    assert status == OutboxStatus.REJECTED and error.startswith("UNKNOWN_ITEM: ") and body
    assert rows(fed, NL, t.events, t.events.c.kind == "delivery.rejected") == 1
    with nl.store.transaction() as tx:
        assert tx.requeue_outbox(["01a2dddd-0000-7000-8000-000000000000"], fed.clock.now()) == 1


def test_an_item_the_origin_lost_without_a_restore_is_reported_and_its_copy_not_taken_back(
    fed: Federation, tmp_path: Path
) -> None:
    """Only a restore loses a referral: an origin never marked restored takes no copy back (retention may have
    purged the item), and says what it cannot repair, once."""
    nl, de = fed.members[NL].node, fed.members[DE].node
    refer(fed, "a")
    fed.deliver_all()
    backup_sqlite(nl.config.effective_database_url(), tmp_path / "nl.backup")
    lost = refer(fed, "b")
    fed.deliver_all()
    nl.engine.dispose()
    restore_sqlite(nl.config.effective_database_url(), tmp_path / "nl.backup")  # not marked restored
    act(fed, lost, ActionType.LEA_NOTIFIED)  # de reports on an item nl no longer knows
    fed.deliver_all()
    with de.engine.connect() as connection:
        kept = connection.execute(
            select(t.outbox.c.status, t.outbox.c.last_error, t.outbox.c.body).where(t.outbox.c.kind == "status_update")
        ).all()
    assert kept and all(s == OutboxStatus.REJECTED and e.startswith("UNKNOWN_ITEM") and b for s, e, b in kept)

    outcome = reconcile(fed, NL, DE)
    assert not outcome.agreed and outcome.differences == 1
    assert outcome.unrepairable == [f"item {lost} (this node's) is known to {DE} but not here"]
    assert rows(fed, NL, t.items, t.items.c.item_id == lost) == 0
    reconcile(fed, NL, DE)  # told once, not at every round
    assert rows(fed, NL, t.events, t.events.c.kind == "reconcile.unrepairable") == 1
    calls: list[bytes] = []
    answer = fed.network.reconcilers[NL]
    fed.network.reconcilers[NL] = lambda envelope, *, peer: calls.append(envelope) or answer(envelope, peer=peer)
    assert not reconcile(fed, DE, NL).agreed  # de hands the copy over once; nl does not take it
    assert len(calls) == 3 and rows(fed, NL, t.items, t.items.c.item_id == lost) == 0


def test_updates_made_after_a_restore_under_numbers_the_origin_applied_are_renumbered_not_swallowed(
    fed: Federation, tmp_path: Path
) -> None:
    nl, de = fed.members[NL].node, fed.members[DE].node
    item_id = refer(fed, "a")
    fed.deliver_all()
    act(fed, item_id, ActionType.LEA_NOTIFIED)
    fed.deliver_all()
    backup_sqlite(de.config.effective_database_url(), tmp_path / "de.backup")
    act(fed, item_id, ActionType.HP_NOTIFIED)  # lost with the restore; nl applied it
    fed.deliver_all()
    applied = nl.cases.get_item(item_id).status_sequence
    de.engine.dispose()
    restore_sqlite(de.config.effective_database_url(), tmp_path / "de.backup")
    with de.store.transaction() as tx:
        tx.mark_restored(fed.clock.now(), "de.backup")
    later(fed.clock, minutes=1)
    act(fed, item_id, ActionType.HP_NOTIFIED)  # done again, numbered from the restored count: nl has that number
    actions = len(nl.cases.get_item(item_id).actions)

    outcome = reconcile(fed, DE, NL)  # the first round after the restore compares every item, digests or not
    assert not outcome.agreed and outcome.differences == 1 and outcome.resent_here == 1
    assert fed.deliver_all() == 1
    origin = nl.cases.get_item(item_id)
    assert origin.status_sequence == applied + 1 and len(origin.actions) == actions + 1  # applied, not a duplicate
    assert reconcile(fed, DE, NL).agreed and reconcile(fed, DE, NL).agreed  # and then by digest alone


def test_a_withdrawal_the_restored_assignee_lost_is_sent_again(fed: Federation, tmp_path: Path) -> None:
    nl, de = fed.members[NL].node, fed.members[DE].node
    item_id = refer(fed, "a")
    fed.deliver_all()
    backup_sqlite(de.config.effective_database_url(), tmp_path / "de.backup")
    nl.cases.withdraw_referral(ANALYST, item_id, "reported in error")
    fed.deliver_all()
    de.engine.dispose()
    restore_sqlite(de.config.effective_database_url(), tmp_path / "de.backup")
    assert view(fed, DE, NL) == [(NL, item_id, 0)] and not reconcile(fed, NL, DE).agreed
    assert fed.deliver_all() == 2  # the referral (a duplicate at de) and the withdrawal (applied)
    with de.store.transaction(read_only=True) as tx:
        item = tx.find_item_by_origin(NL, item_id)
    assert item is not None and item.state is ItemState.WITHDRAWN
    assert reconcile(fed, DE, NL).agreed
