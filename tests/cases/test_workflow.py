"""The case workflow on the domain service, on both backends: routing, holds, MOVED, known content, and
that a refused call writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from node.app import Node
from node.cases.model import ActionType, Assessment, Classification, ItemState, Route
from node.cases.requests import HostingOverride, NewAction, NewReport, NewUrl, RawHash
from node.clock import ManualClock
from node.errors import DomainError, FailedPrecondition
from node.hashes import ContentHash, HashAlgorithm
from node.hosting import HostingFacts
from node.store import schema as t
from tests.conftest import ANALYST, HASHER, INTAKE, LEA

NATIONAL = Assessment(Classification.NATIONAL)


def submit(node: Node, *urls: str, hashes: tuple[RawHash, ...] = ()) -> list[str]:
    """Reported by the hotline's own hashing tool, whose hashes the node trusts."""
    report = node.cases.submit_report(HASHER, NewReport(tuple(NewUrl(u, hashes) for u in urls)))
    return [i.item_id for i in report.items]


def rows(node: Node, table: t.Table) -> int:
    with node.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_routing_by_hosting_country(node: Node) -> None:
    nl, de, fr, br = submit(node, *(f"https://{c}.host.example/x" for c in ("nl", "de", "fr", "br")))
    routed = {i: node.cases.assess(ANALYST, i, NATIONAL) for i in (nl, de, fr, br)}
    assert (routed[nl].route, routed[nl].state) == (Route.DOMESTIC, ItemState.AWAITING_LEA)
    assert (routed[de].route, routed[de].assigned_node) == (Route.REFERRAL, "de-hotline")
    assert routed[fr].assigned_node == "fr-hotline-a"  # the designated receiver of a two-hotline country
    assert (routed[br].route, routed[br].assigned_node) == (Route.FALLBACK_DIRECT, "nl-hotline")
    with node.engine.connect() as connection:
        outbox = connection.execute(select(t.outbox).order_by(t.outbox.c.outbox_id)).all()
    assert [(o.peer_node, o.kind) for o in outbox] == [("de-hotline", "referral"), ("fr-hotline-a", "referral")]
    body = json.loads(outbox[0].body)
    assert body["url"] == "https://de.host.example/x" and body["assessment"]["classification"] == "NATIONAL"
    assert set(body) == {
        "origin_node",
        "origin_item_id",
        "referred_by",
        "next_status_sequence",
        "url",
        "first_reported_at",
        "hashes",
        "assessment",
        "hosting",
    }


def test_unknown_hosting_waits_and_an_override_routes_it(node: Node) -> None:
    (item_id,) = submit(node, "https://unknown.host.example/x")
    assert node.cases.assess(ANALYST, item_id, NATIONAL).state is ItemState.AWAITING_HOSTING
    facts = HostingFacts("198.51.100.7", "de", None, None, False, "analyst")
    item = node.cases.override_hosting(ANALYST, item_id, HostingOverride(facts, "traced by hand"))
    assert item.state is ItemState.REFERRED and item.hosting is not None and item.hosting.overridden
    assert item.hosting.facts.country == "DE"


def test_a_timed_hold_blocks_the_ntd_until_it_ends(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/hold")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    node.cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED))
    node.cases.place_hold(LEA, item_id, clock.now() + timedelta(hours=6), "op-9")
    with pytest.raises(FailedPrecondition, match="hold"):
        node.cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED))
    clock.advance(timedelta(hours=6))
    item, _ = node.cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED))
    assert item.state is ItemState.NTD_SENT and item.deadline_at == clock.now() + timedelta(hours=72)


def test_moved_within_the_country_needs_a_new_ntd_and_abroad_becomes_a_referral(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/moving")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    node.cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED))
    node.cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED))
    item, _ = node.cases.record_action(ANALYST, item_id, NewAction(ActionType.MOVED, moved_to_country="NL"))
    assert item.state is ItemState.LEA_NOTIFIED and item.ntd_sent_at is None
    item, _ = node.cases.record_action(ANALYST, item_id, NewAction(ActionType.MOVED, moved_to_country="DE"))
    assert (item.state, item.assigned_node) == (ItemState.REFERRED, "de-hotline")


def test_dubious_items_wait_for_another_look_and_not_illegal_closes(node: Node) -> None:
    a, b = submit(node, "https://nl.host.example/d1", "https://nl.host.example/d2")
    assert node.cases.assess(ANALYST, a, Assessment(Classification.DOUBTFUL)).state is ItemState.AWAITING_ASSESSMENT
    closed = node.cases.assess(ANALYST, b, Assessment(Classification.NOT_ILLEGAL))
    assert closed.state is ItemState.CLOSED_NOT_ILLEGAL and closed.actions[-1].type is ActionType.NOT_ILLEGAL
    assert node.cases.assess(ANALYST, a, NATIONAL).state is ItemState.AWAITING_LEA  # NATIONAL may be re-assessed


