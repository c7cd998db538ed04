"""A property test of the case state machine: random sequences of calls keep the workflow's invariants."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from node.app import build_node
from node.cases.model import ActionType, Assessment, Classification, ItemState
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from node.errors import DomainError
from node.hosting import StaticResolver
from node.store import schema as t
from tests.conftest import ANALYST, HOSTING, INTAKE, LEA, START, node_config

URLS = [f"https://{h}.host.example/{p}" for h in ("nl", "de", "br", "unknown") for p in ("a", "b")]
ACTIONS = [a for a in ActionType if a is not ActionType.NOT_ILLEGAL]


class CaseMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.clock = ManualClock(START)
        url = f"sqlite+pysqlite:///{Path(self.dir.name) / 'node.db'}"
        self.node = build_node(node_config(url), clock=self.clock, resolver=StaticResolver(HOSTING))
        self.item_ids: list[str] = []
        self.closed: set[str] = set()
        self.baseline: set[str] = set()

    def teardown(self) -> None:
        if hasattr(self, "node"):
            self.node.executor.shutdown(wait=False)
            self.node.engine.dispose()
            self.dir.cleanup()

    def _pick(self, index: int) -> str | None:
        return self.item_ids[index % len(self.item_ids)] if self.item_ids else None

    @rule(url=st.sampled_from(URLS))
    def report(self, url: str) -> None:
        report = self.node.cases.submit_report(INTAKE, NewReport((NewUrl(url),)))
        for item in report.items:
            if item.item_id not in self.item_ids:
                self.item_ids.append(item.item_id)

    @rule(index=st.integers(0, 50), classification=st.sampled_from(list(Classification)))
    def assess(self, index: int, classification: Classification) -> None:
        item_id = self._pick(index)
        if item_id is None:
            return
        try:
            item = self.node.cases.assess(ANALYST, item_id, Assessment(classification))
        except DomainError:
            return
        if item.classification is Classification.BASELINE:
            self.baseline.add(item_id)

    @rule(index=st.integers(0, 50), action=st.sampled_from(ACTIONS), country=st.sampled_from(["NL", "DE", "BR"]))
    def act(self, index: int, action: ActionType, country: str) -> None:
        item_id = self._pick(index)
        if item_id is None:
            return
        moved = country if action is ActionType.MOVED else ""
        try:
            self.node.cases.record_action(ANALYST, item_id, NewAction(action, moved_to_country=moved))
        except DomainError:
            return

    @rule(index=st.integers(0, 50), hours=st.sampled_from([None, 1, 48]))
    def hold(self, index: int, hours: int | None) -> None:
        item_id = self._pick(index)
        if item_id is None:
            return
        until = self.clock.now() + timedelta(hours=hours) if hours else None
        try:
            self.node.cases.place_hold(LEA, item_id, until, "op")
        except DomainError:
            try:
                self.node.cases.release_hold(LEA, item_id)
            except DomainError:
                return

    @rule(hours=st.sampled_from([1, 30, 80]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.node.cases.escalate_overdue()

    @invariant()
    def the_workflow_holds(self) -> None:
        if not hasattr(self, "node"):
            return
        open_urls: set[str] = set()
        for item_id in self.item_ids:
            item = self.node.cases.get_item(item_id)
            if item_id in self.closed:
                assert not item.is_open, "a closed item reopened"
            if not item.is_open:
                self.closed.add(item_id)
            else:
                assert item.url not in open_urls, "two open items for one URL"
                open_urls.add(item.url)
            if item_id in self.baseline:
                assert item.classification is Classification.BASELINE, "BASELINE was overruled"
            if item.assigned_node != "nl-hotline":
                assert item.state is ItemState.REFERRED
            if item.state is ItemState.NTD_SENT:
                assert item.ntd_sent_at is not None and item.deadline_at == item.ntd_sent_at + timedelta(hours=72)
        with self.node.engine.connect() as connection:
            seqs = [r.seq for r in connection.execute(select(t.events.c.seq).order_by(t.events.c.seq))]
        assert seqs == sorted(set(seqs))
        assert self.node.store.verify_audit_chain() is None


CaseMachine.TestCase.settings = settings(
    max_examples=20, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestCaseMachine = CaseMachine.TestCase
