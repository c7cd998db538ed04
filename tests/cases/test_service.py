"""The case workflow on CaseService directly, on both backends: intake, known content, assessment, routing,
the domestic flow with holds and deadlines, MOVED, who may act, events, and that a refusal writes nothing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import String, func, select

from node.app import Node
from node.cases.exchange_messages import Referral, StatusUpdate, Withdrawal
from node.cases.model import (
    ActionType,
    AgeGroup,
    Assessment,
    Classification,
    Event,
    Item,
    ItemState,
    Report,
    Route,
)
from node.cases.requests import HostingOverride, NewAction, NewReport, NewUrl, RawHash
from node.clock import ManualClock
from node.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from node.hashes import DEFAULT_PDQ_THRESHOLD, ContentHash, HashAlgorithm
from node.hosting import HostingFacts
from node.store import schema as t
from tests.conftest import ANALYST, HASHER, INTAKE, LEA, START

NATIONAL = Assessment(Classification.NATIONAL)
BASELINE = Assessment(Classification.BASELINE)
DEADLINE = timedelta(hours=72)
TABLES = (
    t.reports,
    t.report_items,
    t.items,
    t.item_hashes,
    t.assessments,
    t.hosting_records,
    t.actions,
    t.holds,
    t.known_hashes,
    t.events,
    t.audit_log,
    t.outbox,
    t.idempotency,
)


# ---------------------------------------------------------------------------------------------- helpers


def report(node: Node, *urls: str, hashes: tuple[RawHash, ...] = (), request_id: str = "") -> Report:
    """Reported by the hotline's own hashing tool: its hashes are trusted (a report form's are only claimed)."""
    return node.cases.submit_report(HASHER, NewReport(tuple(NewUrl(u, hashes) for u in urls)), request_id)


def submit(node: Node, *urls: str, hashes: tuple[RawHash, ...] = ()) -> list[str]:
    return [i.item_id for i in report(node, *urls, hashes=hashes).items]


def act(node: Node, item_id: str, action: ActionType, **kwargs: str) -> Item:
    return node.cases.record_action(ANALYST, item_id, NewAction(action, **kwargs))[0]


def counts(node: Node) -> dict[str, int]:
    with node.engine.connect() as connection:
        return {
            table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in TABLES
        }


def events_after(node: Node, seq: int, item_id: str | None = None) -> list[Event]:
    with node.store.transaction(read_only=True) as tx:
        return tx.list_events(after_seq=seq, limit=10_000, item_id=item_id)


def last_seq(node: Node) -> int:
    events = events_after(node, 0)
    return events[-1].seq if events else 0


def outbox_rows(node: Node) -> list[tuple[str, str, str, dict[str, object]]]:
    with node.engine.connect() as connection:
        rows = connection.execute(select(t.outbox).order_by(t.outbox.c.outbox_id)).all()
    return [(r.peer_node, r.kind, r.item_id, json.loads(r.body)) for r in rows]


def assert_within_column_bounds(node: Node) -> None:
    """Every stored string fits its declared length (SQLite does not enforce it; PostgreSQL would refuse)."""
    with node.engine.connect() as connection:
        for table in t.metadata.tables.values():
            for column in table.columns:
                column_type = column.type
                if isinstance(column_type, String) and column_type.length:
                    longest = connection.execute(select(func.max(func.length(column)))).scalar()
                    assert (longest or 0) <= column_type.length, f"{table.name}.{column.name}: {longest}"


def to_domestic_ntd(node: Node, url: str = "https://nl.host.example/ntd") -> str:
    (item_id,) = submit(node, url)
    node.cases.assess(ANALYST, item_id, NATIONAL)
    act(node, item_id, ActionType.LEA_NOTIFIED)
    act(node, item_id, ActionType.HP_NOTIFIED)
    return item_id


def flip_bits(digest: bytes, n: int) -> bytes:
    out = bytearray(digest)
    for bit in range(n):
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# ---------------------------------------------------------------------------------------------- intake


def test_intake_normalises_the_url_and_traces_the_host(node: Node, clock: ManualClock) -> None:
    r = report(node, "HTTP://NL.Host.Example.:80/a/../b/%7euser?q=1#frag")
    (reported,) = r.items
    assert reported.url == "http://nl.host.example/b/~user?q=1"
    assert (reported.new_item, reported.known_content, reported.state) == (True, False, ItemState.AWAITING_ASSESSMENT)
    item = node.cases.get_item(reported.item_id)
    assert (item.url, item.host, item.report_count) == (reported.url, "nl.host.example", 1)
    assert item.hosting is not None and item.hosting.facts.country == "NL" and item.hosting.traced_at == clock.now()
    assert item.first_reported_at == clock.now() and item.assigned_node == "nl-hotline"
    assert [e.kind for e in events_after(node, 0)] == ["report.received", "item.created"]
    assert node.cases.get_report(r.report_id) == r


def test_a_repeat_report_joins_the_open_item(node: Node, clock: ManualClock) -> None:
    first = report(node, "https://nl.host.example/photos/1?id=7")
    clock.advance(timedelta(hours=2))
    seq = last_seq(node)
    sha = RawHash("sha256", "ab" * 32)
    second = report(node, "https://NL.HOST.EXAMPLE:443/photos/./1?id=7#x", hashes=(sha,))
    assert second.report_id != first.report_id
    (joined,) = second.items
    assert joined.item_id == first.items[0].item_id and not joined.new_item
    item = node.cases.get_item(joined.item_id)
    assert item.report_count == 2 and item.first_reported_at == clock.now() - timedelta(hours=2)
    assert item.hashes == [ContentHash(HashAlgorithm.SHA256, bytes.fromhex("ab" * 32))]  # the new hash is kept
    assert [e.kind for e in events_after(node, seq)] == ["report.received", "item.repeat_report"]
    assert counts(node)["items"] == 1 and counts(node)["reports"] == 2


def test_a_url_reported_again_after_its_case_closed_opens_a_new_item(node: Node) -> None:
    (first,) = submit(node, "https://nl.host.example/again")
    node.cases.assess(ANALYST, first, Assessment(Classification.NOT_ILLEGAL))
    (second,) = submit(node, "https://nl.host.example/again")
    assert second != first
    assert node.cases.get_item(second).state is ItemState.AWAITING_ASSESSMENT
    assert node.cases.get_item(first).state is ItemState.CLOSED_NOT_ILLEGAL


def test_the_same_url_twice_in_one_report_is_one_item(node: Node) -> None:
    r = report(node, "https://nl.host.example/twice", "https://nl.host.example/other", "HTTPS://nl.host.example/twice")
    assert len(r.items) == 3
    assert r.items[0].item_id == r.items[2].item_id != r.items[1].item_id
    assert r.items[0].new_item and r.items[2].new_item  # the same reported item, echoed at each position
    assert counts(node)["items"] == 2
    assert node.cases.get_item(r.items[0].item_id).report_count == 1


def test_replaying_a_report_with_a_repeated_url_returns_the_original_answer(node: Node) -> None:
    urls = ("https://nl.host.example/dup", "https://nl.host.example/dup")
    original = report(node, *urls, request_id="req-dup-1")
    replayed = report(node, *urls, request_id="req-dup-1")
    assert replayed == original


def test_a_batch_refuses_only_the_bad_report(node: Node) -> None:
    good = NewReport((NewUrl("https://nl.host.example/batch-ok"),))
    bad = NewReport((NewUrl("https://nl.host.example/fine"), NewUrl("javascript:alert(1)")))
    results = node.cases.submit_reports([(INTAKE, good, ""), (INTAKE, bad, ""), (INTAKE, good, "")])
    assert isinstance(results[0], Report) and isinstance(results[2], Report)
    assert isinstance(results[1], InvalidArgument) and results[1].field == "urls[1].url"
    assert results[0].items[0].item_id == results[2].items[0].item_id  # the second joined the first
    assert counts(node)["items"] == 1 and counts(node)["reports"] == 2


def test_an_idempotent_submit_is_replayed_and_a_different_one_under_the_same_id_is_refused(node: Node) -> None:
    first = report(node, "https://nl.host.example/idem", request_id="req-1")
    before = counts(node)
    assert report(node, "https://nl.host.example/idem", request_id="req-1") == first
    assert counts(node) == before
    with pytest.raises(AlreadyExists) as refused:
        report(node, "https://nl.host.example/idem-other", request_id="req-1")
    assert refused.value.field == "request_id"
    assert counts(node) == before


# ---------------------------------------------------------------------------------------------- known content


def test_an_exact_known_hash_classifies_automatically_and_routes(node: Node) -> None:
    sha = ContentHash(HashAlgorithm.SHA256, bytes(range(32)))
    md5 = ContentHash(HashAlgorithm.MD5, bytes(range(16)))
    imported = node.cases.import_known_hashes(
        ANALYST, [(sha, Classification.BASELINE), (md5, Classification.NATIONAL)], "shared list"
    )
    assert imported == (2, 0)
    assert node.cases.import_known_hashes(ANALYST, [(sha, Classification.BASELINE)], "shared list") == (0, 1)
    r = report(node, "https://nl.host.example/known", hashes=(RawHash("sha256", sha.hex),))
    (reported,) = r.items
    assert reported.known_content and reported.state is ItemState.AWAITING_LEA
    item = node.cases.get_item(reported.item_id)
    assert item.assessment is not None
    assert (item.assessment.classification, item.assessment.automatic, item.assessment.assessed_by) == (
        Classification.BASELINE,
        True,
        "known-hash",
    )
    assert item.route is Route.DOMESTIC
    kinds = [e.kind for e in events_after(node, 0, reported.item_id)]
    assert kinds == ["item.created", "item.known_match", "item.assessed", "item.routed"]
    # Known content hosted abroad is referred at once, with no analyst involved.
    (abroad,) = report(node, "https://de.host.example/known", hashes=(RawHash("md5", md5.hex),)).items
    assert abroad.state is ItemState.REFERRED
    assert [(p, k, i) for p, k, i, _ in outbox_rows(node)] == [("de-hotline", "referral", abroad.item_id)]


def test_a_pdq_hash_within_the_threshold_is_known_and_one_beyond_is_not(node: Node) -> None:
    digest = bytes(range(64, 96))
    node.cases.import_known_hashes(
        ANALYST, [(ContentHash(HashAlgorithm.PDQ, digest), Classification.NATIONAL)], "shared pdq list"
    )
    near = flip_bits(digest, DEFAULT_PDQ_THRESHOLD)
    far = flip_bits(digest, DEFAULT_PDQ_THRESHOLD + 1)
    (matched,) = report(node, "https://nl.host.example/pdq-near", hashes=(RawHash("pdq", near.hex()),)).items
    (missed,) = report(node, "https://nl.host.example/pdq-far", hashes=(RawHash("pdq", far.hex()),)).items
    assert matched.known_content and matched.state is ItemState.AWAITING_LEA
    assert not missed.known_content and missed.state is ItemState.AWAITING_ASSESSMENT
    assessment = node.cases.get_item(matched.item_id).assessment
    assert assessment is not None and assessment.classification is Classification.NATIONAL


def test_known_pdq_hashes_are_loaded_again_when_the_node_restarts(
    make_node: Callable[..., Node], database_url: str
) -> None:
    digest = bytes(range(32))
    first = make_node(database_url)
    first.cases.import_known_hashes(ANALYST, [(ContentHash(HashAlgorithm.PDQ, digest), Classification.BASELINE)], "l")
    first.engine.dispose()
    restarted = make_node(database_url)
    (item,) = report(
        restarted, "https://nl.host.example/pdq", hashes=(RawHash("pdq", flip_bits(digest, 3).hex()),)
    ).items
    assert item.known_content


def test_what_an_analyst_classified_is_known_next_time(node: Node) -> None:
    sha = RawHash("sha1", "12" * 20)
    (first,) = submit(node, "https://nl.host.example/first", hashes=(sha,))
    node.cases.assess(ANALYST, first, BASELINE)
    (second,) = report(node, "https://br.host.example/copy", hashes=(sha,)).items
    assert second.known_content and second.state is ItemState.AWAITING_LEA  # BR: no member, handled here


def known_as(node: Node, sha: RawHash) -> list[tuple[Classification, str, str]]:
    """Each source's entry for the hash: classification, source, and the item whose assessment taught it."""
    with node.store.transaction(read_only=True) as tx:
        known = tx.find_known_hashes(ContentHash(HashAlgorithm(sha.algorithm), bytes.fromhex(sha.value)))
    return [(k.classification, k.source, k.learned_from_item) for k in known]


