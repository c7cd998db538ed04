"""An origin restored from a backup older than some of its referrals gets them back from the assignee: the
assignee hands back the referral as the origin signed it, the origin verifies its own signature and re-creates
the item, and the assignee's status updates (applied before the restore, or refused while the item was lost)
apply once. On SQLite and PostgreSQL, whichever node asks. A copy that does not verify changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.cases.model import ActionType
from node.clock import ManualClock
from node.crypto import SigningKeyPair
from node.crypto.envelope import sign_message
from node.exchange.ports import OutboxStatus
from node.exchange.reconcile import ReconcileLimits, ReconcileRefused
from node.exchange.sealing import RosterCrypto
from node.store import schema as t
from node.store.backup import backup_sqlite, restore_sqlite
from tests.conftest import ANALYST
from tests.exchange.federation import Federation, later
from tests.exchange.test_reconcile import DE, NL, _reconciliation, act, reconcile, refer, rows, view


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock, request: pytest.FixtureRequest, backend: str) -> Iterator[Federation]:
    """The origin, nl-hotline, on the backend under test."""
    databases = {NL: str(request.getfixturevalue("postgres_url"))} if backend == "postgres" else {}
    federation = Federation(tmp_path, clock, databases=databases)
    for node_id in federation.members:
        federation.network.reconcilers[node_id] = _reconciliation(federation, node_id).answer
    yield federation
    federation.close()


def _backup_and_restore(fed: Federation, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], None]:
    """Back the origin up now; the function returned restores that backup (and marks the node restored, as
    `hotline-node restore` does)."""
    nl = fed.members[NL].node
    url = nl.config.effective_database_url()
    if make_url(url).get_backend_name() == "sqlite":
        backup_sqlite(url, tmp_path / "nl.backup")

        def restore() -> None:
            nl.engine.dispose()
            restore_sqlite(url, tmp_path / "nl.backup")
            _mark_restored(fed)

        return restore
    # PostgreSQL: a copy of the database as a template stands for pg_dump and pg_restore.
    admin = create_engine(str(request.getfixturevalue("postgres_server")), isolation_level="AUTOCOMMIT")
    name, copy = make_url(url).database, f"{make_url(url).database}_backup"
    nl.engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))

    def restore_pg() -> None:
        nl.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{copy}"'))
            connection.execute(text(f'DROP DATABASE "{copy}"'))
        admin.dispose()
        _mark_restored(fed)

    return restore_pg


def _mark_restored(fed: Federation) -> None:
    with fed.members[NL].node.store.transaction() as tx:
        tx.mark_restored(fed.clock.now(), "nl.backup")
    later(fed.clock, minutes=1)


def _actions(fed: Federation, node_id: str, item_id: str) -> list[str]:
    with fed.members[node_id].node.engine.connect() as connection:
        return list(
            connection.execute(
                select(t.actions.c.type).where(t.actions.c.item_id == item_id).order_by(t.actions.c.occurred_at)
            ).scalars()
        )


@pytest.mark.parametrize("asker", [NL, DE])
def test_an_origin_restored_from_a_backup_gets_its_lost_referrals_back_and_their_updates_apply_once(
    fed: Federation, tmp_path: Path, request: pytest.FixtureRequest, asker: str
) -> None:
    nl = fed.members[NL].node
    kept = refer(fed, "a")
    fed.deliver_all()
    act(fed, kept, ActionType.LEA_NOTIFIED)
    fed.deliver_all()
    restore = _backup_and_restore(fed, tmp_path, request)

    lost = [refer(fed, "b"), refer(fed, "c")]  # referred after the backup: the restore loses them
    fed.deliver_all()
    act(fed, lost[0], ActionType.LEA_NOTIFIED)
    act(fed, lost[0], ActionType.HP_NOTIFIED)
    fed.deliver_all()  # applied at nl before the restore
    restore()
    assert {ref for _, ref, _ in view(fed, NL, DE)} == {kept}
    act(fed, lost[1], ActionType.LEA_NOTIFIED)  # sent while nl lacks the item: refused UNKNOWN_ITEM, kept at de
    assert fed.deliver_all() == 2  # de's assessment (#1) and its LEA notice (#2)
    expected = view(fed, DE, NL)
    sequences = {ref: seq for _, ref, seq in expected}
    assert [sequences[ref] for ref in lost] == [3, 2]
    applied = rows(fed, NL, t.events, t.events.c.kind == "status.applied")

    outcome = reconcile(fed, asker, DE if asker == NL else NL)
    assert not outcome.agreed and outcome.unrepairable == []
    assert outcome.recovered == (2 if asker == NL else 0)  # counted where they came back
    resent_by_de = outcome.resent_there if asker == NL else outcome.resent_here
    assert resent_by_de == 5  # b's three updates and c's two, queued again under their message ids
    assert fed.deliver_all() == 5
    assert reconcile(fed, NL, DE).agreed and reconcile(fed, DE, NL).agreed
    assert view(fed, NL, DE) == view(fed, DE, NL) == expected

    # The items came back as nl referred them: referred to de, with the referral acknowledged and de's receipt.
    for item_id, path in zip(lost, "bc", strict=True):
        item = nl.cases.get_item(item_id)
        assert (item.referred_to, item.assigned_node, item.url) == (DE, DE, f"https://de.host.example/{path}")
        with nl.engine.connect() as connection:
            outbox = connection.execute(
                select(t.outbox.c.kind, t.outbox.c.status).where(t.outbox.c.item_id == item_id)
            ).all()
        assert outbox == [("referral", OutboxStatus.ACKED.value)]
        assert rows(fed, NL, t.receipts, t.receipts.c.item_id == item_id) == 1
    # Nothing applied twice: each update once, one event per recovered referral, nothing more to send.
    assert _actions(fed, NL, lost[0]) == ["LEA_NOTIFIED", "HP_NOTIFIED"]
    assert _actions(fed, NL, lost[1]) == ["LEA_NOTIFIED"]
    assert rows(fed, NL, t.events, t.events.c.kind == "referral.recovered") == 2
    assert rows(fed, NL, t.events, t.events.c.kind == "status.applied") - applied == 5
    assert fed.deliver_all() == 0
    # A later round takes nothing back again, and de's next update applies in sequence.
    assert reconcile(fed, asker, DE if asker == NL else NL).agreed
    assert rows(fed, NL, t.events, t.events.c.kind == "referral.recovered") == 2
    act(fed, lost[1], ActionType.HP_NOTIFIED)
    assert fed.deliver_all() == 1
    assert nl.cases.get_item(lost[1]).status_sequence == 3


# ------------------------------------------------------------------------------------------------ bad copies


def _lose_one(fed: Federation, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    refer(fed, "a")
    fed.deliver_all()
    restore = _backup_and_restore(fed, tmp_path, request)
    lost = refer(fed, "b")
    fed.deliver_all()
    act(fed, lost, ActionType.LEA_NOTIFIED)
    fed.deliver_all()
    restore()
    return lost


def _set_copy(fed: Federation, origin_item_id: str, signed: bytes) -> None:
    with fed.members[DE].node.store.transaction() as tx:
        tx.c.execute(
            update(t.referral_copies)
            .where(t.referral_copies.c.origin_item_id == origin_item_id)
            .values(signed_referral=base64.b64encode(signed).decode())
        )


def _copy(fed: Federation, origin_item_id: str) -> envelope_pb2.SignedMessage:
    with fed.members[DE].node.store.transaction(read_only=True) as tx:
        (copy,) = tx.referral_copies(NL, [origin_item_id])
    return envelope_pb2.SignedMessage.FromString(copy.signed_referral)


def _tampered(fed: Federation, origin_item_id: str) -> bytes:
    """nl's referral with another URL in its body, signatures unchanged."""
    signed = _copy(fed, origin_item_id)
    body = messages_pb2.Referral.FromString(signed.body)
    body.url = "https://de.host.example/not-what-nl-referred"
    signed.body = body.SerializeToString()
    return signed.SerializeToString()


