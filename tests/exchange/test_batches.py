"""Batches at the receiver and the sender: one transaction per delivered batch, and still all or nothing per
message; a batch signed once, with every message and every receipt verifiable on its own; the sender's
window of batches in flight delivers each message exactly once, and looks again after its answers only when
something may be pending."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from node.api._gen.hotline.exchange.v1 import envelope_pb2
from node.cases.exchange_messages import StatusUpdate, dump_body
from node.cases.model import ActionType, Assessment, Classification, ItemState, OutboxMessage
from node.cases.requests import NewAction
from node.clock import ManualClock
from node.crypto import SUITES
from node.crypto.envelope import MessageToSign, _info, sign_batch
from node.exchange.codec import encode_body
from node.exchange.delivery import DeliveryResult, DeliveryStatus, TransportError
from node.exchange.memory import InMemoryTransport
from node.exchange.ports import OutboxStatus
from node.exchange.sender import PeerSender, SendSettings
from node.store import schema as t
from tests.conftest import ANALYST
from tests.exchange.federation import Federation
from tests.exchange.test_exchange import count, received, refer

NL, DE = "nl-hotline", "de-hotline"


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def _pending(fed: Federation) -> list[OutboxMessage]:
    with fed.members[NL].node.store.transaction(read_only=True) as tx:
        return [message for _, message in tx.pending_outbox_after(DE, 0, 1000)]


def _bad_update() -> tuple[int, bytes, str]:
    """A status update about an item DE never referred to NL: refused at DE (UNKNOWN_ITEM) when applied."""
    update = StatusUpdate("01a2cccc-0000-7000-8000-000000000000", 1, NL, ManualClock().now(), ItemState.CLOSED_REMOVED)
    return (*encode_body("status_update", dump_body(update.to_json())), "01a2dddd-0000-7000-8000-000000000000")


def _seal(fed: Federation, messages: list[tuple[int, bytes, str]]) -> list[bytes]:
    crypto = fed.members[NL].crypto
    assert crypto is not None
    now = fed.clock.now()
    return crypto.seal_batch(messages, recipient=DE, created_at=now, expires_at=now + timedelta(days=1))


def _deliver(fed: Federation, envelopes: list[bytes]) -> list[DeliveryResult]:
    receiver = fed.members[DE].receiver
    assert receiver is not None
    return receiver.deliver(envelopes, peer=NL)


def _nl_sender(fed: Federation, run_blocking: Any, transport: Any = None, **options: Any) -> PeerSender:
    """NL's sender to DE, doing its blocking work through `run_blocking`, over `transport` (by default the
    federation's network, through `run_blocking` too); `options` are PeerSender's (settings, rng)."""
    nl = fed.members[NL]
    assert nl.crypto is not None
    if transport is None:
        transport = InMemoryTransport(NL, fed.network, run_blocking)
    return PeerSender(
        peer=DE,
        store=nl.node.store,
        sealer=nl.crypto,
        transport=transport,
        clock=fed.clock,
        is_active=fed.membership_active,
        run_blocking=run_blocking,
        **options,
    )


def _as_message(message: OutboxMessage) -> tuple[int, bytes, str]:
    return (*encode_body(message.kind, message.body), message.message_id)


def test_one_refused_message_changes_nothing_and_the_rest_of_its_batch_applies(
    fed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    origins = [refer(fed, f"https://de.host.example/b/{i}") for i in range(3)]
    referrals = [_as_message(m) for m in _pending(fed)]
    before = {table.name: count(fed, DE, table) for table in (t.items, t.audit_log, t.events)}
    receiver = fed.members[DE].receiver
    attempts: list[bool] = []
    transaction = receiver._transaction  # type: ignore[union-attr]

    def spy(*args: Any, savepoints: bool) -> None:
        attempts.append(savepoints)
        transaction(*args, savepoints=savepoints)

    monkeypatch.setattr(receiver, "_transaction", spy)
    results = _deliver(fed, _seal(fed, [referrals[0], _bad_update(), referrals[1], referrals[2]]))
    assert attempts == [False, True]  # no savepoints at first; the refusal rolls back and applies again with them
    assert [(r.status, r.reason_code) for r in results] == [
        (DeliveryStatus.ACCEPTED, ""),
        (DeliveryStatus.REJECTED, "UNKNOWN_ITEM"),
        (DeliveryStatus.ACCEPTED, ""),
        (DeliveryStatus.ACCEPTED, ""),
    ]
    assert all(received(fed, origin) for origin in origins)
    assert count(fed, DE, t.items) == before["items"] + 3
    assert count(fed, DE, t.audit_log) == before["audit_log"] + 3  # one ReceiveReferral each, nothing else
    with fed.members[DE].node.engine.connect() as connection:
        rows = dict(connection.execute(select(t.inbox.c.message_id, t.inbox.c.status)).all())
    assert rows[_bad_update()[2]] == DeliveryStatus.REJECTED
    assert list(rows.values()).count(DeliveryStatus.ACCEPTED) == 3
    # The refusal is final: the same message again is answered with the same refusal, and still changes nothing.
    again = _deliver(fed, _seal(fed, [_bad_update()]))
    assert [(r.status, r.reason_code) for r in again] == [(DeliveryStatus.REJECTED, "UNKNOWN_ITEM")]
    assert count(fed, DE, t.items) == before["items"] + 3


def test_a_message_twice_in_one_batch_is_applied_once(fed: Federation) -> None:
    origin = refer(fed)
    (referral,) = [_as_message(m) for m in _pending(fed)]
    first, second = _deliver(fed, _seal(fed, [referral, referral]))
    assert (first.status, second.status) == (DeliveryStatus.ACCEPTED, DeliveryStatus.DUPLICATE)
    assert second.receipt == first.receipt
    assert count(fed, DE, t.items) == 1 and received(fed, origin)


def test_a_replayed_batch_is_answered_duplicate_with_the_original_receipts(fed: Federation) -> None:
    for i in range(3):
        refer(fed, f"https://de.host.example/r/{i}")
    envelopes = _seal(fed, [_as_message(m) for m in _pending(fed)])
    accepted = _deliver(fed, envelopes)
    replayed = _deliver(fed, envelopes)
    assert {r.status for r in accepted} == {DeliveryStatus.ACCEPTED}
    assert {r.status for r in replayed} == {DeliveryStatus.DUPLICATE}
    assert [r.receipt for r in replayed] == [r.receipt for r in accepted]
    assert count(fed, DE, t.items) == 3


def test_receipts_are_signed_once_per_batch_and_each_verifies_on_its_own(fed: Federation) -> None:
    for i in range(3):
        refer(fed, f"https://de.host.example/c/{i}")
    pending = _pending(fed)
    results = _deliver(fed, _seal(fed, [_as_message(m) for m in pending]))
    crypto = fed.members[NL].crypto
    assert crypto is not None
    for message, result in zip(pending, results, strict=True):
        receipt = envelope_pb2.SignedMessage.FromString(result.receipt)
        assert receipt.batch_proof.tree_size == 3
        crypto.verify_receipt(result.receipt, peer=DE, message_id=message.message_id)  # no memo: on its own
    # A receipt is for its own message only.
    with pytest.raises(Exception, match="not the peer's receipt"):
        crypto.verify_receipt(results[0].receipt, peer=DE, message_id=pending[1].message_id)


def test_a_forged_message_in_a_signed_batch_is_refused_and_the_others_apply(fed: Federation) -> None:
    """The receiver checks a batch's signature once; that must never let an altered message through."""
    for i in range(3):
        refer(fed, f"https://de.host.example/f/{i}")
    pending = _pending(fed)
    now = fed.clock.now()
    key = fed.members[DE].hpke[0].public
    signed = sign_batch(
        [MessageToSign(*_as_message(m), recipient=DE) for m in pending],
        sender=NL,
        signing_keys=fed.members[NL].signing,
        created_at=now,
        expires_at=now + timedelta(days=1),
        roster_version=1,
        recipient_key_id=key.key_id,
    )
    forged = envelope_pb2.SignedMessage.FromString(signed[1][1])
    forged.body = forged.body.replace(b"https://de.host.example/f/1", b"https://de.host.example/f/X")
    signed[1] = (signed[1][0], forged.SerializeToString())
    envelopes = [
        envelope_pb2.SealedEnvelope(
            sender=NL,
            recipient=DE,
            recipient_key_id=key.key_id,
            message_id=message_id,
            suite=key.suite,  # type: ignore[arg-type]
            ciphertext=SUITES[key.suite].encrypt(body, key.load(), info=_info(NL, DE, key.key_id, message_id)),
        ).SerializeToString()
        for message_id, body in signed
    ]
    results = _deliver(fed, envelopes)
    assert [(r.status, r.reason_code) for r in results] == [
        (DeliveryStatus.ACCEPTED, ""),
        (DeliveryStatus.REJECTED, "BAD_SIGNATURE"),
        (DeliveryStatus.ACCEPTED, ""),
    ]
    assert count(fed, DE, t.items) == 2


