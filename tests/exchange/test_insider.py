"""A member in good standing, with its own real keys, that says what it may not: each message goes out of its
own outbox through the real send path (signed, sealed, delivered, answered), and each is refused by the
authority rules (node.cases.exchange_rules) with a named reason that both operators see (the receiver's
inbox and events, the sender's outbox and events), and nothing changes at the receiver."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from uuid6 import uuid7

from node.cases.exchange_messages import ExchangeMessage, Referral, StatusUpdate, Withdrawal, dump_body
from node.cases.exchange_rules import STATUS_WINDOW
from node.cases.model import ActionType, ItemState, OutboxMessage
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.exchange.ports import OutboxStatus
from node.store import schema as t
from tests.conftest import ANALYST, INTAKE
from tests.exchange.federation import Federation
from tests.exchange.test_exchange import NATIONAL

NL, DE, FR = "nl-hotline", "de-hotline", "fr-hotline"


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


@dataclass(frozen=True)
class Seen:
    """One message and what each side recorded of it."""

    status: str  # the sender's outbox status
    last_error: str  # the sender's outbox: "<code>: <reason>"
    sender_event: str  # the sender's last event
    inbox_code: str  # the receiver's inbox entry
    receiver_event: str  # the receiver's last event

    @property
    def code(self) -> str:
        return self.inbox_code


def node(fed: Federation, node_id: str) -> Any:
    return fed.members[node_id].node


def send(fed: Federation, frm: str, to: str, message: ExchangeMessage, message_id: str = "") -> Seen:
    """`frm` queues `message` in its own outbox, as any body it likes, and its send loop delivers it."""
    sender = node(fed, frm)
    message_id = message_id or str(uuid7())
    with sender.store.transaction() as tx:
        tx.enqueue_outbox(
            OutboxMessage(message_id, to, message.kind, "insider", dump_body(message.to_json()), fed.clock.now())
        )
    assert asyncio.run(fed.sender(frm, to).send_once()) == 1
    with sender.engine.connect() as c:
        row = c.execute(select(t.outbox.c.status, t.outbox.c.last_error).where(t.outbox.c.message_id == message_id))
        status, last_error = row.one()
    with node(fed, to).engine.connect() as c:
        code = c.execute(
            select(t.inbox.c.reason_code).where(t.inbox.c.sender == frm, t.inbox.c.message_id == message_id)
        ).scalar_one_or_none()
    return Seen(status, last_error, last_event(fed, frm), code or "", last_event(fed, to))


def last_event(fed: Federation, node_id: str) -> str:
    events = node(fed, node_id).cases.list_events(after_seq=0, limit=100_000)
    return f"{events[-1].kind} {events[-1].detail}" if events else ""


def refused(seen: Seen, code: str, frm: str) -> None:
    """The reason both operators see: the sender's outbox and event, the receiver's inbox and event."""
    assert seen.status == OutboxStatus.REJECTED and seen.last_error.startswith(f"{code}: ")
    assert seen.sender_event.startswith("delivery.rejected") and seen.sender_event.endswith(code)
    assert seen.inbox_code == code
    assert seen.receiver_event.startswith(f"exchange.rejected {code} from {frm} ")


def accepted(seen: Seen) -> None:
    assert (seen.status, seen.inbox_code) == (OutboxStatus.ACKED, "")


TABLES = (t.items, t.actions, t.hosting_records, t.assessments, t.pending_status_updates, t.outbox, t.item_hashes)


def state(fed: Federation, node_id: str) -> dict[str, Any]:
    """What a node holds of its cases: row counts, and each item's state, assignee and sequence."""
    with node(fed, node_id).engine.connect() as c:
        counts = {table.name: c.execute(select(func.count()).select_from(table)).scalar_one() for table in TABLES}
        items = c.execute(
            select(t.items.c.item_id, t.items.c.state, t.items.c.assigned_node, t.items.c.status_sequence)
        ).all()
    return {"counts": counts, "items": sorted(tuple(i) for i in items)}


def refer(fed: Federation, url: str = "https://de.host.example/insider") -> tuple[str, str]:
    """An honest referral from nl to de, delivered: (nl's item id, de's item id)."""
    nl = node(fed, NL)
    origin_id = nl.cases.submit_report(INTAKE, NewReport((NewUrl(url),))).items[0].item_id
    nl.cases.assess(ANALYST, origin_id, NATIONAL)
    fed.deliver_all()
    with node(fed, DE).store.transaction(read_only=True) as tx:
        item = tx.find_item_by_origin(NL, origin_id)
    assert item is not None
    return origin_id, item.item_id


