"""Refusals about the message (final) and about the moment (transient), the order of messages about one item,
and clock skew between nodes: a transient refusal is neither kept by the receiver nor given up by the sender,
a withdrawal never overtakes its referral, and nodes whose clocks are wrong lose nothing once corrected."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import func, select
from typer.testing import CliRunner

import node.errors
from node.cases.exchange_messages import StatusUpdate, dump_body
from node.cases.model import ActionType, ItemState
from node.cases.requests import NewAction, NewReport, NewUrl
from node.cli import app
from node.clock import ManualClock, OffsetClock
from node.crypto.errors import Reason
from node.exchange.codec import encode_body
from node.exchange.delivery import REFUSALS, WAITING_FOR_EARLIER, DeliveryResult, DeliveryStatus, is_transient
from node.exchange.ports import OutboxStatus
from node.exchange.sender import SendSettings
from node.store import schema as t
from tests.conftest import ANALYST, INTAKE
from tests.exchange.federation import Federation, later
from tests.exchange.test_batches import _as_message, _deliver, _nl_sender, _pending, _seal
from tests.exchange.test_exchange import NATIONAL, _envelope, count, received, refer

NL, DE, FR = "nl-hotline", "de-hotline", "fr-hotline"


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def _outbox(fed: Federation, node_id: str) -> list[Any]:
    with fed.members[node_id].node.engine.connect() as connection:
        return list(connection.execute(select(t.outbox).order_by(t.outbox.c.outbox_id)))


def _inbox(fed: Federation, node_id: str) -> dict[tuple[str, str], str]:
    with fed.members[node_id].node.engine.connect() as connection:
        rows = connection.execute(select(t.inbox.c.sender, t.inbox.c.message_id, t.inbox.c.status))
        return {(r.sender, r.message_id): r.status for r in rows}


# ---------------------------------------------------------------------------------------------- the table


def test_every_refusal_reason_is_declared_final_or_transient() -> None:
    errors = [getattr(node.errors, name) for name in node.errors.__all__ if name != "DomainError"]
    raised = set(Reason) | {e.__name__.upper() for e in errors if isinstance(e, type) and issubclass(e, Exception)}
    for module in Path("node/exchange").glob("*.py"):
        raised |= set(re.findall(r'RejectedMessage\(\s*"([A-Z_]+)"', module.read_text()))
    # The sender's checks of a receipt or refusal, and the origin's of a referral copy: never a delivery's answer.
    raised -= {"BAD_RECEIPT", "BAD_REFUSAL", "BAD_REFERRAL_COPY"}
    assert raised <= REFUSALS.keys(), raised - REFUSALS.keys()
    assert WAITING_FOR_EARLIER in REFUSALS
    # About the message: final. About the moment: transient. Unknown (a newer peer's): final.
    assert not any(map(is_transient, ["BAD_SIGNATURE", "MALFORMED", "PEER_MISMATCH", "FAILEDPRECONDITION"]))
    assert all(map(is_transient, ["FROM_THE_FUTURE", "EXPIRED", "NOT_YET_VALID", "UNKNOWN_KEY", "NOTFOUND"]))
    assert not is_transient("SOMETHING_NEW")
    # A signed refusal of the sender itself: final until the roster changes (the sender holds, see test_mtls).
    assert not any(map(is_transient, ["SENDER_SUSPENDED", "SENDER_REVOKED"]))


# ---------------------------------------------------------------------------------------------- the receiver


def _held(fed: Federation) -> int:
    return count(fed, DE, t.held_messages)


def test_a_withdrawal_that_overtakes_its_referral_is_held_and_applied_when_the_referral_comes(
    fed: Federation,
) -> None:
    origin = refer(fed)
    (referral,) = [_as_message(m) for m in _pending(fed)]
    fed.members[NL].node.cases.withdraw_referral(ANALYST, origin, "reported in error")
    (withdrawal,) = [_as_message(m) for m in _pending(fed) if m.kind == "withdrawal"]
    # The withdrawal first: its item is not there yet. Accepted (with its receipt, and the receiver's clock),
    # and held rather than refused.
    (early,) = _deliver(fed, _seal(fed, [withdrawal]))
    assert early.status is DeliveryStatus.ACCEPTED and early.receipt
    assert early.receiver_time == fed.clock.now()
    assert _held(fed) == 1 and count(fed, DE, t.items) == 0
    # The referral comes: the item is created and the held withdrawal applied, in the same transaction.
    assert [r.status for r in _deliver(fed, _seal(fed, [referral]))] == [DeliveryStatus.ACCEPTED]
    assert fed.members[DE].node.cases.get_item(received(fed, origin)).state is ItemState.WITHDRAWN
    assert _held(fed) == 0
    (again,) = _deliver(fed, _seal(fed, [withdrawal]))
    assert again.status is DeliveryStatus.DUPLICATE and again.receipt == early.receipt


def test_a_held_message_whose_item_never_comes_is_dropped_after_the_hold_and_shown(fed: Federation) -> None:
    origin = refer(fed)
    fed.members[NL].node.cases.withdraw_referral(ANALYST, origin, "reported in error")
    referral, withdrawal = [_as_message(m) for m in _pending(fed)]
    assert [r.status for r in _deliver(fed, _seal(fed, [withdrawal]))] == [DeliveryStatus.ACCEPTED]
    later(fed.clock, days=7)  # ReceiverLimits.hold_for
    refer(fed, "https://de.host.example/next")
    _deliver(fed, _seal(fed, [_as_message(m) for m in _pending(fed) if m.item_id != origin]))
    assert _held(fed) == 0
    events = fed.members[DE].node.cases.list_events(after_seq=0, limit=100)
    assert [e.kind for e in events if e.kind.startswith("exchange.held")] == ["exchange.held_expired"]
    # Too late now: the referral that comes after the hold opens its item, which stays open.
    _deliver(fed, _seal(fed, [referral]))
    assert fed.members[DE].node.cases.get_item(received(fed, origin)).state is ItemState.AWAITING_ASSESSMENT


def test_a_sender_may_have_only_so_many_messages_held_then_they_are_refused_for_now(fed: Federation) -> None:
    receiver = fed.members[DE].receiver
    assert receiver is not None
    receiver.limits = dataclasses.replace(receiver.limits, max_held_per_sender=1)
    origins = [refer(fed, f"https://de.host.example/h/{i}") for i in range(2)]
    for origin in origins:
        fed.members[NL].node.cases.withdraw_referral(ANALYST, origin, "reported in error")
    withdrawals = [_as_message(m) for m in _pending(fed) if m.kind == "withdrawal"]
    results = _deliver(fed, _seal(fed, withdrawals))
    assert [(r.status, r.reason_code) for r in results] == [
        (DeliveryStatus.ACCEPTED, ""),
        (DeliveryStatus.REJECTED, "ITEM_NOT_YET_KNOWN"),  # transient: not kept, sent again later
    ]
    assert _held(fed) == 1 and len(_inbox(fed, DE)) == 1


def _status(item: str, sequence: int, message_id: str) -> tuple[int, bytes, str]:
    update = StatusUpdate(item, sequence, NL, ManualClock().now(), ItemState.CLOSED_REMOVED)
    return (*encode_body("status_update", dump_body(update.to_json())), message_id)


def test_a_message_behind_one_refused_for_now_is_not_applied_ahead_of_it(
    fed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two status updates about one item, the first refused for now (a conflicting concurrent change: ABORTED,
    # transient), and an unrelated referral: the second update waits behind the first rather than apply out of
    # order.
    cases = fed.members[DE].node.cases

    def conflicted(tx: Any, sender: str, update: StatusUpdate) -> None:
        raise node.errors.Aborted("a concurrent change conflicted with this one; retry the request")

    monkeypatch.setattr(cases, "apply_status_update_txn", conflicted)
    other = refer(fed, "https://de.host.example/other")
    (unrelated,) = [_as_message(m) for m in _pending(fed)]
    item = "01a2eeee-0000-7000-8000-000000000000"
    first = _status(item, 1, "01a2eeee-0000-7000-8000-000000000001")
    second = _status(item, 2, "01a2eeee-0000-7000-8000-000000000002")
    results = _deliver(fed, _seal(fed, [first, second, unrelated]))
    assert [(r.status, r.reason_code) for r in results] == [
        (DeliveryStatus.REJECTED, "ABORTED"),
        (DeliveryStatus.REJECTED, WAITING_FOR_EARLIER),
        (DeliveryStatus.ACCEPTED, ""),
    ]
    assert received(fed, other)
    assert list(_inbox(fed, DE).values()) == [DeliveryStatus.ACCEPTED]  # neither refusal kept


# ---------------------------------------------------------------------------------------------- the sender


def test_a_transient_refusal_keeps_the_message_queued_with_backoff_and_signs_it_anew(fed: Federation) -> None:
    refer(fed)
    de_receiver = fed.members[DE].receiver
    assert de_receiver is not None
    sealed_at: list[Any] = []
    crypto = fed.members[NL].crypto
    assert crypto is not None
    seal_batch = crypto.seal_batch

    def spy(messages: Any, **kwargs: Any) -> list[bytes]:
        sealed_at.append(kwargs["created_at"])
        return seal_batch(messages, **kwargs)

    crypto.seal_batch = spy  # type: ignore[method-assign]
    fed.network.receivers[DE] = _Refusing(de_receiver)  # as if the clocks disagreed, for now
    assert fed.deliver_all() == 0
    (row,) = _outbox(fed, NL)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.last_error.startswith("FROM_THE_FUTURE")
    assert row.next_attempt_at > fed.clock.now()  # its own backoff
    assert fed.deliver_all() == 0 and len(sealed_at) == 1  # not due yet: not sent again at once
    fed.network.receivers[DE] = de_receiver
    later(fed.clock, minutes=1)
    assert fed.deliver_all() == 1
    (row,) = _outbox(fed, NL)
    assert row.status == OutboxStatus.ACKED
    assert sealed_at == [sealed_at[0], sealed_at[0] + timedelta(minutes=1)]  # signed anew with fresh times


def test_a_message_refused_for_now_past_the_retry_period_counts_as_rejected(fed: Federation) -> None:
    refer(fed)
    de_receiver = fed.members[DE].receiver
    assert de_receiver is not None
    fed.network.receivers[DE] = _Refusing(de_receiver)
    sender = fed.sender(NL, DE)
    sender._settings = SendSettings(retry_transient_for=timedelta(hours=1))
    for _ in range(8):
        fed.deliver_all()
        later(fed.clock, minutes=16)  # past any backoff
    (row,) = _outbox(fed, NL)
    assert row.status == OutboxStatus.REJECTED and row.last_error.startswith("FROM_THE_FUTURE")
    assert row.last_error.endswith("given up after retrying)") and row.attempts == 4
    assert fed.members[NL].node.cases.list_events(after_seq=0, limit=100)[-1].kind == "delivery.rejected"


class _Refusing:
    """A receiver that refuses every message FROM_THE_FUTURE (a transient refusal) and applies nothing."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def deliver(self, envelopes: Any, *, peer: str | None) -> list[DeliveryResult]:
        return [DeliveryResult("", DeliveryStatus.REJECTED, "FROM_THE_FUTURE", "dated ahead") for _ in envelopes]