def test_a_sealed_message_of_a_batch_opens_and_verifies_without_the_rest(fed: Federation) -> None:
    for i in range(2):
        refer(fed, f"https://de.host.example/o/{i}")
    envelopes = _seal(fed, [_as_message(m) for m in _pending(fed)])
    results = _deliver(fed, envelopes[1:])  # the second message alone
    assert [r.status for r in results] == [DeliveryStatus.ACCEPTED]


class _Flaky:
    """An in-memory transport that fails now and then (a transient error, as a dropped connection)."""

    def __init__(self, inner: InMemoryTransport, rng: random.Random) -> None:
        self._inner, self._rng = inner, rng
        self.calls = self.active = self.most_at_once = 0

    async def deliver(self, peer: str, envelopes: Any) -> list[DeliveryResult]:
        self.calls += 1
        self.active += 1
        self.most_at_once = max(self.most_at_once, self.active)
        try:
            await asyncio.sleep(0.001)
            if self._rng.random() < 0.3:
                raise TransportError("connection reset", transient=True)
            return await self._inner.deliver(peer, envelopes)
        finally:
            self.active -= 1


async def test_the_send_window_delivers_every_message_exactly_once(fed: Federation) -> None:
    for i in range(120):
        refer(fed, f"https://de.host.example/w/{i}")
    nl = fed.members[NL]

    async def run_blocking(fn: Any, *args: Any) -> Any:
        await asyncio.sleep(0)  # let the other batch in the window move
        return fn(*args)

    transport = _Flaky(InMemoryTransport(NL, fed.network, run_blocking), random.Random(7))
    sender = _nl_sender(
        fed, run_blocking, transport, settings=SendSettings(batch_count=7, window=3), rng=random.Random(1)
    )

    def outstanding() -> int:
        with nl.node.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(t.outbox).where(t.outbox.c.status != OutboxStatus.ACKED)
                ).scalar_one()
            )

    task = asyncio.create_task(sender.run(poll_seconds=0.01))
    try:
        for _ in range(2000):
            if outstanding() == 0:
                break
            fed.clock.advance(timedelta(minutes=20))  # past any backoff after a failure
            sender.wake.set()
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert outstanding() == 0 and transport.calls > 120 // 7
    assert transport.most_at_once > 1  # batches were on the wire together
    assert count(fed, DE, t.items) == 120
    assert count(fed, NL, t.receipts) == 120
    with fed.members[DE].node.engine.connect() as connection:
        assert connection.execute(select(func.count(func.distinct(t.items.c.origin_item_id)))).scalar_one() == 120