def _foreign(fed: Federation, origin_item_id: str) -> bytes:
    """The same referral, header and body, signed by de's key in nl's name."""
    signed = _copy(fed, origin_item_id)
    header = envelope_pb2.EnvelopeHeader.FromString(signed.header)
    _, forged = sign_message(
        kind=envelope_pb2.MESSAGE_KIND_REFERRAL,
        body=signed.body,
        sender=NL,
        recipient=DE,
        signing_keys=fed.members[DE].signing,
        created_at=header.created_at.ToDatetime().astimezone(),
        expires_at=header.expires_at.ToDatetime().astimezone(),
        roster_version=header.roster_version,
        message_id=header.message_id,
    )
    return forged


@pytest.mark.parametrize(
    ("forge", "says"),
    [(_tampered, "this node's signature does not verify"), (_foreign, "this node's signature does not verify")],
)
def test_a_tampered_or_foreign_signed_copy_is_refused_with_its_reason_and_changes_nothing(
    fed: Federation,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    forge: Callable[[Federation, str], bytes],
    says: str,
) -> None:
    lost = _lose_one(fed, tmp_path, request)
    _set_copy(fed, lost, forge(fed, lost))
    before = {table.name: rows(fed, NL, table) for table in (t.items, t.outbox, t.receipts, t.events, t.inbox)}
    with pytest.raises(ReconcileRefused) as refused:
        reconcile(fed, NL, DE)
    assert refused.value.code == "BAD_REFERRAL_COPY" and says in refused.value.message
    after = {table.name: rows(fed, NL, table) for table in (t.items, t.outbox, t.receipts, t.events, t.inbox)}
    assert after == before
    assert rows(fed, NL, t.items, t.items.c.item_id == lost) == 0