def test_a_reassessment_changes_what_the_hashes_are_known_as(node: Node) -> None:
    sha = RawHash("sha256", "34" * 32)
    (first,) = submit(node, "https://nl.host.example/reassessed-known/1", hashes=(sha,))
    node.cases.assess(ANALYST, first, Assessment(Classification.DOUBTFUL))
    assert known_as(node, sha) == []  # DOUBTFUL teaches nothing
    node.cases.assess(ANALYST, first, Assessment(Classification.NATIONAL, age_group=AgeGroup.INFANT))
    assert known_as(node, sha) == [(Classification.NATIONAL, "learned", first)]
    (second,) = report(node, "https://nl.host.example/reassessed-known/2", hashes=(sha,)).items
    assert second.known_content and second.state is ItemState.AWAITING_LEA
    assessment = node.cases.get_item(second.item_id).assessment
    assert assessment is not None and assessment.automatic
    assert (assessment.classification, assessment.age_group) == (Classification.NATIONAL, AgeGroup.INFANT)
    # The analyst's word on the second copy is the latest word on the content.
    node.cases.assess(ANALYST, second.item_id, BASELINE)
    assert known_as(node, sha) == [(Classification.BASELINE, "learned", second.item_id)]


def test_an_analyst_who_takes_a_verdict_back_takes_its_lesson_back(node: Node) -> None:
    sha = RawHash("sha256", "35" * 32)
    (first,) = submit(node, "https://nl.host.example/taken-back", hashes=(sha,))
    node.cases.assess(ANALYST, first, NATIONAL)
    assert known_as(node, sha) == [(Classification.NATIONAL, "learned", first)]
    node.cases.assess(ANALYST, first, Assessment(Classification.NOT_ILLEGAL))
    assert known_as(node, sha) == []  # and NOT_ILLEGAL teaches nothing by default