def work(fed: Federation, de_id: str, *actions: NewAction) -> None:
    """de assesses its item NATIONAL and records `actions`; their status updates are delivered."""
    de = node(fed, DE)
    de.cases.assess(ANALYST, de_id, NATIONAL)
    for action in actions:
        de.cases.record_action(ANALYST, de_id, action)
    fed.deliver_all()


def referral(fed: Federation, origin_node: str, origin_item_id: str, referred_by: str = "") -> Referral:
    return Referral(
        origin_node=origin_node,
        origin_item_id=origin_item_id,
        url="https://de.host.example/claimed",
        hashes=(),
        assessment=NATIONAL,
        hosting=None,
        first_reported_at=fed.clock.now(),
        referred_by=referred_by,
    )


def status(fed: Federation, origin_id: str, sequence: int, action: ActionType | None, **more: str) -> StatusUpdate:
    return StatusUpdate(origin_id, sequence, DE, fed.clock.now(), ItemState.NTD_SENT, action, None, **more)


# ------------------------------------------------------------------------------------------- referrals


@pytest.mark.parametrize("referred_by", ["", FR], ids=["as-origin", "as-referrer"])
def test_a_referral_naming_another_member_as_origin_is_refused(fed: Federation, referred_by: str) -> None:
    before = state(fed, DE)
    seen = send(fed, FR, DE, referral(fed, NL, str(uuid7()), referred_by=referred_by))  # an item nl never had
    refused(seen, "ORIGIN_NOT_SENDER", FR)
    assert state(fed, DE) == before


def test_a_re_referral_of_an_item_closed_as_removed_does_not_re_open_it(fed: Federation) -> None:
    origin_id, de_id = refer(fed)
    de = node(fed, DE)
    work(fed, de_id, NewAction(ActionType.CONTENT_REMOVED))
    before = state(fed, DE)
    refused(send(fed, NL, DE, referral(fed, NL, origin_id)), "ITEM_CLOSED", NL)  # the origin itself
    refused(send(fed, FR, DE, referral(fed, NL, origin_id, referred_by=FR)), "ORIGIN_NOT_SENDER", FR)
    assert state(fed, DE) == before
    assert de.cases.get_item(de_id).state is ItemState.CLOSED_REMOVED


def test_a_re_referral_of_an_item_the_origin_withdrew_does_not_re_open_it(fed: Federation) -> None:
    origin_id, de_id = refer(fed)
    node(fed, NL).cases.withdraw_referral(ANALYST, origin_id, "reported in error")
    fed.deliver_all()
    before = state(fed, DE)
    refused(send(fed, NL, DE, referral(fed, NL, origin_id)), "ITEM_CLOSED", NL)
    assert state(fed, DE) == before
    assert node(fed, DE).cases.get_item(de_id).state is ItemState.WITHDRAWN


def test_the_same_referral_again_under_a_new_message_id_changes_nothing(fed: Federation) -> None:
    origin_id, _ = refer(fed)
    before = state(fed, DE)
    accepted(send(fed, NL, DE, referral(fed, NL, origin_id)))
    assert state(fed, DE) == before


# ------------------------------------------------------------------------------------------- status updates


def test_status_for_an_item_not_assigned_to_the_sender_is_refused_and_nothing_is_buffered(fed: Federation) -> None:
    origin_id, _ = refer(fed)
    before = state(fed, NL)
    for sequence in (1, 2, 50, 100):  # the next one, and ones ahead of the real ones
        seen = send(fed, FR, NL, status(fed, origin_id, sequence, ActionType.CONTENT_REMOVED))
        refused(seen, "NOT_ASSIGNEE", FR)
    assert state(fed, NL) == before
    assert node(fed, NL).cases.get_item(origin_id).state is ItemState.REFERRED


def test_status_for_no_item_the_receiver_referred_is_refused(fed: Federation) -> None:
    refused(send(fed, DE, NL, status(fed, str(uuid7()), 1, None)), "UNKNOWN_ITEM", DE)


