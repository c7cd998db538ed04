"""A stateful property test of CaseService on SQLite: random reports, assessments, actions, holds, overrides,
clock moves and escalations keep the workflow's invariants. Refusals (DomainError) are expected moves."""

from __future__ import annotations

import itertools
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, precondition, rule
from sqlalchemy import select

from node.app import build_node
from node.cases.model import CLOSED_STATES, ActionType, Assessment, Classification, Item, ItemState
from node.cases.requests import HostingOverride, NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.errors import DomainError
from node.hosting import HostingFacts, StaticResolver
from node.store import schema as t
from tests.conftest import ANALYST, HOSTING, INTAKE, LEA, START, node_config

# Mostly hosts this node handles itself (NL domestic, BR fallback), so runs reach the NTD and its deadline.
URLS = [
    *(f"https://nl.host.example/{p}" for p in ("a", "b?id=1", "c")),
    *(f"https://br.host.example/{p}" for p in ("a", "b")),
    *(f"https://{host}/a" for host in HOSTING if host not in ("nl.host.example", "br.host.example")),
    "https://unknown.host.example/a",
]
ACTIONS = [a for a in ActionType if a is not ActionType.NOT_ILLEGAL]
COUNTRIES = ["NL", "DE", "FR", "BR", "US"]
DEADLINE = timedelta(hours=72)