def test_a_pdq_lesson_taken_back_matches_nothing_and_hides_no_other_entry(node: Node) -> None:
    digest = bytes(range(32))
    (first,) = submit(node, "https://nl.host.example/pdq-taken-back/1", hashes=(RawHash("pdq", digest.hex()),))
    node.cases.assess(ANALYST, first, NATIONAL)  # learned first: the lower id, so it wins a tie
    listed = flip_bits(digest, 6)
    node.cases.import_known_hashes(ANALYST, [(ContentHash(HashAlgorithm.PDQ, listed), Classification.NATIONAL)], "l")
    node.cases.assess(ANALYST, first, Assessment(Classification.NOT_ILLEGAL))  # the lesson goes; the index keeps it
    query = RawHash("pdq", flip_bits(digest, 3).hex())  # 3 bits from both: the deleted entry comes first
    (later,) = report(node, "https://nl.host.example/pdq-taken-back/2", hashes=(query,)).items
    assert later.known_content  # through the list's entry, the next candidate


def test_a_known_baseline_hash_is_not_overruled_by_another_items_assessment(node: Node) -> None:
    sha = RawHash("sha256", "56" * 32)
    (first,) = submit(node, "https://nl.host.example/known-baseline/1", hashes=(sha,))
    node.cases.assess(ANALYST, first, BASELINE)
    # A second item got the same hash only on a repeat report, after intake checked it: no automatic match.
    (second,) = submit(node, "https://nl.host.example/known-baseline/2")
    submit(node, "https://nl.host.example/known-baseline/2", hashes=(sha,))
    node.cases.assess(ANALYST, second, NATIONAL)
    assert known_as(node, sha) == [(Classification.BASELINE, "learned", first)]


def test_an_imported_list_entry_is_not_changed_by_an_assessment(node: Node) -> None:
    sha = RawHash("sha256", "78" * 32)
    content = ContentHash(HashAlgorithm.SHA256, bytes.fromhex(sha.value))
    node.cases.import_known_hashes(ANALYST, [(content, Classification.NATIONAL)], "shared list")
    (item,) = report(node, "https://nl.host.example/imported-known", hashes=(sha,)).items
    assert item.known_content
    node.cases.assess(ANALYST, item.item_id, BASELINE)
    # The list's entry stands as the list has it; the analyst's verdict is learned beside it, and the
    # disagreement is an event.
    assert known_as(node, sha) == [
        (Classification.NATIONAL, "shared list", ""),
        (Classification.BASELINE, "learned", item.item_id),
    ]
    assert "known_hash.conflict" in [e.kind for e in events_after(node, 0, item.item_id)]


def test_a_claimed_hash_is_a_hint_and_teaches_nothing(node: Node) -> None:
    sha = RawHash("sha256", "9a" * 32)
    content = ContentHash(HashAlgorithm.SHA256, bytes.fromhex(sha.value))
    node.cases.import_known_hashes(ANALYST, [(content, Classification.BASELINE)], "shared list")
    claimed = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/claimed", (sha,)),)))
    (item,) = claimed.items
    assert not item.known_content and item.state is ItemState.AWAITING_ASSESSMENT
    kinds = [e.kind for e in events_after(node, 0, item.item_id)]
    assert kinds == ["item.created", "item.known_hash_hint"]
    other = RawHash("sha256", "9b" * 32)
    (taught,) = node.cases.submit_report(
        INTAKE, NewReport((NewUrl("https://nl.host.example/claimed-2", (other,)),))
    ).items
    node.cases.assess(ANALYST, taught.item_id, BASELINE)
    assert known_as(node, other) == []


# ---------------------------------------------------------------------------------------------- assessment