def test_sequence_numbers_apply_in_order_duplicates_change_nothing_and_beyond_the_window_is_refused(
    fed: Federation,
) -> None:
    origin_id, _ = refer(fed)
    nl = node(fed, NL)
    # Out of order: 3 and 2 wait for 1, then all three apply in sequence.
    accepted(send(fed, DE, NL, status(fed, origin_id, 3, ActionType.HP_NOTIFIED)))
    accepted(send(fed, DE, NL, status(fed, origin_id, 2, ActionType.LEA_NOTIFIED)))
    item = nl.cases.get_item(origin_id)
    assert (item.status_sequence, item.actions) == (0, [])
    accepted(send(fed, DE, NL, status(fed, origin_id, 1, None)))
    item = nl.cases.get_item(origin_id)
    assert item.status_sequence == 3
    assert [a.type for a in item.actions] == [ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED]
    # Repeated, under new message ids: idempotent.
    before = state(fed, NL)
    accepted(send(fed, DE, NL, status(fed, origin_id, 2, ActionType.LEA_NOTIFIED)))
    accepted(send(fed, DE, NL, status(fed, origin_id, 3, ActionType.CONTENT_REMOVED)))
    assert state(fed, NL) == before
    # A gap within the window waits; beyond it, refused.
    refused(
        send(fed, DE, NL, status(fed, origin_id, 3 + STATUS_WINDOW + 1, ActionType.CONTENT_REMOVED)),
        "SEQUENCE_BEYOND_WINDOW",
        DE,
    )
    assert state(fed, NL) == before
    accepted(send(fed, DE, NL, status(fed, origin_id, 3 + STATUS_WINDOW, ActionType.CONTENT_REMOVED)))
    assert nl.cases.get_item(origin_id).state is ItemState.REFERRED  # still waiting for #4


def test_nothing_follows_the_update_that_closed_the_item_at_the_origin(fed: Federation) -> None:
    origin_id, de_id = refer(fed)
    work(fed, de_id, NewAction(ActionType.CONTENT_REMOVED))  # assessed #1, removed #2
    nl = node(fed, NL)
    assert nl.cases.get_item(origin_id).state is ItemState.CLOSED_REMOVED
    before = state(fed, NL)
    seen = send(fed, DE, NL, status(fed, origin_id, 3, ActionType.MOVED, moved_to_country="FR", reassigned_to=FR))
    refused(seen, "ITEM_CLOSED", DE)
    accepted(send(fed, DE, NL, status(fed, origin_id, 2, ActionType.CONTENT_REMOVED)))  # a duplicate
    assert state(fed, NL) == before


# ------------------------------------------------------------------------------------------- MOVED


@pytest.mark.parametrize(
    ("country", "to", "code"),
    [
        ("DE", DE, "MOVE_TO_SELF"),
        ("FR", "xx-hotline", "MOVE_NOT_SERVING"),  # a node id in no roster
        ("BR", FR, "MOVE_NOT_SERVING"),  # a member, but not serving the country (and no fallback)
        ("FR", "", "MOVE_NOT_SERVING"),
    ],
    ids=["to-itself", "to-no-member", "to-a-member-not-serving", "to-nobody"],
)
def test_a_move_that_names_no_rightful_new_assignee_is_refused(
    fed: Federation, country: str, to: str, code: str
) -> None:
    origin_id, _ = refer(fed)
    before = state(fed, NL)
    seen = send(fed, DE, NL, status(fed, origin_id, 1, ActionType.MOVED, moved_to_country=country, reassigned_to=to))
    refused(seen, code, DE)
    assert state(fed, NL) == before
    assert node(fed, NL).cases.get_item(origin_id).assigned_node == DE


def test_two_members_cannot_ping_pong_an_item(fed: Federation) -> None:
    origin_id, de_id = refer(fed)
    nl, fr = node(fed, NL), node(fed, FR)
    # Assessed (#1) and MOVED (#2): nl checks the move and refers the item to fr.
    work(fed, de_id, NewAction(ActionType.MOVED, moved_to_country="FR"))
    item = nl.cases.get_item(origin_id)
    assert (item.assigned_node, item.status_sequence) == (FR, 2)
    with fr.store.transaction(read_only=True) as tx:
        fr_item = tx.find_item_by_origin(NL, origin_id)
    assert fr_item is not None and fr_item.referred_by == NL
    before = state(fed, NL)
    seen = send(fed, FR, NL, status(fed, origin_id, 3, ActionType.MOVED, moved_to_country="DE", reassigned_to=DE))
    refused(seen, "MOVE_LOOP", FR)
    assert state(fed, NL) == before


def test_an_honest_move_within_the_assignees_own_country_names_no_new_assignee(fed: Federation) -> None:
    origin_id, de_id = refer(fed)
    de = node(fed, DE)
    work(fed, de_id, NewAction(ActionType.LEA_NOTIFIED), NewAction(ActionType.MOVED, moved_to_country="DE"))
    with de.engine.connect() as c:
        assert set(c.execute(select(t.outbox.c.status)).scalars()) == {OutboxStatus.ACKED}
    item = node(fed, NL).cases.get_item(origin_id)
    assert (item.assigned_node, item.status_sequence) == (DE, 3)