def test_a_status_update_batch_back_to_the_origin_is_applied_in_order(fed: Federation) -> None:
    origin = refer(fed)
    assert fed.deliver_all() == 1
    de = fed.members[DE].node
    de_id = received(fed, origin)
    de.cases.assess(ANALYST, de_id, Assessment(Classification.NATIONAL))
    for action in (ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED, ActionType.CONTENT_REMOVED):
        de.cases.record_action(ANALYST, de_id, NewAction(action))
    assert fed.deliver_all() == 4  # one batch of four, signed once
    item = fed.members[NL].node.cases.get_item(origin)
    assert item.state is ItemState.CLOSED_REMOVED and item.status_sequence == 4


@pytest.mark.parametrize(
    ("after", "told_by"), [("_due_batch", "wake-up"), ("_record", "wake-up"), ("_record", "runtime count")]
)
async def test_a_message_queued_while_an_idle_sender_looks_is_sent_not_stranded(
    fed: Federation, after: str, told_by: str
) -> None:
    """The runtime leaves a wake-up to a sender loop it sees running. If a message is queued while that
    loop looks at an empty outbox (`_due_batch`), or just after its answers left nothing pending (`_record`: the
    loop would not look again), the loop must look again rather than end and strand the message. It is told by
    the commit's wake-up, or by the runtime's count of the commits that queue for the peer."""
    raced: list[str] = []
    sender: PeerSender

    async def run_blocking(fn: Any, *args: Any) -> Any:
        result = fn(*args)
        if getattr(fn, "__name__", "") == after and not raced:
            raced.append(refer(fed, "https://de.host.example/raced"))  # committed just after it
            if told_by == "wake-up":
                sender.wake.set()  # as the runtime's wake-up does for a loop it sees running
            else:
                sender.queued_count += 1  # as ExchangeRuntime.queued does on the committing thread
        return result

    sender = _nl_sender(fed, run_blocking)
    first = refer(fed, "https://de.host.example/first") if after == "_record" else ""
    await asyncio.wait_for(sender.run(poll_seconds=0.01), 10)  # ends once nothing waits
    assert raced and received(fed, raced[0]) and (not first or received(fed, first))
    assert count(fed, DE, t.items) == len(raced) + bool(first)