def test_baseline_cannot_be_overruled_but_may_be_confirmed(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/baseline")
    node.cases.assess(ANALYST, item_id, BASELINE)
    before = counts(node)
    for other in (Classification.NATIONAL, Classification.DOUBTFUL, Classification.NOT_ILLEGAL):
        with pytest.raises(FailedPrecondition) as refused:
            node.cases.assess(ANALYST, item_id, Assessment(other))
        assert refused.value.field == "assessment.classification"
    assert counts(node) == before
    again = node.cases.assess(ANALYST, item_id, Assessment(Classification.BASELINE, note="confirmed"))
    assert again.classification is Classification.BASELINE and again.state is ItemState.AWAITING_LEA


def test_national_can_be_reassessed(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/national")
    assert node.cases.assess(ANALYST, item_id, NATIONAL).state is ItemState.AWAITING_LEA
    upgraded = node.cases.assess(ANALYST, item_id, BASELINE)
    assert upgraded.classification is Classification.BASELINE and upgraded.state is ItemState.AWAITING_LEA
    (other,) = submit(node, "https://nl.host.example/national-2")
    node.cases.assess(ANALYST, other, NATIONAL)
    closed = node.cases.assess(ANALYST, other, Assessment(Classification.NOT_ILLEGAL))
    assert closed.state is ItemState.CLOSED_NOT_ILLEGAL


def test_doubtful_waits_for_another_look(node: Node) -> None:
    (item_id,) = submit(node, "https://de.host.example/doubtful")
    item = node.cases.assess(ANALYST, item_id, Assessment(Classification.DOUBTFUL, note="ask a colleague"))
    assert item.state is ItemState.AWAITING_ASSESSMENT and item.route is None and item.assigned_node == "nl-hotline"
    assert outbox_rows(node) == []
    routed = node.cases.assess(ANALYST, item_id, NATIONAL)
    assert routed.state is ItemState.REFERRED and routed.route is Route.REFERRAL


def test_not_illegal_closes_and_a_closed_item_cannot_be_assessed(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/fine")
    clock.advance(timedelta(minutes=5))
    item = node.cases.assess(ANALYST, item_id, Assessment(Classification.NOT_ILLEGAL))
    assert item.state is ItemState.CLOSED_NOT_ILLEGAL and item.closed_at == clock.now()
    assert [a.type for a in item.actions] == [ActionType.NOT_ILLEGAL]
    with pytest.raises(FailedPrecondition):
        node.cases.assess(ANALYST, item_id, NATIONAL)
    with pytest.raises(InvalidArgument):  # NOT_ILLEGAL is an assessment, not an action
        act(node, item_id, ActionType.NOT_ILLEGAL)


def test_a_reassessment_after_the_ntd_keeps_the_removal_deadline(node: Node, clock: ManualClock) -> None:
    item_id = to_domestic_ntd(node)
    deadline = node.cases.get_item(item_id).deadline_at
    before, seq = counts(node), last_seq(node)
    with pytest.raises(FailedPrecondition, match="NTD was sent") as refused:
        node.cases.assess(ANALYST, item_id, Assessment(Classification.DOUBTFUL))
    assert refused.value.field == "assessment.classification"
    assert (counts(node), last_seq(node)) == (before, seq)
    # A firmer classification is still taken, and the item stays on its deadline.
    item = node.cases.assess(ANALYST, item_id, BASELINE)
    assert (item.state, item.deadline_at, item.classification) == (
        ItemState.NTD_SENT,
        deadline,
        Classification.BASELINE,
    )
    clock.advance(DEADLINE)
    assert node.cases.escalate_overdue() == [item_id]


def test_doubt_before_the_ntd_sends_the_item_back_to_assessment(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/doubt-before-ntd")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    act(node, item_id, ActionType.LEA_NOTIFIED)
    doubted = node.cases.assess(ANALYST, item_id, Assessment(Classification.DOUBTFUL))
    assert doubted.state is ItemState.AWAITING_ASSESSMENT and doubted.deadline_at is None
    assert node.cases.assess(ANALYST, item_id, NATIONAL).state is ItemState.LEA_NOTIFIED  # the LEA was told


# ---------------------------------------------------------------------------------------------- routing


def test_a_domestic_item_waits_for_the_lea(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/dom")
    item = node.cases.assess(ANALYST, item_id, NATIONAL)
    assert (item.route, item.state, item.assigned_node, item.referred_to) == (
        Route.DOMESTIC,
        ItemState.AWAITING_LEA,
        "nl-hotline",
        "",
    )
    assert outbox_rows(node) == []


def test_a_referral_queues_metadata_only(node: Node) -> None:
    sha = RawHash("sha256", "cd" * 32)
    pdq = RawHash("pdq", "0f" * 32)
    (item_id,) = submit(node, "https://de.host.example/ref/1?x=2", hashes=(sha, pdq))
    assessment = Assessment(Classification.NATIONAL, note="seen by analyst-1")
    item = node.cases.assess(ANALYST, item_id, assessment)
    assert (item.route, item.state, item.assigned_node, item.referred_to) == (
        Route.REFERRAL,
        ItemState.REFERRED,
        "de-hotline",
        "de-hotline",
    )
    ((peer, kind, outbox_item, body),) = outbox_rows(node)
    assert (peer, kind, outbox_item) == ("de-hotline", "referral", item_id)
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
    assert body["url"] == "https://de.host.example/ref/1?x=2"
    assert (body["origin_node"], body["origin_item_id"]) == ("nl-hotline", item_id)
    assert sorted(body["hashes"], key=str) == sorted(  # type: ignore[arg-type]
        [{"algorithm": "sha256", "value": "cd" * 32}, {"algorithm": "pdq", "value": "0f" * 32}], key=str
    )
    assert body["assessment"]["classification"] == "NATIONAL"  # type: ignore[index]
    assert body["hosting"]["country"] == "DE"  # type: ignore[index]

    def leaves(value: object) -> list[object]:
        if isinstance(value, dict):
            return [leaf for v in value.values() for leaf in leaves(v)]
        if isinstance(value, list):
            return [leaf for v in value for leaf in leaves(v)]
        return [value]

    # Metadata only: short strings, numbers, flags. Nothing that could be content.
    assert all(v is None or isinstance(v, bool | int | str) for v in leaves(body))
    assert all(len(v) <= 64 for v in leaves(body) if isinstance(v, str) and v != body["url"])  # hex digests at most


def test_a_country_with_two_hotlines_goes_to_the_designated_one(node: Node) -> None:
    (item_id,) = submit(node, "https://fr.host.example/x")
    item = node.cases.assess(ANALYST, item_id, NATIONAL)
    assert (item.route, item.assigned_node) == (Route.REFERRAL, "fr-hotline-a")
    assert [p for p, *_ in outbox_rows(node)] == ["fr-hotline-a"]


def test_a_country_without_a_member_falls_back_to_direct_handling(node: Node) -> None:
    br, cdn = submit(node, "https://br.host.example/x", "https://cdn.host.example/y")
    for item_id, country in ((br, "BR"), (cdn, "US")):
        item = node.cases.assess(ANALYST, item_id, NATIONAL)
        assert (item.route, item.state, item.assigned_node, item.hosting_country) == (
            Route.FALLBACK_DIRECT,
            ItemState.AWAITING_LEA,
            "nl-hotline",
            country,
        )
    assert node.cases.get_item(cdn).hosting.facts.cdn  # type: ignore[union-attr]
    assert outbox_rows(node) == []


def test_unknown_hosting_waits_and_an_override_routes_it(node: Node) -> None:
    (item_id,) = submit(node, "https://unknown.host.example/where")
    item = node.cases.assess(ANALYST, item_id, NATIONAL)
    assert item.state is ItemState.AWAITING_HOSTING and item.hosting_country is None and item.route is None
    traced = node.cases.trace_hosting(ANALYST, item_id)  # still unknown: it keeps waiting
    assert traced.state is ItemState.AWAITING_HOSTING
    seq = last_seq(node)
    facts = HostingFacts("198.51.100.99", " de ", 64501, "Example Hosting DE", False, "analyst")
    routed = node.cases.override_hosting(ANALYST, item_id, HostingOverride(facts, "found the origin server"))
    assert routed.state is ItemState.REFERRED and routed.assigned_node == "de-hotline"
    assert routed.hosting is not None and routed.hosting.overridden and routed.hosting.actor == ANALYST.name
    assert (routed.hosting.facts.country, routed.hosting.facts.source) == ("DE", "override")
    assert [e.kind for e in events_after(node, seq)] == ["item.hosting_overridden", "item.routed", "outbox.queued"]
    assert [p for p, *_ in outbox_rows(node)] == ["de-hotline"]


def test_an_override_to_this_country_makes_the_item_domestic(node: Node) -> None:
    (item_id,) = submit(node, "https://unknown.host.example/home")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    facts = HostingFacts(None, "NL", None, None, False, "analyst")
    item = node.cases.override_hosting(ANALYST, item_id, HostingOverride(facts, "hosted here after all"))
    assert (item.route, item.state) == (Route.DOMESTIC, ItemState.AWAITING_LEA)


def test_an_override_needs_a_reason_and_a_country(node: Node) -> None:
    (item_id,) = submit(node, "https://unknown.host.example/bad-override")
    before = counts(node)
    for override, field in (
        (HostingOverride(HostingFacts(None, "DE", None, None, False, "a"), "  "), "reason"),
        (HostingOverride(HostingFacts(None, "Germany", None, None, False, "a"), "why"), "hosting.country"),
        (HostingOverride(HostingFacts(None, None, None, None, False, "a"), "why"), "hosting.country"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            node.cases.override_hosting(ANALYST, item_id, override)
        assert refused.value.field == field
    assert counts(node) == before


# ---------------------------------------------------------------------------------------------- domestic flow


def test_the_domestic_flow_from_lea_notice_to_removal(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/flow")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    clock.advance(timedelta(hours=1))
    item = act(node, item_id, ActionType.LEA_NOTIFIED, note="sent to the national police")
    assert (item.state, item.lea_notified_at) == (ItemState.LEA_NOTIFIED, clock.now())
    clock.advance(timedelta(hours=1))
    item = act(node, item_id, ActionType.HP_NOTIFIED)
    assert (item.state, item.ntd_sent_at, item.deadline_at) == (ItemState.NTD_SENT, clock.now(), clock.now() + DEADLINE)
    clock.advance(timedelta(hours=20))
    item = act(node, item_id, ActionType.CONTENT_REMOVED)
    assert (item.state, item.closed_at, item.is_open) == (ItemState.CLOSED_REMOVED, clock.now(), False)
    assert [a.type for a in item.actions] == [
        ActionType.LEA_NOTIFIED,
        ActionType.HP_NOTIFIED,
        ActionType.CONTENT_REMOVED,
    ]
    with pytest.raises(FailedPrecondition):
        act(node, item_id, ActionType.CONTENT_UNAVAILABLE)
    assert node.cases.get_item(item_id) == item


def test_actions_out_of_order_are_refused(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/order")
    before = counts(node)
    for action in (ActionType.LEA_NOTIFIED, ActionType.HP_NOTIFIED, ActionType.CONTENT_REMOVED):
        with pytest.raises(FailedPrecondition) as refused:
            act(node, item_id, action)  # not assessed yet
        assert refused.value.field == "type"
    node.cases.assess(ANALYST, item_id, NATIONAL)
    with pytest.raises(FailedPrecondition):
        act(node, item_id, ActionType.HP_NOTIFIED)  # the LEA is told first
    assert counts(node)["actions"] == before["actions"]


def test_a_timed_hold_blocks_the_ntd_until_it_ends(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/hold-timed")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    act(node, item_id, ActionType.LEA_NOTIFIED)
    until = clock.now() + timedelta(hours=12)
    held = node.cases.place_hold(LEA, item_id, until, "LEA-OP-12")
    assert held.active_hold is not None and (held.active_hold.until, held.active_hold.reference) == (until, "LEA-OP-12")
    clock.advance(timedelta(hours=12) - timedelta(seconds=1))
    before = counts(node)
    with pytest.raises(FailedPrecondition, match="hold") as refused:
        act(node, item_id, ActionType.HP_NOTIFIED)
    assert refused.value.field == "type" and counts(node) == before
    clock.advance(timedelta(seconds=1))  # the hold ends at `until`
    item = act(node, item_id, ActionType.HP_NOTIFIED)
    assert item.state is ItemState.NTD_SENT and item.deadline_at == until + DEADLINE


def test_a_timed_hold_is_no_longer_the_active_hold_once_it_ends(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/hold-ends")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    node.cases.place_hold(LEA, item_id, clock.now() + timedelta(hours=1), "LEA-OP-13")

    def listed() -> Item:
        items = node.cases.list_items(state=None, hosting_country=None, after_item_id="", limit=100)
        return next(i for i in items if i.item_id == item_id)

    assert node.cases.get_item(item_id).active_hold is not None and listed().active_hold is not None
    clock.advance(timedelta(hours=1))
    assert node.cases.get_item(item_id).active_hold is None and listed().active_hold is None
    # Nothing holds the item: a new hold may be placed, and it is the active one.
    held = node.cases.place_hold(LEA, item_id, None, "LEA-OP-14")
    assert held.active_hold is not None and held.active_hold.reference == "LEA-OP-14"
    assert node.cases.get_item(item_id).active_hold == held.active_hold


def test_a_hold_until_released_blocks_the_ntd_until_the_lea_releases_it(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/hold-open")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    node.cases.place_hold(LEA, item_id, None, "LEA-OP-99")  # placed before the LEA notice is allowed too
    act(node, item_id, ActionType.LEA_NOTIFIED)
    clock.advance(timedelta(days=30))
    with pytest.raises(FailedPrecondition, match="hold"):
        act(node, item_id, ActionType.HP_NOTIFIED)
    with pytest.raises(FailedPrecondition, match="already active"):
        node.cases.place_hold(LEA, item_id, None, "LEA-OP-100")
    released = node.cases.release_hold(LEA, item_id)
    assert released.active_hold is None
    with pytest.raises(FailedPrecondition, match="no active hold"):
        node.cases.release_hold(LEA, item_id)
    assert act(node, item_id, ActionType.HP_NOTIFIED).state is ItemState.NTD_SENT
    with pytest.raises(FailedPrecondition):  # after the NTD, a hold is too late
        node.cases.place_hold(LEA, item_id, None, "LEA-OP-101")


def test_a_hold_must_end_in_the_future(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/hold-past")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    before = counts(node)
    for until in (clock.now(), clock.now() - timedelta(hours=1)):
        with pytest.raises(InvalidArgument) as refused:
            node.cases.place_hold(LEA, item_id, until, "LEA-1")
        assert refused.value.field == "until"
    assert counts(node) == before


def test_content_found_unavailable_closes_the_case(node: Node) -> None:
    (item_id,) = submit(node, "https://br.host.example/gone")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    item = act(node, item_id, ActionType.CONTENT_UNAVAILABLE)
    assert item.state is ItemState.CLOSED_UNAVAILABLE and item.closed_at is not None


# ---------------------------------------------------------------------------------------------- deadlines


def test_an_overdue_ntd_escalates_once(node: Node, clock: ManualClock) -> None:
    item_id = to_domestic_ntd(node)
    other = to_domestic_ntd(node, "https://nl.host.example/ntd-later")
    deadline = node.cases.get_item(item_id).deadline_at
    assert deadline == clock.now() + DEADLINE
    clock.advance(DEADLINE - timedelta(seconds=1))
    assert node.cases.escalate_overdue() == []
    clock.advance(timedelta(seconds=1))
    seq = last_seq(node)
    assert sorted(node.cases.escalate_overdue()) == sorted([item_id, other])
    assert node.cases.escalate_overdue() == []  # idempotent
    clock.advance(timedelta(days=3))
    assert node.cases.escalate_overdue() == []
    escalations = [e for e in events_after(node, seq) if e.kind == "deadline.escalated"]
    assert sorted(e.item_id for e in escalations) == sorted([item_id, other])
    item = node.cases.get_item(item_id)
    assert item.escalated_at == deadline and item.state is ItemState.NTD_SENT


def test_a_removed_item_does_not_escalate(node: Node, clock: ManualClock) -> None:
    item_id = to_domestic_ntd(node)
    act(node, item_id, ActionType.CONTENT_REMOVED)
    clock.advance(DEADLINE * 2)
    assert node.cases.escalate_overdue() == []


def test_the_removal_deadline_comes_from_the_config(make_node: Callable[..., Node], database_url: str) -> None:
    node = make_node(database_url, removal_deadline_hours=24)
    item_id = to_domestic_ntd(node)
    item = node.cases.get_item(item_id)
    assert item.deadline_at is not None and item.ntd_sent_at is not None
    assert item.deadline_at - item.ntd_sent_at == timedelta(hours=24)


# ---------------------------------------------------------------------------------------------- MOVED


def test_moved_abroad_becomes_a_referral(node: Node, clock: ManualClock) -> None:
    item_id = to_domestic_ntd(node)
    clock.advance(timedelta(hours=5))
    item = act(node, item_id, ActionType.MOVED, moved_to_country="DE", note="now on a German host")
    assert (item.state, item.route, item.assigned_node) == (ItemState.REFERRED, Route.REFERRAL, "de-hotline")
    assert (item.ntd_sent_at, item.deadline_at, item.escalated_at) == (None, None, None)
    assert item.hosting is not None and item.hosting.facts.country == "DE" and item.hosting.facts.source == "moved"
    ((peer, kind, outbox_item, body),) = outbox_rows(node)
    assert (peer, kind, outbox_item) == ("de-hotline", "referral", item_id)
    assert body["hosting"]["country"] == "DE"  # type: ignore[index]
    clock.advance(DEADLINE)
    assert node.cases.escalate_overdue() == []  # the old deadline went with the NTD


def test_moved_within_the_country_needs_a_new_ntd(node: Node, clock: ManualClock) -> None:
    item_id = to_domestic_ntd(node)
    clock.advance(timedelta(hours=10))
    item = act(node, item_id, ActionType.MOVED, moved_to_country="nl")
    assert (item.state, item.route, item.assigned_node) == (ItemState.LEA_NOTIFIED, Route.DOMESTIC, "nl-hotline")
    assert item.ntd_sent_at is None and item.deadline_at is None and item.lea_notified_at is not None
    clock.advance(timedelta(hours=1))
    item = act(node, item_id, ActionType.HP_NOTIFIED)
    assert item.deadline_at == clock.now() + DEADLINE  # a fresh deadline for the new host
    assert outbox_rows(node) == []


def test_moved_before_the_lea_notice_stays_awaiting_the_lea(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/early-move")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    item = act(node, item_id, ActionType.MOVED, moved_to_country="BR")
    assert (item.state, item.route) == (ItemState.AWAITING_LEA, Route.FALLBACK_DIRECT)


def test_moved_needs_a_country_and_only_moved_has_one(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/move-args")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    before = counts(node)
    with pytest.raises(InvalidArgument) as refused:
        act(node, item_id, ActionType.MOVED)
    assert refused.value.field == "moved_to_country"
    with pytest.raises(InvalidArgument) as refused:
        act(node, item_id, ActionType.LEA_NOTIFIED, moved_to_country="DE")
    assert refused.value.field == "moved_to_country"
    assert counts(node) == before


# ---------------------------------------------------------------------------------------------- who may act


def _referred(node: Node) -> str:
    (item_id,) = submit(node, "https://de.host.example/theirs")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    return item_id


def test_only_the_assigned_node_may_act_on_an_item(node: Node) -> None:
    item_id = _referred(node)
    before = counts(node)
    facts = HostingFacts(None, "NL", None, None, False, "a")
    calls: list[Callable[[], object]] = [
        lambda: node.cases.assess(ANALYST, item_id, BASELINE),
        lambda: node.cases.override_hosting(ANALYST, item_id, HostingOverride(facts, "mine now")),
        lambda: node.cases.trace_hosting(ANALYST, item_id),
        lambda: act(node, item_id, ActionType.LEA_NOTIFIED),
        lambda: act(node, item_id, ActionType.CONTENT_REMOVED),
        lambda: act(node, item_id, ActionType.MOVED, moved_to_country="NL"),
        lambda: node.cases.place_hold(LEA, item_id, None, "LEA-1"),
    ]
    for call in calls:
        with pytest.raises(FailedPrecondition, match="de-hotline") as refused:
            call()
        assert refused.value.field == "item_id"
    assert counts(node) == before
    assert node.cases.get_item(item_id).state is ItemState.REFERRED


def test_a_hold_on_an_item_that_moved_abroad_is_not_released_here(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/held-then-moved")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    act(node, item_id, ActionType.LEA_NOTIFIED)
    node.cases.place_hold(LEA, item_id, None, "LEA-7")
    moved = act(node, item_id, ActionType.MOVED, moved_to_country="DE")
    assert moved.state is ItemState.REFERRED and moved.assigned_node == "de-hotline"
    before = counts(node)
    with pytest.raises(FailedPrecondition):
        node.cases.release_hold(LEA, item_id)
    assert counts(node) == before


def test_unknown_items_are_not_found(node: Node) -> None:
    for call in (
        lambda: node.cases.get_item("no-such-item"),
        lambda: node.cases.assess(ANALYST, "no-such-item", NATIONAL),
        lambda: act(node, "no-such-item", ActionType.LEA_NOTIFIED),
        lambda: node.cases.timeline("no-such-item"),
        lambda: node.cases.get_report("no-such-report"),
    ):
        with pytest.raises(NotFound):
            call()


# ---------------------------------------------------------------------------------------------- events


def _lifecycle(node: Node, clock: ManualClock, item_id: str) -> list[Callable[[], Item]]:
    return [
        lambda: node.cases.assess(ANALYST, item_id, Assessment(Classification.DOUBTFUL)),
        lambda: node.cases.assess(ANALYST, item_id, NATIONAL),
        lambda: act(node, item_id, ActionType.LEA_NOTIFIED),
        lambda: node.cases.place_hold(LEA, item_id, clock.now() + timedelta(hours=1), "LEA-2"),
        lambda: node.cases.release_hold(LEA, item_id),
        lambda: act(node, item_id, ActionType.HP_NOTIFIED),
        lambda: act(node, item_id, ActionType.MOVED, moved_to_country="NL"),
        lambda: act(node, item_id, ActionType.HP_NOTIFIED),
        lambda: act(node, item_id, ActionType.CONTENT_REMOVED),
    ]


def test_every_state_change_emits_events(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/evented")
    states = [ItemState.AWAITING_ASSESSMENT]
    for step in _lifecycle(node, clock, item_id):
        seq = last_seq(node)
        item = step()
        new = events_after(node, seq)
        assert new, "a change without an event"
        assert all(e.item_id == item_id and e.occurred_at == clock.now() for e in new)
        states.append(item.state)
    assert states[-1] is ItemState.CLOSED_REMOVED
    timeline = node.cases.timeline(item_id)
    assert [e.kind for e in timeline] == [
        "item.created",
        "item.assessed",
        "item.assessed",
        "item.routed",
        "action.recorded",
        "hold.placed",
        "hold.released",
        "action.recorded",
        "action.recorded",
        "item.routed",
        "action.recorded",
        "action.recorded",
        "item.closed",
    ]
    seqs = [e.seq for e in timeline]
    assert seqs == sorted(set(seqs))


def test_the_latest_event_of_each_change_carries_the_new_state(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/evented-state")
    for step in _lifecycle(node, clock, item_id):
        seq = last_seq(node)
        item = step()
        assert events_after(node, seq)[-1].state is item.state, item.actions[-1].type if item.actions else item


# ---------------------------------------------------------------------------------------------- refusals


def test_nothing_is_written_when_validation_fails(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/valid")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    before = counts(node)
    seq = last_seq(node)
    long_note = "n" * 2001
    refusals: list[Callable[[], object]] = [
        lambda: report(node),  # no URL
        lambda: report(node, "https://nl.host.example/ok", "mailto:someone@mail.example"),
        lambda: report(node, "https://nl.host.example/ok", hashes=(RawHash("sha256", "zz"),)),
        lambda: report(node, "https://nl.host.example/ok", hashes=(RawHash("crc32", "00" * 4),)),
        lambda: report(node, *(f"https://nl.host.example/{n}" for n in range(101))),
        lambda: report(node, "https://nl.host.example/ok", request_id="not a valid id!"),
        lambda: node.cases.submit_report(
            INTAKE, NewReport((NewUrl("https://nl.host.example/ok"),), received_at=clock.now() + timedelta(hours=1))
        ),
        lambda: node.cases.assess(ANALYST, item_id, Assessment(Classification.BASELINE, note=long_note)),
        lambda: act(node, item_id, ActionType.LEA_NOTIFIED, note=long_note),
        lambda: node.cases.place_hold(LEA, item_id, None, "r" * 201),
        lambda: node.cases.import_known_hashes(ANALYST, [], "  "),
        lambda: node.cases.statistics(start=clock.now(), end=clock.now()),
        lambda: node.cases.purge_closed(timedelta(0)),
    ]
    for refused in refusals:
        with pytest.raises(InvalidArgument):
            refused()
    assert counts(node) == before
    assert last_seq(node) == seq
    assert node.cases.get_item(item_id).state is ItemState.AWAITING_LEA


# ---------------------------------------------------------------------------------------------- bounded columns


def test_accepted_input_fits_the_columns(node: Node, clock: ManualClock) -> None:
    """The ordinary flows, with every text at its documented maximum, stay inside the column bounds."""
    item_id = to_domestic_ntd(node, "https://nl.host.example/" + "p" * 8000)
    act(node, item_id, ActionType.MOVED, moved_to_country="DE", note="m" * 2000)
    (other,) = submit(node, "https://nl.host.example/max")
    node.cases.assess(ANALYST, other, Assessment(Classification.NATIONAL, note="a" * 2000))
    node.cases.place_hold(LEA, other, None, "r" * 200)
    assert_within_column_bounds(node)


def test_a_referral_of_the_longest_url_of_backslashes_is_queued(node: Node) -> None:
    """A query keeps its backslashes, which the referral's JSON doubles: the outbox body must hold the longest
    legal URL escaped (on PostgreSQL it overflowed the column, and the item could never be assessed)."""
    prefix = "https://de.host.example/x?"
    url = prefix + "\\" * (8192 - len(prefix))
    (item_id,) = submit(node, url)
    item = node.cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL))
    assert (item.state, item.assigned_node, item.url) == (ItemState.REFERRED, "de-hotline", url)
    assert_within_column_bounds(node)


def test_a_url_with_a_very_long_host_is_refused_or_stored_whole(node: Node) -> None:
    url = "https://" + "a" * 300 + ".example/x"
    try:
        (item_id,) = submit(node, url)
    except InvalidArgument as refused:
        assert refused.field == "urls[0].url"
        return
    assert node.cases.get_item(item_id).host == "a" * 300 + ".example"
    assert_within_column_bounds(node)


@pytest.mark.parametrize(
    "facts",
    [
        HostingFacts("not-an-address", "DE", None, None, False, "analyst"),
        HostingFacts("192.0.2.1" * 6, "DE", None, None, False, "analyst"),
        HostingFacts("192.0.2.1", "DE", None, "o" * 300, False, "analyst"),
        HostingFacts("fe80::1%" + "eth0" * 20, "DE", None, None, False, "analyst"),
        HostingFacts("192.0.2.1", "DE", -1, None, False, "analyst"),
        HostingFacts("192.0.2.1", "DE", 2**32, None, False, "analyst"),
    ],
    ids=["bad-ip", "long-ip", "long-organisation", "ip-with-zone", "negative-asn", "asn-too-large"],
)
def test_an_override_with_a_bad_address_or_organisation_is_refused(node: Node, facts: HostingFacts) -> None:
    (item_id,) = submit(node, "https://unknown.host.example/override")
    before = counts(node)
    with pytest.raises(InvalidArgument) as refused:
        node.cases.override_hosting(ANALYST, item_id, HostingOverride(facts, "traced by hand"))
    assert refused.value.field is not None and refused.value.field.startswith("hosting.")
    assert counts(node) == before


def test_an_override_is_stored_in_canonical_form(node: Node) -> None:
    (item_id,) = submit(node, "https://unknown.host.example/override-canonical")
    facts = HostingFacts("[2001:DB8:0::0001]", "de", 4_294_967_295, "  " + "o" * 200 + " ", True, "analyst")
    item = node.cases.override_hosting(ANALYST, item_id, HostingOverride(facts, "traced by hand"))
    assert item.hosting is not None
    stored = item.hosting.facts
    assert (stored.ip, stored.country, stored.asn, stored.organisation, stored.cdn, stored.source) == (
        "2001:db8::1",
        "DE",
        4_294_967_295,
        "o" * 200,
        True,
        "override",
    )
    assert node.cases.get_item(item_id).hosting == item.hosting
    assert_within_column_bounds(node)


def _referral(clock: ManualClock, sender: str = "de-hotline", **changes: object) -> Referral:
    referral = Referral(
        origin_node=sender,
        origin_item_id="0190a8c0-0000-7000-8000-000000000002",
        url="https://nl.host.example/referred-in/checked",
        hashes=(),
        assessment=Assessment(Classification.NATIONAL, jurisdiction="DE"),
        hosting=HostingFacts("192.0.2.10", "NL", 64500, "Example Hosting NL", False, "static"),
        first_reported_at=clock.now() - timedelta(hours=3),
    )
    return dataclasses.replace(referral, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hosting": HostingFacts("not-an-address", "NL", None, None, False, "x")}, "referral.hosting.ip"),
        ({"hosting": HostingFacts(None, "NLD", None, None, False, "x")}, "referral.hosting.country"),
        ({"hosting": HostingFacts(None, "NL", None, "o" * 201, False, "x")}, "referral.hosting.organisation"),
        ({"origin_item_id": "i" * 37}, "referral.origin_item_id"),
        ({"url": "https://" + "a" * 64 + ".example/x"}, "referral.url"),
        ({"origin_item_id": "0190a8c0-0000-7000-8000-00000000\x000002"}, "referral.origin_item_id"),
        ({"hosting": HostingFacts(None, "NL", None, "Hosting\x1b[31m", False, "x")}, "referral.hosting.organisation"),
    ],
    ids=["bad-ip", "bad-country", "long-organisation", "long-item-id", "long-host-label", "nul-id", "control-org"],
)
def test_a_referral_with_facts_the_node_cannot_hold_is_refused(
    node: Node, clock: ManualClock, changes: dict[str, object], field: str
) -> None:
    before, seq = counts(node), last_seq(node)
    with pytest.raises(InvalidArgument) as refused, node.store.transaction() as tx:
        node.cases.receive_referral_txn(tx, "de-hotline", _referral(clock, **changes))
    assert refused.value.field == field
    assert (counts(node), last_seq(node)) == (before, seq)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (Withdrawal("de-hotline", "0190a8c0-0000-7000-8000-000000000002", "duplicate\x00"), "reason"),
        (Withdrawal("de-hotline", "0190a8c0-\x00", "duplicate"), "origin_item_id"),
        (
            StatusUpdate("0190a8c0-\x00", 1, "de-hotline", START, ItemState.AWAITING_ASSESSMENT),
            "origin_item_id",
        ),
        (
            StatusUpdate(
                "0190a8c0-0000-7000-8000-000000000002",
                1,
                "de-hotline",
                START,
                ItemState.REFERRED,
                ActionType.MOVED,
                moved_to_country="Netherlands",
            ),
            "moved_to_country",
        ),
    ],
    ids=["withdrawal-reason-nul", "withdrawal-id-nul", "update-id-nul", "update-long-country"],
)
def test_a_peer_message_with_text_the_node_refuses_from_integrators_is_refused_the_same_way(
    node: Node, message: Withdrawal | StatusUpdate, field: str
) -> None:
    """The exchange's messages are checked by the rules of node.cases.fields, as the integrator API's are."""
    before, seq = counts(node), last_seq(node)
    with pytest.raises(InvalidArgument) as refused, node.store.transaction() as tx:
        if isinstance(message, Withdrawal):
            node.cases.apply_withdrawal_txn(tx, "de-hotline", message)
        else:
            node.cases.apply_status_update_txn(tx, "de-hotline", message)
    assert refused.value.field == field
    assert (counts(node), last_seq(node)) == (before, seq)


def test_a_referral_naming_an_origin_that_is_not_a_node_id_is_refused(node: Node, clock: ManualClock) -> None:
    before = counts(node)
    referral = _referral(clock, origin_node="X" * 100, referred_by="de-hotline")
    with pytest.raises(InvalidArgument) as refused, node.store.transaction() as tx:
        node.cases.receive_referral_txn(tx, "de-hotline", referral)
    assert refused.value.field == "referral.origin_node"
    assert counts(node) == before


@pytest.mark.parametrize(
    "sender",
    ["de-bundesweite-beschwerdestelle-hotline", "d" + "-e" * 31],  # 39 characters; 63, the longest node id
)
def test_a_referral_from_a_node_with_a_long_id_is_taken(node: Node, clock: ManualClock, sender: str) -> None:
    referral = Referral(
        origin_node=sender,
        origin_item_id="0190a8c0-0000-7000-8000-000000000001",
        url="https://nl.host.example/referred-in",
        hashes=(),
        assessment=Assessment(Classification.NATIONAL, jurisdiction="DE"),
        hosting=HostingFacts("192.0.2.10", "NL", 64500, "Example Hosting NL", False, "static"),
        first_reported_at=clock.now() - timedelta(hours=3),
    )
    with node.store.transaction() as tx:
        item_id = node.cases.receive_referral_txn(tx, sender, referral)
    item = node.cases.get_item(item_id)
    assert (item.origin_node, item.state) == (sender, ItemState.AWAITING_ASSESSMENT)
    assert_within_column_bounds(node)


def test_a_known_hash_list_with_the_longest_source_name_imports(node: Node) -> None:
    source = "s" * 200  # the documented maximum (MAX_SOURCE_LENGTH, check_text)
    sha = ContentHash(HashAlgorithm.SHA256, bytes(32))
    assert node.cases.import_known_hashes(ANALYST, [(sha, Classification.BASELINE)], source) == (1, 0)
    assert_within_column_bounds(node)


def test_a_resolvers_overlong_organisation_is_kept_cut_to_the_column(database_url: str) -> None:
    """An AS name from a GeoIP or MaxMind database is not a caller's input: it is stored cut to 200
    characters (marked with an ellipsis) instead of failing the report on PostgreSQL."""
    from node.app import build_node
    from node.hosting import StaticResolver
    from tests.conftest import node_config

    long_name = "Example Transit " * 20  # 320 characters
    facts = HostingFacts("192.0.2.99", "NL", 64510, long_name, False, "geoip")
    built = build_node(node_config(database_url), resolver=StaticResolver({"long.host.example": facts}))
    try:
        [item_id] = submit(built, "https://long.host.example/a")
        item = built.cases.get_item(item_id)
        assert item.hosting is not None and item.hosting.facts.organisation is not None
        assert len(item.hosting.facts.organisation) == 200
        assert item.hosting.facts.organisation == long_name[:199] + "\u2026"
    finally:
        built.executor.shutdown(wait=False)
        built.engine.dispose()