# ------------------------------------------------------------------------------------------- withdrawals


def test_a_withdrawal_from_a_member_that_is_not_the_origin_is_refused(fed: Federation) -> None:
    origin_id, de_id = refer(fed)
    before = state(fed, DE)
    refused(send(fed, FR, DE, Withdrawal(FR, origin_id, "not mine to withdraw")), "NOT_ORIGIN", FR)
    assert state(fed, DE) == before
    assert node(fed, DE).cases.get_item(de_id).state is ItemState.AWAITING_ASSESSMENT


def test_a_withdrawal_of_an_item_not_yet_referred_is_held_not_applied(fed: Federation) -> None:
    """ITEM_NOT_YET_KNOWN is about the moment: the origin's withdrawal is accepted and held until its referral
    arrives (node.exchange.holding), and changes none of the receiver's cases meanwhile."""
    before = state(fed, DE)
    accepted(send(fed, NL, DE, Withdrawal(NL, str(uuid7()), "too early")))
    assert state(fed, DE) == before
    with node(fed, DE).engine.connect() as c:
        assert c.execute(select(func.count()).select_from(t.held_messages)).scalar_one() == 1


# ------------------------------------------------------------------------------------------- attribution


def test_a_garbage_envelope_claiming_another_sender_is_recorded_as_from_the_tls_peer(fed: Federation) -> None:
    from node.api._gen.hotline.exchange.v1 import envelope_pb2

    garbage = envelope_pb2.SealedEnvelope(sender=FR, recipient=DE, message_id=str(uuid7()), ciphertext=b"\x00" * 64)
    receiver = fed.members[DE].receiver
    assert receiver is not None
    before = state(fed, DE)
    (result,) = receiver.deliver([garbage.SerializeToString()], peer=NL)  # over nl's TLS connection
    assert result.status == "rejected"
    event = last_event(fed, DE)
    assert event.startswith(f"exchange.rejected {result.reason_code} from {NL} (claimed {FR}) ")
    assert state(fed, DE) == before


# ------------------------------------------------------------------------------------------------ bounds

LATER = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frm", "make", "field"),
    [
        (NL, lambda fed, o: Withdrawal(NL, o, "x" * 5_000), "withdrawal.reason"),
        (NL, lambda fed, o: Withdrawal(NL, o, "stop\x00\u202e"), "withdrawal.reason"),
        (
            NL,
            lambda fed, o: dataclasses.replace(
                referral(fed, NL, str(uuid7())), url="https://de.host.example/p?d=" + "QUJD" * 2_300
            ),
            "referral.url",
        ),
        (NL, lambda fed, o: referral(fed, NL, "\u202e" + "7" * 5_000), "referral.origin_item_id"),
        (DE, lambda fed, o: status(fed, o, 2**64 - 1, ActionType.HP_NOTIFIED), "status_update.sequence"),
        (
            DE,
            lambda fed, o: dataclasses.replace(status(fed, o, 1, ActionType.HP_NOTIFIED), occurred_at=LATER),
            "status_update.occurred_at",
        ),
    ],
    ids=["long-reason", "control-characters", "9-kb-url", "long-item-id", "sequence-2^64-1", "in-the-year-2100"],
)
def test_a_value_out_of_bounds_is_refused_naming_its_field(
    fed: Federation, frm: str, make: Callable[[Federation, str], ExchangeMessage], field: str
) -> None:
    origin_id, _ = refer(fed)
    to = DE if frm == NL else NL
    before = state(fed, to)
    seen = send(fed, frm, to, make(fed, origin_id))
    refused(seen, "INVALIDARGUMENT", frm)
    assert seen.last_error.startswith(f"INVALIDARGUMENT: {field}: ")
    assert state(fed, to) == before


def test_a_message_id_that_is_no_uuid7_is_refused_and_never_echoed(fed: Federation) -> None:
    origin_id, _ = refer(fed)
    before = state(fed, DE)
    bad_id = str(uuid.uuid4())
    seen = send(fed, NL, DE, Withdrawal(NL, origin_id, "a mistake"), message_id=bad_id)
    assert seen.status == OutboxStatus.REJECTED and seen.last_error.startswith("MALFORMED: the message id")
    assert seen.sender_event.startswith("delivery.rejected") and seen.sender_event.endswith("MALFORMED")
    assert seen.inbox_code == ""  # a message that did not open is no inbox entry: it cannot block the real one
    assert seen.receiver_event == f"exchange.rejected MALFORMED from {NL} message ?"
    assert state(fed, DE) == before