def test_what_an_analyst_classified_is_known_next_time(node: Node) -> None:
    sha = RawHash("sha256", "77" * 32)
    (first,) = submit(node, "https://nl.host.example/first", hashes=(sha,))
    node.cases.assess(ANALYST, first, Assessment(Classification.BASELINE))
    (second,) = submit(node, "https://nl.host.example/elsewhere", hashes=(sha,))
    item = node.cases.get_item(second)
    assert item.known_content and item.assessment is not None and item.assessment.automatic
    assert item.assessment.classification is Classification.BASELINE


def test_pdq_matches_within_the_threshold(node: Node) -> None:
    digest = bytes(range(32))
    node.cases.import_known_hashes(
        ANALYST, [(ContentHash(HashAlgorithm.PDQ, digest), Classification.NATIONAL)], "shared list"
    )
    close = bytearray(digest)
    close[0] ^= 0xFF
    (item_id,) = submit(node, "https://nl.host.example/pdq", hashes=(RawHash("pdq", close.hex()),))
    assert node.cases.get_item(item_id).known_content


def test_a_refused_call_writes_nothing(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/refused")
    node.cases.assess(ANALYST, item_id, Assessment(Classification.BASELINE))
    counts = {table.name: rows(node, table) for table in (t.events, t.audit_log, t.assessments, t.actions)}
    for attempt in (
        lambda: node.cases.assess(ANALYST, item_id, Assessment(Classification.NOT_ILLEGAL)),
        lambda: node.cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED)),
        lambda: node.cases.submit_report(
            INTAKE, NewReport((NewUrl("https://ok.example/"), NewUrl("ftp://x.example/")))
        ),
    ):
        with pytest.raises(DomainError):
            attempt()
    assert {table.name: rows(node, table) for table in (t.events, t.audit_log, t.assessments, t.actions)} == counts


def test_a_batch_of_reports_answers_each_on_its_own(node: Node) -> None:
    from node.cases.requests import NewReport as R

    batch = [
        (INTAKE, R((NewUrl("https://nl.host.example/b1"),)), ""),
        (INTAKE, R((NewUrl("ftp://nl.host.example/bad"),)), ""),
        (INTAKE, R((NewUrl("https://nl.host.example/b1#frag"),)), "req-1"),
        (INTAKE, R((NewUrl("https://nl.host.example/b2"),)), "req-1"),
    ]
    results = node.cases.submit_reports(batch)
    first, bad, joined, reused = results
    assert isinstance(bad, DomainError) and bad.field == "urls[0].url"
    assert not isinstance(first, DomainError) and not isinstance(joined, DomainError)
    assert joined.items[0].item_id == first.items[0].item_id and not joined.items[0].new_item
    assert isinstance(reused, DomainError) and reused.field == "request_id"
    assert node.cases.get_item(first.items[0].item_id).report_count == 2


@pytest.mark.parametrize("hashes", [(), (RawHash("sha256", "07" * 32),)], ids=["bulk", "one-by-one"])
def test_a_batch_that_collides_with_a_concurrent_writer_falls_back_to_one_by_one(
    node: Node, monkeypatch: pytest.MonkeyPatch, hashes: tuple[RawHash, ...]
) -> None:
    """A URL without hashes takes the bulk path, one with hashes the item-by-item path, which trusts the batch's
    read of open URLs too (it looks no item up again): both meet the concurrent item at the unique index."""
    (existing,) = submit(node, "https://nl.host.example/race")
    from node.store.sql_store import SqlTransaction

    blind = {"calls": 0}
    real = SqlTransaction.open_item_urls

    def open_item_urls_missing_the_concurrent_insert(self: SqlTransaction, urls: list[str]) -> set[str]:
        blind["calls"] += 1
        return set() if blind["calls"] == 1 else real(self, urls)  # as if the other writer had not committed yet

    monkeypatch.setattr(SqlTransaction, "open_item_urls", open_item_urls_missing_the_concurrent_insert)
    results = node.cases.submit_reports(
        [
            (INTAKE, NewReport((NewUrl("https://nl.host.example/race", hashes),)), ""),
            (INTAKE, NewReport((NewUrl("https://nl.host.example/other", hashes),)), ""),
        ]
    )
    race, other = results
    assert not isinstance(race, DomainError) and not isinstance(other, DomainError)
    assert race.items[0].item_id == existing and not race.items[0].new_item
    assert other.items[0].new_item
    assert node.cases.get_item(existing).report_count == 2