# ---------------------------------------------------------------------------------------------- order per item


async def test_a_withdrawal_queued_right_behind_its_referral_always_takes_effect(fed: Federation) -> None:
    """Several batches in flight, each applied on its own database thread: a withdrawal queued right behind
    its referral never overtakes it."""
    nl = fed.members[NL]
    origins = []
    for i in range(30):
        origin = refer(fed, f"https://de.host.example/wd/{i}")
        nl.node.cases.withdraw_referral(ANALYST, origin, "reported in error")
        origins.append(origin)
    executor = ThreadPoolExecutor(4)

    async def run_blocking(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    sender = _nl_sender(fed, run_blocking, settings=SendSettings(batch_count=1, window=4))
    task = asyncio.create_task(sender.run(poll_seconds=0.01))
    try:
        for _ in range(3000):
            if all(r.status != OutboxStatus.PENDING for r in _outbox(fed, NL)):
                break
            fed.clock.advance(timedelta(seconds=30))  # past the backoff of anything refused for now
            sender.wake.set()
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        executor.shutdown()
    assert {r.status for r in _outbox(fed, NL)} == {OutboxStatus.ACKED}
    de = fed.members[DE].node
    assert {de.cases.get_item(received(fed, origin)).state for origin in origins} == {ItemState.WITHDRAWN}


# ---------------------------------------------------------------------------------------------- clock skew


def _report(fed: Federation, frm: str, host: str) -> str:
    cases = fed.members[frm].node.cases
    item_id = cases.submit_report(INTAKE, NewReport((NewUrl(f"https://{host}.host.example/skew/{frm}"),))).items[0]
    cases.assess(ANALYST, item_id.item_id, NATIONAL)
    return item_id.item_id


def _act_on_everything_received(fed: Federation) -> None:
    for member in fed.members.values():
        with member.node.engine.connect() as connection:
            ids = list(connection.execute(select(t.items.c.item_id).where(t.items.c.origin_node != "")).scalars())
        for item_id in ids:
            if member.node.cases.get_item(item_id).state is not ItemState.AWAITING_ASSESSMENT:
                continue  # acted on already
            member.node.cases.assess(ANALYST, item_id, NATIONAL)
            member.node.cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED))