def test_a_copy_with_a_receipt_for_other_bytes_is_refused(
    fed: Federation, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kept = refer(fed, "a")
    fed.deliver_all()
    restore = _backup_and_restore(fed, tmp_path, request)
    lost = refer(fed, "b")
    fed.deliver_all()
    restore()
    with fed.members[DE].node.store.transaction(read_only=True) as tx:
        (other,) = tx.referral_copies(NL, [kept])
    with fed.members[DE].node.store.transaction() as tx:
        tx.c.execute(
            update(t.referral_copies)
            .where(t.referral_copies.c.origin_item_id == lost)
            .values(receipt=base64.b64encode(other.receipt).decode())
        )
    with pytest.raises(ReconcileRefused) as refused:
        reconcile(fed, NL, DE)
    assert refused.value.code == "BAD_REFERRAL_COPY" and "receipt" in refused.value.message
    assert rows(fed, NL, t.items, t.items.c.item_id == lost) == 0


def test_the_assignees_copy_of_a_referral_goes_with_its_item_at_retention(fed: Federation) -> None:
    """The copy holds the URL: it lives as long as the item it was received for, and no longer."""
    item_id = refer(fed, "a")
    fed.deliver_all()
    de = fed.members[DE].node
    assert rows(fed, DE, t.referral_copies) == 1
    fed.members[NL].node.cases.withdraw_referral(ANALYST, item_id, "reported in error")
    fed.deliver_all()  # withdrawn at de too: closed there
    later(fed.clock, days=400)
    assert de.cases.purge_closed(timedelta(days=365)) == 1
    assert rows(fed, DE, t.referral_copies) == 0


def test_copies_that_do_not_fit_one_view_come_back_in_the_next(
    fed: Federation, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A view carries copies up to half its size limit; the round goes on while items come back."""
    refer(fed, "a")
    fed.deliver_all()
    restore = _backup_and_restore(fed, tmp_path, request)
    lost = [refer(fed, f"lost-{n}") for n in range(3)]
    fed.deliver_all()
    restore()
    with fed.members[DE].node.store.transaction(read_only=True) as tx:
        sizes = [len(c.signed_referral) + len(c.receipt) for c in tx.referral_copies(NL, lost)]
    answering = _reconciliation(fed, DE, ReconcileLimits(max_envelope_bytes=2 * max(sizes) + 1))
    asked: list[int] = []

    def answer(envelope: bytes, *, peer: str | None) -> bytes:
        sealed = answering.answer(envelope, peer=peer)
        asked.append(len(sealed))
        return sealed

    fed.network.reconcilers[DE] = answer
    reconcile(fed, NL, DE)
    assert rows(fed, NL, t.events, t.events.c.kind == "referral.recovered") == 3
    assert len(asked) == 1 + 3 + 1  # the digests, one view per copy, and the view that finds nothing more
    assert reconcile(fed, NL, DE).agreed


def test_a_copy_signed_before_a_key_rotation_verifies_with_the_retired_key(
    fed: Federation, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """nl-hotline rotated its signing key after the referral: the retired key (kept by `keys rotate`) still proves
    the copy is nl's own."""
    lost = _lose_one(fed, tmp_path, request)
    member = fed.members[NL]
    member.crypto = RosterCrypto(
        node_id=NL,
        signing_keys=[SigningKeyPair.generate()],
        retired_signing_keys=member.signing,
        hpke_keys=member.hpke,
        membership=lambda: fed.membership,
        clock=fed.clock,
    )
    assert reconcile(fed, NL, DE).recovered == 1
    assert rows(fed, NL, t.items, t.items.c.item_id == lost) == 1
