"""SqlStore on both backends: what goes in comes out, constraints hold, and a transaction is all or nothing."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import StatementError

from node.cases.model import (
    Action,
    ActionType,
    AgeGroup,
    Assessment,
    Classification,
    Commerciality,
    ContentType,
    Event,
    Gender,
    HashProvenance,
    Hold,
    HostingRecord,
    Item,
    ItemState,
    OutboxMessage,
    PaymentMethod,
    Report,
    ReportedItem,
    Reporter,
    Route,
    SiteType,
)
from node.cases.ports import IdempotencyRecord, ItemQuery
from node.errors import Aborted
from node.exchange.ports import OutboxMark, OutboxStatus
from node.hashes import ContentHash, HashAlgorithm
from node.hosting import HostingFacts
from node.store import schema as t
from node.store.sql_store import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
# Ordered as the store returns them: by algorithm name, then digest; each with who asserted it.
FULL_HASHES = (
    (ContentHash(HashAlgorithm.MD5, bytes(range(16))), HashProvenance.CLAIMED),
    (ContentHash(HashAlgorithm.PDQ, bytes(range(100, 132))), HashProvenance.ANALYST),
    (ContentHash(HashAlgorithm.SHA256, bytes(range(32))), HashProvenance.HASHER),
)
CET = timezone(timedelta(hours=1))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def count(engine: Engine, table: t.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def new_id() -> str:
    return str(uuid.uuid4())


def plain_item(url: str = "https://nl.host.example/plain", state: ItemState = ItemState.AWAITING_ASSESSMENT) -> Item:
    return Item(
        item_id=new_id(),
        url=url,
        host="nl.host.example",
        state=state,
        assigned_node="nl-hotline",
        first_reported_at=T0,
        created_at=T0,
        closed_at=at(1) if state in (ItemState.CLOSED_REMOVED, ItemState.CLOSED_NOT_ILLEGAL) else None,
    )


def full_item() -> Item:
    """An item with every field set to something other than its default."""
    item_id = new_id()
    assessment = Assessment(
        classification=Classification.NATIONAL,
        age_group=AgeGroup.PUBESCENT,
        gender=Gender.BOTH,
        content_type=ContentType.VIDEO,
        site_type=SiteType.FILE_HOST,
        commerciality=Commerciality.COMMERCIAL,
        payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.CRYPTOCURRENCY}),
        virtual=True,
        child_modelling=True,
        user_generated=True,
        note="second look by the senior analyst",
        jurisdiction="NL",
        assessed_by="analyst-1",
        assessed_at=at(0.5),
        automatic=False,
    )
    hosting = HostingRecord(
        HostingFacts("2001:db8::17", "NL", 4_200_000_000, "Example Hosting NL", True, "override"),
        at(0.25),
        overridden=True,
        override_reason="the CDN's origin was found by hand",
        actor="analyst-1",
    )
    hold = Hold(new_id(), item_id, at(1), at(13), "LEA-REF-77", "police-1")
    actions = [
        Action(new_id(), item_id, ActionType.LEA_NOTIFIED, at(0.75), "analyst-1", "phoned the duty desk"),
        Action(new_id(), item_id, ActionType.HP_NOTIFIED, at(14), "analyst-1", "", ""),
    ]
    return Item(
        item_id=item_id,
        url="https://nl.host.example/store/full?x=1&y=%20",
        host="nl.host.example",
        state=ItemState.NTD_SENT,
        assigned_node="nl-hotline",
        first_reported_at=T0,
        created_at=at(0.01),
        report_count=3,
        known_content=True,
        route=Route.DOMESTIC,
        referred_to="",
        assessment=assessment,
        hosting=hosting,
        hashes=[content_hash for content_hash, _ in FULL_HASHES],
        hash_provenance=dict(FULL_HASHES),
        lea_notified_at=at(0.75),
        ntd_sent_at=at(14),
        deadline_at=at(86),
        escalated_at=at(87),
        closed_at=None,
        active_hold=hold,
        actions=actions,
        origin_node="be-hotline",
        origin_item_id=new_id(),
        status_sequence=4,
        referred_by="de-hotline",
        version=0,
    )


def insert_full(store: SqlStore, item: Item) -> None:
    with store.transaction() as tx:
        tx.insert_item(item)
        for content_hash, provenance in item.hash_provenance.items():
            tx.add_item_hashes(item.item_id, [content_hash], provenance)
        assert item.assessment is not None and item.hosting is not None and item.active_hold is not None
        tx.insert_assessment(item.item_id, item.assessment)
        tx.insert_hosting(item.item_id, item.hosting)
        tx.insert_hold(item.active_hold)
        for action in reversed(item.actions):  # stored out of order; read back by time
            tx.insert_action(action)


def test_an_item_round_trips_with_every_field(store: SqlStore) -> None:
    item = full_item()
    insert_full(store, item)
    with store.transaction(read_only=True) as tx:
        got = tx.get_item(item.item_id)
    assert got == item
    assert got.is_open and got.hosting_country == "NL" and got.classification is Classification.NATIONAL


def test_a_referred_item_round_trips_its_route(store: SqlStore) -> None:
    item = plain_item("https://de.host.example/referred")
    item.state, item.route, item.assigned_node, item.referred_to = (
        ItemState.REFERRED,
        Route.FALLBACK_REFERRAL,
        "de-hotline",
        "de-hotline",
    )
    with store.transaction() as tx:
        tx.insert_item(item)
    with store.transaction(read_only=True) as tx:
        got = tx.get_item(item.item_id)
        assert tx.get_item("no-such-item") is None
    assert got == item
    assert got.assessment is None and got.hosting is None and got.active_hold is None and got.hashes == []


def test_the_latest_assessment_and_hosting_win_and_a_released_hold_is_not_active(store: SqlStore) -> None:
    item = full_item()
    insert_full(store, item)
    assert item.active_hold is not None
    with store.transaction() as tx:
        tx.insert_assessment(item.item_id, Assessment(Classification.BASELINE, assessed_at=at(2), assessed_by="a-2"))
        tx.insert_hosting(item.item_id, HostingRecord(HostingFacts(None, "DE", None, None, False, "moved"), at(2)))
        tx.release_hold(item.active_hold.hold_id, at(3))
    with store.transaction(read_only=True) as tx:
        got = tx.get_item(item.item_id)
    assert got is not None and got.assessment is not None and got.hosting is not None
    assert (got.assessment.classification, got.assessment.assessed_by) == (Classification.BASELINE, "a-2")
    assert got.hosting.facts == HostingFacts(None, "DE", None, None, False, "moved")
    assert got.active_hold is None


def test_update_item_is_optimistic_a_stale_version_is_refused(store: SqlStore) -> None:
    item = plain_item()
    with store.transaction() as tx:
        tx.insert_item(item)
    with store.transaction() as tx:
        first = tx.get_item(item.item_id)
        assert first is not None
        first.state = ItemState.AWAITING_LEA
        tx.update_item(first)
        assert first.version == 1
    stale = item  # still at version 0
    stale.state = ItemState.CLOSED_NOT_ILLEGAL
    with pytest.raises(Aborted), store.transaction() as tx:
        tx.update_item(stale)
    with store.transaction(read_only=True) as tx:
        got = tx.get_item(item.item_id)
    assert got is not None and (got.state, got.version) == (ItemState.AWAITING_LEA, 1)


def test_a_report_round_trips_with_its_items_in_position_order(store: SqlStore) -> None:
    a, b = (
        plain_item("https://nl.host.example/r/a"),
        plain_item("https://nl.host.example/r/b", ItemState.CLOSED_REMOVED),
    )
    b.known_content = True
    reporter = Reporter(anonymous=False, name="A. Reporter", email="reporter@mail.example", reference="case-9")
    report = Report(new_id(), at(-2), (), "https://referrer.example/page?id=1", reporter)
    with store.transaction() as tx:
        tx.insert_item(a)
        tx.insert_item(b)
        tx.insert_intake_bulk([(report, "report-form", T0)], [], [])
        tx.link_report_item(report.report_id, b.item_id, 1, False)
        tx.link_report_item(report.report_id, a.item_id, 0, True)
    with store.transaction(read_only=True) as tx:
        got = tx.get_report(report.report_id)
        assert tx.get_report("no-such-report") is None
    assert got == Report(
        report.report_id,
        at(-2),
        (
            ReportedItem(a.item_id, a.url, True, False, ItemState.AWAITING_ASSESSMENT),
            ReportedItem(b.item_id, b.url, False, True, ItemState.CLOSED_REMOVED),
        ),
        "https://referrer.example/page?id=1",
        reporter,
        submitted_by="report-form",  # the submitting token's name, as the intake batch names it
    )
    with store.engine.connect() as connection:
        submitted_by = connection.execute(select(t.reports.c.submitted_by)).scalar_one()
    assert submitted_by == "report-form"


def test_bulk_intake_writes_reports_items_hosting_and_links(store: SqlStore) -> None:
    items = [plain_item(f"https://nl.host.example/bulk/{n}") for n in range(3)]
    for item in items:
        item.hosting = HostingRecord(HostingFacts("192.0.2.10", "NL", 64500, "Example", False, "static"), T0)
    items[0].hashes = [ContentHash(HashAlgorithm.SHA1, bytes(20))]
    items[0].hash_provenance = {items[0].hashes[0]: HashProvenance.HASHER}
    report = Report(new_id(), T0, ())
    links = [(report.report_id, item.item_id, n, True) for n, item in enumerate(items)]
    with store.transaction() as tx:
        tx.insert_intake_bulk([(report, "report-form", T0)], items, links)
    with store.transaction(read_only=True) as tx:
        got = tx.get_report(report.report_id)
        stored = [tx.get_item(item.item_id) for item in items]
        assert tx.open_item_urls([items[0].url, "https://nl.host.example/elsewhere"]) == {items[0].url}
    assert got is not None and [r.item_id for r in got.items] == [i.item_id for i in items]
    assert stored == items


def test_events_keep_their_order_and_resume_after_a_sequence_number(store: SqlStore) -> None:
    item_a, item_b = new_id(), new_id()
    kinds = [("item.created", item_a), ("item.created", item_b), ("item.assessed", item_a)]
    with store.transaction() as tx:
        for kind, item_id in kinds:
            tx.append_event(Event(new_id(), kind, T0, item_id, "", ItemState.AWAITING_ASSESSMENT, "d"))
        assert tx.list_events(after_seq=0, limit=10) == []  # buffered until the commit
    with store.transaction() as tx:
        tx.append_event(Event(new_id(), "report.received", at(1), "", "r-1", None, "x" * 600))
    with store.transaction(read_only=True) as tx:
        events = tx.list_events(after_seq=0, limit=100)
        seqs = [e.seq for e in events]
        assert [(e.kind, e.item_id) for e in events] == [*kinds, ("report.received", "")]
        assert all(b > a for a, b in itertools.pairwise(seqs))
        assert tx.list_events(after_seq=seqs[1], limit=100) == events[2:]
        assert tx.list_events(after_seq=seqs[0], limit=2) == events[1:3]
        assert tx.list_events(after_seq=seqs[-1], limit=100) == []
        assert [e.kind for e in tx.list_events(after_seq=0, limit=100, item_id=item_a)] == [
            "item.created",
            "item.assessed",
        ]
    last = events[-1]
    assert last.state is None and last.report_id == "r-1" and last.detail == "x" * 500
    assert events[0].state is ItemState.AWAITING_ASSESSMENT and events[0].occurred_at == T0


def test_events_of_a_rolled_back_transaction_are_not_written(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append_event(Event(new_id(), "item.created", T0, new_id()))
        tx.append_audit(at=T0, actor="a", action="Test", subject="s", detail="")
        raise RuntimeError("boom")
    assert count(store.engine, t.events) == 0 and count(store.engine, t.audit_log) == 0


def test_idempotency_records_round_trip_and_a_key_is_taken_once(store: SqlStore) -> None:
    record = IdempotencyRecord("SubmitReport", "f" * 64, "report-1")
    with store.transaction() as tx:
        tx.put_idempotency("report-form", "req-1", record, T0)
    with store.transaction(read_only=True) as tx:
        assert tx.get_idempotency("report-form", "req-1") == record
        assert tx.get_idempotency("other-caller", "req-1") is None
        assert tx.get_idempotency("report-form", "req-2") is None
    with pytest.raises(Aborted), store.transaction() as tx:
        tx.put_idempotency("report-form", "req-1", IdempotencyRecord("AssessItem", "0" * 64, "x"), T0)
    with store.transaction(read_only=True) as tx:
        assert tx.get_idempotency("report-form", "req-1") == record


def test_known_hashes_are_kept_per_source(store: SqlStore) -> None:
    sha = ContentHash(HashAlgorithm.SHA256, bytes(range(32)))
    pdq = ContentHash(HashAlgorithm.PDQ, bytes(range(32)))  # same digest bytes, another algorithm
    assessment = Assessment(Classification.BASELINE, content_type=ContentType.IMAGE, assessed_at=T0, assessed_by="a")
    analyst, listed = HashProvenance.ANALYST, HashProvenance.LIST
    with store.transaction() as tx:
        item = plain_item()
        tx.insert_item(item)
        assessment_id = tx.insert_assessment(item.item_id, assessment)
        first = tx.insert_known_hash(sha, Classification.BASELINE, "learned", assessment_id, T0, provenance=analyst)
        second = tx.insert_known_hash(
            sha, Classification.NOT_ILLEGAL, "another list", None, at(1), provenance=listed, version="v7"
        )
        other = tx.insert_known_hash(pdq, Classification.NATIONAL, "shared list", None, T0, provenance=listed)
        assert len({first, second, other}) == 3
    with pytest.raises(Aborted), store.transaction() as tx:  # one entry per (hash, source)
        tx.insert_known_hash(sha, Classification.NATIONAL, "another list", None, at(2), provenance=listed)
    with store.transaction(read_only=True) as tx:
        learned, from_list = tx.find_known_hashes(sha)
        assert tx.get_known_hash(first) == learned
        assert tx.find_known_hashes(ContentHash(HashAlgorithm.SHA256, bytes(32))) == []
        assert tx.get_known_hash(10_000) is None
    assert (learned.known_hash_id, learned.hash, learned.classification, learned.source) == (
        first,
        sha,
        Classification.BASELINE,
        "learned",
    )
    assert learned.assessment == assessment and learned.learned_from_item == item.item_id
    assert (learned.provenance, from_list.provenance, from_list.version) == (analyst, listed, "v7")
    assert list(store.iter_pdq_hashes()) == [(other, pdq.digest)]
    with store.transaction() as tx:
        tx.reclassify_known_hash(second, Classification.BASELINE, None, version="v8")
        tx.delete_known_hash(first)
    with store.transaction(read_only=True) as tx:
        (only,) = tx.find_known_hashes(sha)
        assert (only.known_hash_id, only.classification, only.version) == (second, Classification.BASELINE, "v8")


def test_at_most_one_open_item_per_url(store: SqlStore) -> None:
    url = "https://nl.host.example/unique"
    with store.transaction() as tx:
        tx.insert_item(plain_item(url))
    with pytest.raises(Aborted), store.transaction() as tx:
        tx.insert_item(plain_item(url))
    assert count(store.engine, t.items) == 1


def test_a_closed_item_and_an_open_one_may_share_a_url(store: SqlStore) -> None:
    url = "https://nl.host.example/again"
    closed = plain_item(url, ItemState.CLOSED_REMOVED)
    with store.transaction() as tx:
        tx.insert_item(closed)
        tx.insert_item(plain_item(url, ItemState.CLOSED_NOT_ILLEGAL))
        opened = plain_item(url)
        tx.insert_item(opened)
    with store.transaction(read_only=True) as tx:
        found = tx.find_open_item_by_url(url)
    assert found is not None and found.item_id == opened.item_id
    # Closing the open one and opening a fourth is fine too; reopening a closed one next to it is not.
    with store.transaction() as tx:
        found.state, found.closed_at = ItemState.CLOSED_REMOVED, at(2)
        tx.update_item(found)
        tx.insert_item(plain_item(url))
    with pytest.raises(Aborted), store.transaction() as tx:
        again = tx.get_item(closed.item_id)
        assert again is not None
        again.state, again.closed_at = ItemState.AWAITING_LEA, None
        tx.update_item(again)
    assert count(store.engine, t.items) == 4


def test_an_item_referred_here_is_a_separate_case_from_an_own_open_item(store: SqlStore) -> None:
    url = "https://nl.host.example/both"
    referred_in = plain_item(url)
    referred_in.origin_node, referred_in.origin_item_id, referred_in.referred_by = "de-hotline", new_id(), "de-hotline"
    with store.transaction() as tx:
        tx.insert_item(referred_in)
        own = plain_item(url)
        tx.insert_item(own)
    with store.transaction(read_only=True) as tx:
        found = tx.find_open_item_by_url(url)
        by_origin = tx.find_item_by_origin("de-hotline", referred_in.origin_item_id)
    assert found is not None and found.item_id == own.item_id
    assert by_origin is not None and by_origin.item_id == referred_in.item_id


def test_an_item_id_is_found_under_another_origin_but_not_under_its_own_nor_as_an_own_item(store: SqlStore) -> None:
    referred_in, own = plain_item("https://nl.host.example/a"), plain_item("https://nl.host.example/b")
    referred_in.origin_node, referred_in.origin_item_id = "de-hotline", new_id()
    with store.transaction() as tx:
        tx.insert_item(referred_in)
        tx.insert_item(own)
    with store.transaction(read_only=True) as tx:
        assert tx.item_id_held_for_another_origin(referred_in.origin_item_id, "fr-hotline")
        assert not tx.item_id_held_for_another_origin(referred_in.origin_item_id, "de-hotline")
        assert not tx.item_id_held_for_another_origin(new_id(), "fr-hotline")
        assert not tx.item_id_held_for_another_origin("", "fr-hotline")  # own items carry no origin item id


def _outbox(item_id: str) -> OutboxMessage:
    return OutboxMessage(new_id(), "de-hotline", "referral", item_id, '{"url":"https://de.host.example/o"}', at(1))


def test_an_outbox_row_commits_with_the_state_change(store: SqlStore) -> None:
    item = plain_item("https://de.host.example/o")
    with store.transaction() as tx:
        tx.insert_item(item)
    with store.transaction() as tx:
        loaded = tx.get_item(item.item_id, for_update=True)
        assert loaded is not None
        loaded.state, loaded.assigned_node = ItemState.REFERRED, "de-hotline"
        tx.update_item(loaded)
        message = _outbox(item.item_id)
        tx.enqueue_outbox(message)
    with store.transaction(read_only=True) as tx:
        assert [m for _, m in tx.pending_outbox_after("de-hotline", 0, 100)] == [message]
        assert tx.pending_outbox_after("fr-hotline-a", 0, 100) == []
        assert tx.peers_with_pending() == ["de-hotline"]
        got = tx.get_item(item.item_id)
        assert got is not None and got.state is ItemState.REFERRED
    with store.transaction() as tx:
        tx.mark_outbox_many([OutboxMark(message.message_id, OutboxStatus.ACKED)], at(2))
    with store.transaction(read_only=True) as tx:
        assert tx.pending_outbox_after("de-hotline", 0, 100) == []
        assert tx.peers_with_pending() == []


def test_a_transaction_that_fails_after_enqueue_leaves_neither_the_change_nor_the_message(
    store: SqlStore,
) -> None:
    item = plain_item("https://de.host.example/rollback")
    with store.transaction() as tx:
        tx.insert_item(item)
    with pytest.raises(RuntimeError, match="crash"), store.transaction() as tx:
        loaded = tx.get_item(item.item_id, for_update=True)
        assert loaded is not None
        loaded.state, loaded.assigned_node = ItemState.REFERRED, "de-hotline"
        tx.update_item(loaded)
        tx.enqueue_outbox(_outbox(item.item_id))
        tx.append_event(Event(new_id(), "item.routed", at(1), item.item_id, "", ItemState.REFERRED))
        raise RuntimeError("crash after enqueue")
    with store.transaction(read_only=True) as tx:
        got = tx.get_item(item.item_id)
        assert tx.peers_with_pending() == []
    assert got is not None and (got.state, got.assigned_node, got.version) == (
        ItemState.AWAITING_ASSESSMENT,
        "nl-hotline",
        0,
    )
    assert count(store.engine, t.outbox) == 0 and count(store.engine, t.events) == 0


def test_datetimes_come_back_utc_aware_and_equal(store: SqlStore) -> None:
    item = plain_item()
    item.first_reported_at = datetime(2026, 3, 2, 10, 30, 15, 654321, tzinfo=CET)  # 09:30:15 UTC
    item.deadline_at = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    with store.transaction() as tx:
        tx.insert_item(item)
    with store.transaction(read_only=True) as tx:
        got = tx.get_item(item.item_id)
    assert got is not None
    for name in ("first_reported_at", "created_at", "deadline_at"):
        value = getattr(got, name)
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0), name
        assert value == getattr(item, name), name
    assert got.first_reported_at.hour == 9 and got.first_reported_at.microsecond == 654321


def test_a_naive_datetime_is_refused(store: SqlStore) -> None:
    item = plain_item()
    item.created_at = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(StatementError, match="naive"), store.transaction() as tx:
        tx.insert_item(item)
    assert count(store.engine, t.items) == 0


def test_items_past_deadline_selects_unescalated_ntd_items_due_by_now(store: SqlStore) -> None:
    due, later, escalated, other_state = (plain_item(f"https://nl.host.example/d/{n}") for n in range(4))
    for item, deadline in ((due, at(72)), (later, at(73)), (escalated, at(10)), (other_state, at(10))):
        item.state, item.ntd_sent_at, item.deadline_at = ItemState.NTD_SENT, T0, deadline
    escalated.escalated_at = at(11)
    other_state.state = ItemState.LEA_NOTIFIED
    with store.transaction() as tx:
        for item in (due, later, escalated, other_state):
            tx.insert_item(item)
    with store.transaction(read_only=True) as tx:
        assert tx.items_past_deadline(at(72), 10) == [due.item_id]  # the deadline itself counts as passed
        assert tx.items_past_deadline(at(73), 10) == [due.item_id, later.item_id]
        assert tx.items_past_deadline(at(71), 10) == []


def test_list_items_filters_and_pages(store: SqlStore) -> None:
    items = [plain_item(f"https://nl.host.example/l/{n}") for n in range(5)]
    for n, item in enumerate(items):
        country = "NL" if n % 2 == 0 else "DE"
        item.hosting = HostingRecord(HostingFacts(None, country, None, None, False, "static"), T0)
    items[4].state = ItemState.AWAITING_LEA
    with store.transaction() as tx:
        for item in items:
            tx.insert_item(item)
            tx.insert_hosting(item.item_id, item.hosting)  # type: ignore[arg-type]
    ordered = sorted(i.item_id for i in items)
    with store.transaction(read_only=True) as tx:
        page1 = tx.list_items(ItemQuery(after_item_id="", limit=3))
        page2 = tx.list_items(ItemQuery(after_item_id=page1[-1].item_id, limit=3))
        nl = tx.list_items(ItemQuery(after_item_id="", limit=10, hosting_country="NL"))
        waiting = tx.list_items(ItemQuery(after_item_id="", limit=10, state=ItemState.AWAITING_LEA))
    assert [i.item_id for i in page1 + page2] == ordered
    assert {i.item_id for i in nl} == {items[0].item_id, items[2].item_id, items[4].item_id}
    assert [i.item_id for i in waiting] == [items[4].item_id]