def test_nodes_ten_minutes_ahead_and_an_hour_behind_lose_nothing_once_corrected(
    tmp_path: Path, clock: ManualClock
) -> None:
    ahead, behind = OffsetClock(clock, timedelta(minutes=10)), OffsetClock(clock, timedelta(hours=-1))
    fed = Federation(tmp_path, clock, clocks={NL: ahead, DE: behind})
    try:
        for frm, hosts in {NL: ("de", "fr"), DE: ("nl", "fr"), FR: ("nl", "de")}.items():
            for host in hosts:
                _report(fed, frm, host)
        fed.deliver_all()
        _act_on_everything_received(fed)  # status updates back, in the other direction
        fed.deliver_all()
        # Refused where the sender's clock runs ahead of the receiver's beyond the limit (five minutes), and
        # only refused for now: nothing is rejected for good, and the receivers keep none of those refusals.
        for node_id in fed.members:
            statuses = {r.status for r in _outbox(fed, node_id)}
            assert OutboxStatus.REJECTED not in statuses, node_id
        assert {r.status for r in _outbox(fed, NL)} == {OutboxStatus.PENDING}  # ahead of everyone
        assert set(_inbox(fed, DE).values()) <= {DeliveryStatus.ACCEPTED}
        # Each node measured its skew to the peers it sent to, from their answers, and shows it.
        skews = _skews(fed)
        assert skews[NL, FR] == -timedelta(minutes=10) and skews[NL, DE] == -timedelta(minutes=70)
        assert skews[FR, DE] == -timedelta(hours=1) and skews[DE, NL] == timedelta(minutes=70)
        # The clocks are corrected: everything goes, in both directions, each message exactly once.
        ahead.offset = behind.offset = timedelta(0)
        later(clock, minutes=20)
        fed.deliver_all(rounds=10)
        _act_on_everything_received(fed)
        fed.deliver_all(rounds=10)
        sent: dict[str, set[tuple[str, str]]] = {node_id: set() for node_id in fed.members}
        for node_id in fed.members:
            rows = _outbox(fed, node_id)
            assert {r.status for r in rows} == {OutboxStatus.ACKED}, node_id
            for row in rows:
                sent[row.peer_node].add((node_id, row.message_id))
        for node_id in fed.members:
            inbox = _inbox(fed, node_id)
            assert inbox.keys() == sent[node_id] and set(inbox.values()) == {DeliveryStatus.ACCEPTED}
        for frm in fed.members:  # each referral made one item at its host, once
            for to in fed.members:
                if to != frm:
                    assert _items_from(fed, to, frm) == 1
        assert set(_skews(fed).values()) == {timedelta(0)}
    finally:
        fed.close()