class CaseWorkflow(RuleBasedStateMachine):
    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = ManualClock(START)
        url = f"sqlite+pysqlite:///{Path(self.tmp.name) / 'node.db'}"
        self.node = build_node(node_config(url), clock=self.clock, resolver=StaticResolver(HOSTING))
        self.closed: dict[str, ItemState] = {}
        self.baseline: set[str] = set()
        self.last_seq = 0
        self.refusals = 0
        self.escalations = 0
        self.item_ids: set[str] = set()

    def teardown(self) -> None:
        self.node.executor.shutdown(wait=False)
        self.node.engine.dispose()
        self.tmp.cleanup()

    def _all_items(self) -> list[Item]:
        return self.node.cases.list_items(state=None, hosting_country=None, after_item_id="", limit=10_000)

    # ------------------------------------------------------------------------------------------ rules

    # A few cases, worked on often, rather than many cases that are only reported.
    @precondition(lambda self: len(self.item_ids) < 6)
    @rule(target=items, urls=st.lists(st.sampled_from(URLS), min_size=1, max_size=2))
    def submit(self, urls: list[str]) -> object:
        report = self.node.cases.submit_report(INTAKE, NewReport(tuple(NewUrl(u) for u in urls)))
        assert len(report.items) == len(urls)
        self.item_ids.update(i.item_id for i in report.items)
        return multiple(*dict.fromkeys(i.item_id for i in report.items))

    @rule(item_id=items, classification=st.sampled_from(list(Classification)))
    def assess(self, item_id: str, classification: Classification) -> None:
        try:
            item = self.node.cases.assess(ANALYST, item_id, Assessment(classification))
        except DomainError:
            self.refusals += 1
            return
        assert item.classification is classification
        if classification is Classification.BASELINE:
            self.baseline.add(item_id)

    @rule(item_id=items, action=st.sampled_from(ACTIONS), country=st.sampled_from(COUNTRIES))
    def record_action(self, item_id: str, action: ActionType, country: str) -> None:
        moved_to = country if action is ActionType.MOVED else ""
        try:
            item, recorded = self.node.cases.record_action(
                ANALYST, item_id, NewAction(action, moved_to_country=moved_to)
            )
        except DomainError:
            self.refusals += 1
            return
        assert recorded.type is action and item.actions[-1] == recorded

    @rule(
        item_id=items,
        classification=st.sampled_from([Classification.NATIONAL, Classification.BASELINE]),
        steps=st.integers(min_value=1, max_value=3),
    )
    def progress(self, item_id: str, classification: Classification, steps: int) -> None:
        """Up to `steps` ordinary next steps for the item, so that runs often reach the NTD and its deadline."""
        for _ in range(steps):
            state = self.node.cases.get_item(item_id).state
            try:
                if state is ItemState.AWAITING_ASSESSMENT:
                    self.node.cases.assess(ANALYST, item_id, Assessment(classification))
                    if classification is Classification.BASELINE:
                        self.baseline.add(item_id)
                elif state is ItemState.AWAITING_LEA:
                    self.node.cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED))
                elif state is ItemState.LEA_NOTIFIED:
                    self.node.cases.record_action(ANALYST, item_id, NewAction(ActionType.HP_NOTIFIED))
                else:
                    return
            except DomainError:  # an active hold, or a BASELINE item assessed NATIONAL
                self.refusals += 1
                return

    @rule(item_id=items, hours=st.none() | st.integers(min_value=1, max_value=100))
    def place_hold(self, item_id: str, hours: int | None) -> None:
        until = None if hours is None else self.clock.now() + timedelta(hours=hours)
        try:
            self.node.cases.place_hold(LEA, item_id, until, "LEA-REF")
        except DomainError:
            self.refusals += 1

    @rule(item_id=items)
    def release_hold(self, item_id: str) -> None:
        try:
            item = self.node.cases.release_hold(LEA, item_id)
        except DomainError:
            self.refusals += 1
            return
        assert item.active_hold is None

    @rule(item_id=items, country=st.sampled_from(COUNTRIES))
    def override_hosting(self, item_id: str, country: str) -> None:
        facts = HostingFacts(None, country, None, None, False, "analyst")
        try:
            self.node.cases.override_hosting(ANALYST, item_id, HostingOverride(facts, "checked by hand"))
        except DomainError:
            self.refusals += 1

    @rule(hours=st.sampled_from([0, 1, 6, 24, 72, 100]), scheduler_runs=st.booleans())
    def advance(self, hours: int, scheduler_runs: bool) -> None:
        self.clock.advance(timedelta(hours=hours))
        if scheduler_runs:  # as the deadline job would, once time has passed
            self.escalate()

    @rule()
    def escalate(self) -> None:
        now = self.clock.now()
        escalated = self.node.cases.escalate_overdue()
        for item_id in escalated:
            item = self.node.cases.get_item(item_id)
            assert item.state is ItemState.NTD_SENT and item.deadline_at is not None and item.deadline_at <= now
            assert item.escalated_at == now
        assert self.node.cases.escalate_overdue() == []  # idempotent
        self.escalations += len(escalated)

    # ------------------------------------------------------------------------------------------ invariants

    @invariant()
    def workflow_invariants(self) -> None:
        items = self._all_items()  # read once per step; each check below is one invariant
        self._closed_items_never_reopen(items)
        self._baseline_stays_baseline(items)
        self._at_most_one_open_item_per_url(items)
        self._items_assigned_elsewhere_are_referred(items)
        self._ntd_sent_items_have_a_72_hour_deadline(items)
        self._events_are_strictly_ordered_and_append_only()
        assert self.node.store.verify_audit_chain() is None

    def _closed_items_never_reopen(self, items: list[Item]) -> None:
        for item in items:
            if item.item_id in self.closed:
                assert item.state is self.closed[item.item_id], f"{item.item_id} reopened as {item.state}"
            elif item.state in CLOSED_STATES:
                assert item.closed_at is not None
                self.closed[item.item_id] = item.state

    def _baseline_stays_baseline(self, items: list[Item]) -> None:
        by_id = {item.item_id: item for item in items}
        for item_id in self.baseline:
            assert by_id[item_id].classification is Classification.BASELINE

    def _at_most_one_open_item_per_url(self, items: list[Item]) -> None:
        open_urls = Counter(i.url for i in items if i.is_open and not i.origin_item_id)
        assert all(n == 1 for n in open_urls.values()), open_urls
        with self.node.engine.connect() as connection:
            rows = connection.execute(select(t.items.c.state, t.items.c.is_open, t.items.c.closed_at)).all()
        for state, is_open, closed_at in rows:
            assert is_open == (ItemState(state) not in CLOSED_STATES)
            assert (closed_at is None) == is_open

    def _items_assigned_elsewhere_are_referred(self, items: list[Item]) -> None:
        for item in items:
            if item.assigned_node != "nl-hotline":
                assert item.state is ItemState.REFERRED and item.referred_to == item.assigned_node
            if item.state is ItemState.REFERRED:
                assert item.assigned_node in ("de-hotline", "fr-hotline-a")

    def _ntd_sent_items_have_a_72_hour_deadline(self, items: list[Item]) -> None:
        for item in items:
            if item.state is ItemState.NTD_SENT:
                assert item.ntd_sent_at is not None and item.deadline_at == item.ntd_sent_at + DEADLINE

    def _events_are_strictly_ordered_and_append_only(self) -> None:
        with self.node.store.transaction(read_only=True) as tx:
            events = tx.list_events(after_seq=0, limit=100_000)
            fresh = tx.list_events(after_seq=self.last_seq, limit=100_000)
        seqs = [e.seq for e in events]
        assert all(b > a for a, b in itertools.pairwise(seqs))
        assert len({e.event_id for e in events}) == len(events)
        assert fresh == [e for e in events if e.seq > self.last_seq]
        if seqs:
            assert seqs[-1] >= self.last_seq
            self.last_seq = seqs[-1]


CaseWorkflow.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    database=None,  # no example database written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestCaseWorkflow = CaseWorkflow.TestCase