class _Held:
    """An in-memory transport whose deliveries wait until the test lets them through."""

    def __init__(self, inner: InMemoryTransport) -> None:
        self._inner = inner
        self.release = asyncio.Event()
        self.sent: list[list[bytes]] = []
        self.active = self.most_at_once = 0

    async def deliver(self, peer: str, envelopes: Any) -> list[DeliveryResult]:
        self.sent.append(list(envelopes))
        self.active += 1
        self.most_at_once = max(self.most_at_once, self.active)
        try:
            await self.release.wait()
            return await self._inner.deliver(peer, envelopes)
        finally:
            self.active -= 1


async def _until(condition: Any) -> None:
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never came true")


async def test_with_all_that_was_due_in_flight_the_sender_looks_again_only_when_woken(fed: Federation) -> None:
    """A batch that took every due message is on the wire: no look past it finds anything until something is
    queued, so the loop looks only when woken; then the new message goes at once, beside the first batch."""
    looks: list[int] = []

    async def run_blocking(fn: Any, *args: Any) -> Any:
        if getattr(fn, "__name__", "") == "_due_batch":
            looks.append(args[0])  # the outbox id it looks past
        return fn(*args)

    transport = _Held(InMemoryTransport(NL, fed.network, run_blocking))
    sender = _nl_sender(fed, run_blocking, transport)
    first = refer(fed, "https://de.host.example/first")
    task = asyncio.create_task(sender.run(poll_seconds=0.01))
    try:
        await _until(lambda: len(transport.sent) == 1)
        for _ in range(100):
            await asyncio.sleep(0)
        assert looks == [0]  # the batch in flight took all there was: no look past it
        second = refer(fed, "https://de.host.example/second")
        sender.wake.set()  # as the runtime does when a commit queued something
        await _until(lambda: len(transport.sent) == 2)
        assert len(looks) == 2 and looks[1] > 0  # one look, past the first batch
        assert transport.most_at_once == 2  # the second went while the first was on the wire
        transport.release.set()
        await asyncio.wait_for(task, 10)  # ends once nothing waits
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert received(fed, first) and received(fed, second)
    assert count(fed, DE, t.items) == 2 and count(fed, NL, t.receipts) == 2
    assert looks[2:] == [0]  # and the last look, from the start of the outbox, found nothing


def test_a_failure_after_a_success_backs_the_sender_off_again(fed: Federation) -> None:
    """The sender skips reading its peer's backoff while its own last answer cleared it: a failure must bring
    the reading back, so that the next send waits for the backoff."""
    nl = fed.members[NL].node
    refer(fed, "https://de.host.example/before")
    assert fed.deliver_all() == 1  # the answer cleared the backoff
    waiting = refer(fed, "https://de.host.example/during")
    fed.network.partition(NL, DE)
    assert fed.deliver_all() == 0
    with nl.store.transaction(read_only=True) as tx:
        failures, next_attempt = tx.peer_backoff(DE)
    assert failures == 1 and next_attempt is not None and next_attempt > fed.clock.now()
    fed.network.heal()
    assert fed.deliver_all() == 0  # still backing off, though the peer is reachable
    fed.clock.advance(timedelta(minutes=20))
    assert fed.deliver_all() == 1
    assert received(fed, waiting)
    with nl.store.transaction(read_only=True) as tx:
        assert tx.peer_backoff(DE) == (0, None)


# The look after a batch's answers: when they leave nothing pending for the peer, the loop ends without reading
# the outbox again; a message queued after that, told by a wake-up or by the runtime's count of queueing commits,
# is still looked for and sent.


def _transactions(fed: Federation) -> list[bool]:
    """Whether each transaction NL's store opens from now on is read-only, in order."""
    opened: list[bool] = []
    fed.members[NL].node.store.observe = lambda read_only, _seconds, _committed: opened.append(read_only)
    return opened


async def _inline(fn: Any, *args: Any) -> Any:
    return fn(*args)


async def test_answers_that_leave_nothing_pending_end_the_loop_without_another_look(fed: Federation) -> None:
    sent = refer(fed, "https://de.host.example/one")
    sender = _nl_sender(fed, _inline)
    opened = _transactions(fed)
    await asyncio.wait_for(sender.run(poll_seconds=0.01), 10)  # ends once nothing waits
    assert received(fed, sent)
    # The stored refusal and the look (read), the answers (written): no second look at an outbox left empty.
    assert opened == [True, True, False]


async def test_answers_that_leave_messages_pending_are_followed_by_a_look(fed: Federation) -> None:
    sent = [refer(fed, f"https://de.host.example/{i}") for i in range(2)]
    sender = _nl_sender(fed, _inline, settings=SendSettings(batch_count=1, window=1))  # one batch of one at a time
    await asyncio.wait_for(sender.run(poll_seconds=0.01), 10)
    assert all(received(fed, origin) for origin in sent)
