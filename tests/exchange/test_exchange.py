"""Signed, sealed exchange between nodes over the in-memory transport, with real keys and real crypto:
intake in one country to removal in another with every status back, receipts as chain of custody, and the
envelope-level attacks, each refused with its reason and nothing applied."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2
from node.cases.exchange_messages import Referral, dump_body
from node.cases.model import ActionType, Assessment, Classification, ItemState, OutboxMessage
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.crypto import HpkeKeyPair, PublicHpkeKey, SigningKeyPair, seal
from node.errors import ResourceExhausted
from node.exchange.codec import encode_body
from node.exchange.delivery import DeliveryStatus
from node.exchange.ports import OutboxStatus
from node.store import schema as t
from tests.conftest import ANALYST, INTAKE
from tests.exchange.federation import Federation, later

NATIONAL = Assessment(Classification.NATIONAL)


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def refer(fed: Federation, url: str = "https://de.host.example/x") -> str:
    nl = fed.members["nl-hotline"].node
    item_id = nl.cases.submit_report(INTAKE, NewReport((NewUrl(url),))).items[0].item_id
    nl.cases.assess(ANALYST, item_id, NATIONAL)
    return item_id


def received(fed: Federation, origin_item_id: str) -> str:
    de = fed.members["de-hotline"].node
    with de.store.transaction(read_only=True) as tx:
        item = tx.find_item_by_origin("nl-hotline", origin_item_id)
    assert item is not None
    return item.item_id


def count(fed: Federation, node_id: str, table: t.Table) -> int:
    with fed.members[node_id].node.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_from_intake_in_one_country_to_removal_in_another_with_every_status_back(fed: Federation) -> None:
    nl, de = fed.members["nl-hotline"].node, fed.members["de-hotline"].node
    origin_id = refer(fed)
    assert fed.deliver_all() == 1
    de_id = received(fed, origin_id)
    de.cases.assess(ANALYST, de_id, NATIONAL)
    for action in (ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED, ActionType.CONTENT_REMOVED):
        later(fed.clock, hours=5)
        de.cases.record_action(ANALYST, de_id, NewAction(action))
    assert fed.deliver_all() == 4
    origin = nl.cases.get_item(origin_id)
    assert origin.state is ItemState.CLOSED_REMOVED and origin.status_sequence == 4
    custody = nl.cases.receipts(origin_id)
    assert [(peer, accepted) for _, peer, accepted, _ in custody] == [("de-hotline", origin.first_reported_at)]
    assert len(de.cases.receipts(de_id)) == 4  # de holds nl's receipt for each status update


def test_post_quantum_suites_and_required_ml_dsa_signatures(tmp_path: Path, clock: ManualClock) -> None:
    fed = Federation(tmp_path, clock, pq={"nl-hotline", "de-hotline"})
    try:
        origin_id = refer(fed)
        assert fed.deliver_all() == 1
        received(fed, origin_id)
        with fed.members["nl-hotline"].node.engine.connect() as connection:
            assert connection.execute(select(t.outbox.c.status)).scalar_one() == OutboxStatus.ACKED
    finally:
        fed.close()


def _envelope(
    fed: Federation,
    *,
    sender: str = "nl-hotline",
    recipient: str = "de-hotline",
    signing: list[SigningKeyPair] | None = None,
    key: PublicHpkeKey | None = None,
    created: timedelta = timedelta(0),
    ttl: timedelta = timedelta(days=1),
    message_id: str | None = None,
) -> bytes:
    kind, body = encode_body(
        "withdrawal",
        '{"origin_item_id":"01a2aaaa-0000-7000-8000-000000000000","origin_node":"nl-hotline","reason":"x"}',
    )
    now = fed.clock.now() + created
    return seal(
        kind=kind,
        body=body,
        sender=sender,
        recipient=recipient,
        signing_keys=signing if signing is not None else fed.members[sender].signing,
        recipient_hpke_key=key or fed.members[recipient].hpke[0].public,
        created_at=now,
        expires_at=now + ttl,
        roster_version=1,
        message_id=message_id,
    )


def _deliver(
    fed: Federation, data: bytes, *, to: str = "de-hotline", peer: str | None = "nl-hotline"
) -> tuple[str, str]:
    receiver = fed.members[to].receiver
    assert receiver is not None
    (result,) = receiver.deliver([data], peer=peer)
    return result.status, result.reason_code


def test_a_replayed_message_is_answered_duplicate_and_applied_once(fed: Federation) -> None:
    origin_id = refer(fed)
    nl = fed.members["nl-hotline"]
    with nl.node.store.transaction(read_only=True) as tx:
        ((_, message),) = tx.pending_outbox_after("de-hotline", 0, 10)
    kind, body = encode_body(message.kind, message.body)
    assert nl.crypto is not None
    data = nl.crypto.seal(
        kind=kind,
        body=body,
        recipient="de-hotline",
        message_id=message.message_id,
        created_at=fed.clock.now(),
        expires_at=fed.clock.now() + timedelta(days=1),
    )
    assert _deliver(fed, data) == (DeliveryStatus.ACCEPTED, "")
    assert _deliver(fed, data) == (DeliveryStatus.DUPLICATE, "")
    items = count(fed, "de-hotline", t.items)
    assert items == 1 and received(fed, origin_id)


ATTACKS = {
    "forged signature (a key the roster does not list)": (
        lambda fed: _envelope(fed, signing=[SigningKeyPair.generate()]),
        "UNKNOWN_KEY",
    ),
    "wrong recipient": (lambda fed: _envelope(fed, recipient="fr-hotline"), "WRONG_RECIPIENT"),
    "expired": (lambda fed: _envelope(fed, created=timedelta(days=-3)), "EXPIRED"),
    "dated in the future beyond the skew": (
        lambda fed: _envelope(fed, created=timedelta(minutes=10)),
        "FROM_THE_FUTURE",
    ),
    "unknown sender": (
        lambda fed: _envelope(fed, sender="xx-hotline", signing=[SigningKeyPair.generate()]),
        "UNKNOWN_KEY",
    ),
    "malformed bytes": (lambda fed: b"\x0a\xff\xff\xff", "MALFORMED"),
    "sealed to a key the recipient does not hold": (
        lambda fed: _envelope(fed, key=HpkeKeyPair.generate().public),
        "UNKNOWN_KEY",
    ),
    "unsupported HPKE suite": (
        lambda fed: _envelope(
            fed, key=HpkeKeyPair.generate(envelope_pb2.HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM).public
        ),
        "UNSUPPORTED_SUITE",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_is_refused_with_its_reason_and_nothing_is_applied(fed: Federation, attack: str) -> None:
    make, reason = ATTACKS[attack]
    before = {table.name: count(fed, "de-hotline", table) for table in (t.items, t.inbox, t.audit_log)}
    status, code = _deliver(fed, make(fed), peer=None)
    assert (status, code) == (DeliveryStatus.REJECTED, reason)
    assert {table.name: count(fed, "de-hotline", table) for table in (t.items, t.inbox, t.audit_log)} == before
    events = fed.members["de-hotline"].node.cases.list_events(after_seq=0, limit=10)
    assert events[-1].kind == "exchange.rejected" and reason in events[-1].detail


def test_a_tampered_ciphertext_does_not_open(fed: Federation) -> None:
    sealed = envelope_pb2.SealedEnvelope.FromString(_envelope(fed))
    tampered = bytearray(sealed.ciphertext)
    tampered[-5] ^= 0x01
    sealed.ciphertext = bytes(tampered)
    assert _deliver(fed, sealed.SerializeToString()) == (DeliveryStatus.REJECTED, "DECRYPTION_FAILED")
    sealed = envelope_pb2.SealedEnvelope.FromString(_envelope(fed))
    sealed.message_id = "01a2bbbb-0000-7000-8000-000000000000"  # the clear fields are bound into HPKE's info
    assert _deliver(fed, sealed.SerializeToString()) == (DeliveryStatus.REJECTED, "DECRYPTION_FAILED")


def test_a_certificate_of_one_node_cannot_send_as_another(fed: Federation) -> None:
    assert _deliver(fed, _envelope(fed), peer="fr-hotline") == (DeliveryStatus.REJECTED, "PEER_MISMATCH")


def test_suspended_and_revoked_members_can_neither_send_nor_receive_and_their_messages_are_held(
    fed: Federation,
) -> None:
    fed.set_status("nl-hotline", roster_pb2.MEMBER_STATUS_SUSPENDED)
    assert _deliver(fed, _envelope(fed)) == (DeliveryStatus.REJECTED, "SENDER_NOT_ACTIVE")
    fed.set_status("nl-hotline", roster_pb2.MEMBER_STATUS_FULL)
    fed.set_status("de-hotline", roster_pb2.MEMBER_STATUS_REVOKED)
    nl = fed.members["nl-hotline"].node
    item_id = nl.cases.submit_report(INTAKE, NewReport((NewUrl("https://de.host.example/held"),))).items[0].item_id
    nl.cases.assess(ANALYST, item_id, NATIONAL)
    assert nl.cases.get_item(item_id).state is ItemState.AWAITING_LEA  # DE has no active member: fallback
    fed.set_status("de-hotline", roster_pb2.MEMBER_STATUS_FULL)
    origin_id = refer(fed, "https://de.host.example/held-2")
    fed.set_status("de-hotline", roster_pb2.MEMBER_STATUS_SUSPENDED)
    assert fed.deliver_all() == 0  # held, not lost
    fed.set_status("de-hotline", roster_pb2.MEMBER_STATUS_FULL)
    assert fed.deliver_all() == 1
    assert received(fed, origin_id)


def test_a_message_that_lacks_a_required_ml_dsa_signature_is_refused(tmp_path: Path, clock: ManualClock) -> None:
    fed = Federation(tmp_path, clock, pq={"nl-hotline"})
    try:
        ed25519_only = [
            k for k in fed.members["nl-hotline"].signing if k.algorithm == envelope_pb2.SIGNATURE_ALGORITHM_ED25519
        ]
        assert _deliver(fed, _envelope(fed, signing=ed25519_only)) == (DeliveryStatus.REJECTED, "MISSING_SIGNATURE")
    finally:
        fed.close()


def test_an_oversize_batch_is_refused_whole(fed: Federation) -> None:
    receiver = fed.members["de-hotline"].receiver
    assert receiver is not None
    with pytest.raises(ResourceExhausted, match="envelopes per batch"):
        receiver.deliver([b"x"] * (receiver.limits.max_batch_count + 1), peer="nl-hotline")


def test_a_rejection_is_stored_shown_and_never_retried(fed: Federation) -> None:
    nl = fed.members["nl-hotline"].node
    referral = Referral(  # a referral nl sends in fr's name: refused for good (not authorised)
        "fr-hotline",
        "01a2cccc-0000-7000-8000-000000000000",
        "https://de.host.example/x",
        (),
        None,
        None,
        fed.clock.now(),
    )
    with nl.store.transaction() as tx:
        tx.enqueue_outbox(
            OutboxMessage(
                "01a2dddd-0000-7000-8000-000000000000",
                "de-hotline",
                "referral",
                "no-item",
                dump_body(referral.to_json()),
                fed.clock.now(),
            )
        )
    assert fed.deliver_all() == 1
    with nl.engine.connect() as connection:
        row = connection.execute(select(t.outbox.c.status, t.outbox.c.last_error)).one()
    assert row.status == OutboxStatus.REJECTED and row.last_error.startswith("ORIGIN_NOT_SENDER: ")
    events = nl.cases.list_events(after_seq=0, limit=10)
    assert events[-1].kind == "delivery.rejected"
    assert fed.deliver_all() == 0  # never retried


def test_a_partition_backs_off_persistently_and_delivers_after_it_heals(fed: Federation) -> None:
    nl = fed.members["nl-hotline"].node
    origin_id = refer(fed)
    fed.network.partition("nl-hotline", "de-hotline")
    assert fed.deliver_all() == 0
    with nl.store.transaction(read_only=True) as tx:
        failures, next_attempt = tx.peer_backoff("de-hotline")
    assert failures == 1 and next_attempt is not None
    fed.network.heal()
    assert fed.deliver_all() == 0 or next_attempt <= fed.clock.now()  # still backing off
    later(fed.clock, minutes=20)
    assert fed.deliver_all() == 1
    assert received(fed, origin_id)
    with nl.store.transaction(read_only=True) as tx:
        assert tx.peer_backoff("de-hotline")[0] == 0


def test_a_message_refused_because_its_sender_is_suspended_is_held_and_sent_after_reinstatement(
    fed: Federation,
) -> None:
    nl = fed.members["nl-hotline"].node
    item_id = nl.cases.submit_report(INTAKE, NewReport((NewUrl("https://de.host.example/crossed"),))).items[0].item_id
    nl.cases.assess(ANALYST, item_id, NATIONAL)
    # The receiver's roster suspends nl while nl's sender still sends (a roster change crossing the call).
    fed.set_status("nl-hotline", roster_pb2.MEMBER_STATUS_SUSPENDED)
    fed.deliver_all()

    def outbox() -> tuple[str, str]:
        with nl.engine.connect() as connection:
            row = connection.execute(
                select(t.outbox.c.status, t.outbox.c.last_error).where(t.outbox.c.item_id == item_id)
            ).one()
        return row.status, row.last_error

    assert outbox()[0] == OutboxStatus.PENDING  # held, not rejected for good
    fed.set_status("nl-hotline", roster_pb2.MEMBER_STATUS_FULL)
    later(fed.clock, hours=2)
    assert fed.deliver_all() >= 1
    assert outbox()[0] == OutboxStatus.ACKED