def test_a_receiver_warns_of_a_sender_whose_clock_nears_the_limit(fed: Federation) -> None:
    with structlog.testing.capture_logs() as logs:
        _deliver(fed, [_envelope(fed, created=timedelta(minutes=1))])  # well within the five minutes: quiet
        for _ in range(3):
            _deliver(fed, [_envelope(fed, created=timedelta(minutes=3))])  # near: warned once a minute at most
        later(fed.clock, minutes=1)
        _deliver(fed, [_envelope(fed, created=timedelta(minutes=3))])
    warnings = [entry for entry in logs if entry["event"] == "exchange.clock_skew_high"]
    assert [(w["peer"], w["ahead_seconds"], w["limit_seconds"]) for w in warnings] == [(NL, 180.0, 300.0)] * 2


def _skews(fed: Federation) -> dict[tuple[str, str], timedelta | None]:
    skews = {}
    for node_id, member in fed.members.items():
        with member.node.store.transaction(read_only=True) as tx:
            for state in tx.peer_states():
                skews[node_id, state.peer] = state.clock_skew
    return skews


def _items_from(fed: Federation, node_id: str, origin: str) -> int:
    with fed.members[node_id].node.engine.connect() as connection:
        query = select(func.count()).select_from(t.items).where(t.items.c.origin_node == origin)
        return int(connection.execute(query).scalar_one())


def test_the_peers_command_shows_each_peers_clock_skew_and_warns_near_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/n.db"\n'
        '[hosting]\nresolver = "static"\n'
    )
    runner = CliRunner()
    assert runner.invoke(app, ["migrate", "-c", str(path)]).exit_code == 0
    assert "no peers yet" in runner.invoke(app, ["peers", "-c", str(path)]).output
    from node.store.engine import create_store_engine
    from node.store.sql_store import SqlStore

    engine = create_store_engine(f"sqlite+pysqlite:///{tmp_path}/n.db")
    at = ManualClock().now()
    with SqlStore(engine).transaction() as tx:
        tx.set_peer_clock(DE, timedelta(seconds=0.4), at)
        tx.set_peer_clock(FR, timedelta(minutes=-3), at)
    engine.dispose()
    lines = runner.invoke(app, ["peers", "-c", str(path)]).output.splitlines()
    assert lines[0].startswith("de-hotline  skew +0.4 s") and "WARNING" not in lines[0]
    assert lines[1].startswith("fr-hotline  skew -180.0 s") and "WARNING: NEAR the 300 s limit" in lines[1]
