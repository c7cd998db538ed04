"""The audit log: one entry per change, ids only, append-only in the database, and hash-chained so that an
entry altered behind the node's back is found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from node.app import Node
from node.cases.model import ActionType, Assessment, Classification, Role
from node.cases.requests import HostingOverride, NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.errors import DomainError
from node.hashes import ContentHash, HashAlgorithm
from node.hosting import HostingFacts
from node.store import schema as t
from node.store.txn.transaction import _audit_hash
from tests.conftest import ANALYST, INTAKE, LEA

NATIONAL = Assessment(Classification.NATIONAL)
# Paths and queries that must never reach the audit log.
SECRET_PATHS = ("/audit-secret-1/a.jpg", "/audit-secret-2/b?c=3", "/audit-secret-3", "/audit-secret-4")


def entries(node: Node) -> list[tuple[int, str, str, str, str]]:
    with node.engine.connect() as connection:
        rows = connection.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all()
    return [(r.seq, r.actor, r.action, r.subject, r.detail) for r in rows]


def submit(node: Node, *urls: str, request_id: str = "") -> list[str]:
    report = node.cases.submit_report(INTAKE, NewReport(tuple(NewUrl(u) for u in urls)), request_id)
    return [i.item_id for i in report.items]


def appends_one(node: Node, call: Callable[[], object], action: str, actor: str, subject: str | None) -> None:
    before = entries(node)
    call()
    after = entries(node)
    assert after[: len(before)] == before, "earlier entries changed"
    new = after[len(before) :]
    assert [(e[1], e[2]) for e in new] == [(actor, action)], new
    if subject is not None:
        assert new[0][3] == subject


def test_every_mutating_call_appends_exactly_one_entry(node: Node, clock: ManualClock) -> None:
    clock.advance(timedelta(microseconds=1234))  # sub-second times must survive the chain's round trip
    before = entries(node)
    report = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example" + SECRET_PATHS[0]),)))
    (nl,) = [i.item_id for i in report.items]
    new = entries(node)[len(before) :]
    assert [(e[1], e[2], e[3], e[4]) for e in new] == [(INTAKE.name, "SubmitReport", report.report_id, nl)]

    (unknown,) = submit(node, "https://unknown.host.example" + SECRET_PATHS[1])
    (de,) = submit(node, "https://de.host.example" + SECRET_PATHS[2])
    appends_one(node, lambda: node.cases.assess(ANALYST, nl, NATIONAL), "AssessItem", ANALYST.name, nl)
    appends_one(node, lambda: node.cases.trace_hosting(ANALYST, unknown), "TraceHosting", ANALYST.name, unknown)
    override = HostingOverride(HostingFacts("192.0.2.55", "NL", None, None, False, "analyst"), "checked by hand")
    appends_one(
        node, lambda: node.cases.override_hosting(ANALYST, unknown, override), "OverrideHosting", ANALYST.name, unknown
    )
    appends_one(
        node,
        lambda: node.cases.record_action(ANALYST, nl, NewAction(ActionType.LEA_NOTIFIED)),
        "RecordAction",
        ANALYST.name,
        nl,
    )
    appends_one(node, lambda: node.cases.place_hold(LEA, nl, None, "LEA-REF-1"), "PlaceHold", LEA.name, nl)
    appends_one(node, lambda: node.cases.release_hold(LEA, nl), "ReleaseHold", LEA.name, nl)
    node.cases.record_action(ANALYST, nl, NewAction(ActionType.HP_NOTIFIED))
    clock.advance(timedelta(hours=73))
    appends_one(node, node.cases.escalate_overdue, "EscalateDeadline", "scheduler", nl)
    node.cases.assess(ANALYST, de, NATIONAL)  # referred to de-hotline
    appends_one(
        node,
        lambda: node.cases.withdraw_referral(ANALYST, de, "reported in error"),
        "WithdrawReferral",
        ANALYST.name,
        de,
    )
    sha = ContentHash(HashAlgorithm.SHA256, bytes(range(32)))
    appends_one(
        node,
        lambda: node.cases.import_known_hashes(ANALYST, [(sha, Classification.BASELINE)], "shared list"),
        "ImportKnownHashes",
        ANALYST.name,
        "shared list",
    )
    token: list[str] = []
    appends_one(
        node,
        lambda: token.append(node.access.create_token("operator", "cms", [Role.INTAKE])[0].token_id),
        "CreateToken",
        "operator",
        None,
    )
    appends_one(node, lambda: node.access.revoke_token("operator", token[0]), "RevokeToken", "operator", token[0])
    node.cases.record_action(ANALYST, nl, NewAction(ActionType.CONTENT_REMOVED))
    clock.advance(timedelta(days=400))
    appends_one(node, lambda: node.cases.purge_closed(timedelta(days=365)), "PurgeClosed", "scheduler", "2 items")
    assert node.store.verify_audit_chain() is None


def test_refused_calls_and_replays_append_nothing(node: Node, clock: ManualClock) -> None:
    (item_id,) = submit(node, "https://nl.host.example/refused", request_id="req-audit-1")
    baseline = entries(node)
    refusals: list[Callable[[], object]] = [
        lambda: node.cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED)),  # wrong state
        lambda: node.cases.release_hold(LEA, item_id),  # no hold
        lambda: node.cases.place_hold(LEA, item_id, clock.now() - timedelta(hours=1), "LEA-1"),  # in the past
        lambda: node.cases.assess(ANALYST, "no-such-item", NATIONAL),
        lambda: node.cases.submit_report(INTAKE, NewReport((NewUrl("ftp://nl.host.example/x"),))),
    ]
    for refused in refusals:
        with pytest.raises(DomainError):
            refused()
    # The same request again is a replay: the stored result, no second entry.
    assert submit(node, "https://nl.host.example/refused", request_id="req-audit-1") == [item_id]
    assert entries(node) == baseline


def test_the_chain_links_each_entry_to_the_one_before(node: Node) -> None:
    for n in range(3):
        (item_id,) = submit(node, f"https://nl.host.example/chain/{n}")
        node.cases.assess(ANALYST, item_id, NATIONAL)
    with node.engine.connect() as connection:
        rows = connection.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all()
    assert len(rows) == 6
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in pairwise(rows))
    assert len({r.entry_hash for r in rows}) == 6
    assert node.store.verify_audit_chain() is None


def test_update_and_delete_are_refused_by_the_database(node: Node) -> None:
    (item_id,) = submit(node, "https://nl.host.example/guarded")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    before = entries(node)
    statements = [
        update(t.audit_log).where(t.audit_log.c.seq == before[0][0]).values(detail="rewritten"),
        update(t.audit_log).values(actor="someone-else"),
        delete(t.audit_log).where(t.audit_log.c.seq == before[-1][0]),
        delete(t.audit_log),
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), node.engine.begin() as connection:
            connection.execute(statement)
    assert entries(node) == before
    assert node.store.verify_audit_chain() is None


@pytest.mark.postgres
def test_postgres_refuses_truncating_the_audit_log(make_node: Callable[..., Node], postgres_url: str) -> None:
    node = make_node(postgres_url)
    submit(node, "https://nl.host.example/truncate")
    with pytest.raises(DBAPIError, match="append-only"), node.engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_log"))
    assert len(entries(node)) == 1


def _three_entries(node: Node) -> list[int]:
    (item_id,) = submit(node, "https://nl.host.example/tamper")
    node.cases.assess(ANALYST, item_id, NATIONAL)
    node.cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED))
    seqs = [e[0] for e in entries(node)]
    assert len(seqs) == 3 and node.store.verify_audit_chain() is None
    return seqs


def test_sqlite_tampering_with_one_entry_is_found_at_that_entry(
    make_node: Callable[..., Node], sqlite_url: str
) -> None:
    node = make_node(sqlite_url)
    seqs = _three_entries(node)
    with node.engine.begin() as connection:  # someone with the database file drops the guard first
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(update(t.audit_log).where(t.audit_log.c.seq == seqs[1]).values(detail="NOT_ILLEGAL"))
    assert node.store.verify_audit_chain() == seqs[1]


def test_sqlite_a_rehashed_entry_is_found_at_the_next_entry(make_node: Callable[..., Node], sqlite_url: str) -> None:
    node = make_node(sqlite_url)
    seqs = _three_entries(node)
    with node.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        # A forger also recomputes the altered entry's own hash; the next entry's link no longer matches.
        connection.execute(
            update(t.audit_log).where(t.audit_log.c.seq == seqs[0]).values(detail="x", entry_hash="f" * 64)
        )
    assert node.store.verify_audit_chain() == seqs[0]
    with node.engine.begin() as connection:
        row = connection.execute(select(t.audit_log).where(t.audit_log.c.seq == seqs[0])).one()
        forged = _audit_hash(row.prev_hash, row.at, row.actor, row.action, row.subject, row.detail)
        connection.execute(update(t.audit_log).where(t.audit_log.c.seq == seqs[0]).values(entry_hash=forged))
    assert node.store.verify_audit_chain() == seqs[1]


def test_sqlite_a_deleted_entry_is_found_at_the_entry_after_it(make_node: Callable[..., Node], sqlite_url: str) -> None:
    node = make_node(sqlite_url)
    seqs = _three_entries(node)
    with node.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        connection.execute(delete(t.audit_log).where(t.audit_log.c.seq == seqs[1]))
    assert node.store.verify_audit_chain() == seqs[2]


def test_postgres_tampering_with_the_trigger_disabled_is_found(
    make_node: Callable[..., Node], postgres_url: str
) -> None:
    node = make_node(postgres_url)
    seqs = _three_entries(node)
    with node.engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        connection.execute(update(t.audit_log).where(t.audit_log.c.seq == seqs[2]).values(actor="intruder"))
    assert node.store.verify_audit_chain() == seqs[2]


def test_audit_entries_name_ids_never_urls(node: Node, clock: ManualClock) -> None:
    hosts = ("nl", "de", "unknown", "br")
    item_ids = submit(node, *(f"https://{h}.host.example{p}" for h, p in zip(hosts, SECRET_PATHS, strict=True)))
    nl, de, unknown, br = item_ids
    for item_id in (nl, de, br):
        node.cases.assess(ANALYST, item_id, NATIONAL)
    node.cases.assess(ANALYST, unknown, Assessment(Classification.NOT_ILLEGAL))
    node.cases.record_action(ANALYST, nl, NewAction(ActionType.LEA_NOTIFIED, note="called the duty officer"))
    node.cases.record_action(ANALYST, nl, NewAction(ActionType.MOVED, moved_to_country="DE"))
    rows = entries(node)
    assert len(rows) == 7
    text_of_log = "\n".join(f"{actor} {action} {subject} {detail}" for _, actor, action, subject, detail in rows)
    assert "://" not in text_of_log and "host.example" not in text_of_log
    assert not any(path.split("/")[1] in text_of_log for path in SECRET_PATHS)
    assert rows[0][4] == ",".join(item_ids)  # the report's entry lists its items by id
    with node.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(t.audit_log)).scalar_one()
    assert count == 7
