"""The world model's policy levers, each shown changing what it should in a deterministic run: working hours
with time zones, provider responses by who sends the notice (in country or from abroad), repeated notices and
the node's escalation, and a country joining the network within a run."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select

from node.store import schema as t
from simulator.runner import RunResult, run_deterministic
from simulator.scenario import Scenario, parse_scenario
from simulator.world import Stage, build_workload
from tests.simulator.small_scenarios import NO_MEMBER, TWO_MEMBERS

pytestmark = pytest.mark.timeout(180)


def _scenario(text: str) -> Scenario:
    return parse_scenario(tomllib.loads(text))


def _run(scenario: Scenario, where: Path) -> tuple[RunResult, dict[str, dict[str, str]]]:
    result = run_deterministic(scenario, where)
    assert result.ok, {r.name: r.violations for r in result.invariants if not r.ok}
    with (result.run_dir / "items.csv").open() as handle:
        return result, {row["item"]: row for row in csv.DictReader(handle)}


def _hours_to_removal(row: dict[str, str]) -> float | None:
    return (float(row["removed_s"]) - float(row["reported_s"])) / 3600 if row["removed_s"] else None


def _hosted_in(rows: dict[str, dict[str, str]], code: str) -> dict[str, dict[str, str]]:
    return {k: r for k, r in rows.items() if r["hosting_country"] == code and r["illegal"] == "1"}


# ------------------------------------------------------------------------------------------ working hours


def _work_times(run_dir: Path, node: str) -> list[datetime]:
    """When the node's own case system assessed an item, notified the police or sent a notice."""
    engine = create_engine(f"sqlite:///{run_dir}/nodes/{node}/node.db")
    actor = f"case-system-{node}"
    try:
        with engine.connect() as connection:
            assessed = connection.execute(
                select(t.assessments.c.assessed_at).where(t.assessments.c.assessed_by == actor)
            ).scalars()
            acted = connection.execute(
                select(t.actions.c.occurred_at).where(
                    t.actions.c.actor == actor, t.actions.c.type.in_(["LEA_NOTIFIED", "HP_NOTIFIED"])
                )
            ).scalars()
            return [*assessed, *acted]
    finally:
        engine.dispose()


def test_with_office_hours_no_work_falls_outside_them_in_the_hotlines_time_zone(tmp_path: Path) -> None:
    office = '\nhours = { zone = "Europe/Amsterdam", open = "09:00", close = "17:00", '
    office += 'days = ["mon", "tue", "wed", "thu", "fri"] }\n'
    text = TWO_MEMBERS.replace('country = "NL"\n', 'country = "NL"' + office)
    scenario = _scenario(text)
    # From a Friday noon over the weekend.
    scenario = replace(
        scenario,
        simulation=replace(scenario.simulation, start="2026-03-06T12:00:00Z", duration_hours=60, max_reports=40),
    )
    result, _ = _run(scenario, tmp_path / "hours")
    amsterdam = ZoneInfo("Europe/Amsterdam")
    nl = [w.astimezone(amsterdam) for w in _work_times(result.run_dir, "nl-hotline")]
    assert len(nl) >= 10
    assert all(w.weekday() < 5 and 9 <= w.hour < 17 for w in nl), sorted(nl)
    # Monday's opening takes the weekend's work.
    assert any(w.weekday() == 0 and w.hour == 9 for w in nl)
    # The other hotline works around the clock, weekend included.
    de = _work_times(result.run_dir, "de-hotline")
    assert any(w.astimezone(amsterdam).weekday() >= 5 for w in de)


# ------------------------------------------------------------------------------------------ who sends the notice


def _with_country(scenario: Scenario, code: str, **changes: Any) -> Scenario:
    countries = tuple(replace(c, **changes) if c.code == code else c for c in scenario.countries)
    return replace(scenario, countries=countries)


def test_a_notice_from_abroad_is_answered_later_or_not_at_all(tmp_path: Path) -> None:
    base = _scenario(NO_MEMBER)
    abroad = _with_country(base, "PA", abroad_delay_factor=4.0, abroad_ignored_share=0.5)
    _, before = _run(base, tmp_path / "base")
    _, after = _run(abroad, tmp_path / "abroad")
    panama_before, panama_after = _hosted_in(before, "PA"), _hosted_in(after, "PA")
    assert len(panama_before) >= 8 and panama_before.keys() == panama_after.keys()
    assert all(r["route"] == "fallback" for r in panama_before.values())
    removed_before = {k: _hours_to_removal(r) for k, r in panama_before.items()}
    removed_after = {k: _hours_to_removal(r) for k, r in panama_after.items()}
    assert all(h is not None for h in removed_before.values())
    ignored = [k for k, h in removed_after.items() if h is None]
    answered = [k for k, h in removed_after.items() if h is not None]
    assert ignored and answered
    for key in answered:  # the same item, answered four times slower
        assert removed_after[key] > removed_before[key]  # type: ignore[operator]
    # Members' own countries' items never see a notice from abroad: unchanged, byte for byte.
    others = [k for k, r in before.items() if r["hosting_country"] != "PA"]
    assert [before[k] for k in others] == [after[k] for k in others]


def test_re_sent_notices_and_the_escalation_get_answers_that_a_single_notice_does_not(tmp_path: Path) -> None:
    text = (
        NO_MEMBER
        + """
[[countries]]
code = "BZ"
hosting_share = 0.4
provider = { median_hours = 5, sigma = 0.5 }
unresponsive_share = 1
escalation_response_share = 1

[[countries]]
code = "CU"
hosting_share = 0.4
provider = { median_hours = 5, sigma = 0.5 }
unresponsive_share = 1
"""
    )
    scenario = _scenario(text.replace("[world]\n", "[world]\nresend_hours = 24\n"))
    # Panama answers none of the first notices, and each re-sent one (daily) with a chance of one half.
    scenario = _with_country(scenario, "PA", unresponsive_share=1.0, resend_response_share=0.5)
    _, rows = _run(scenario, tmp_path / "resend")
    panama = [_hours_to_removal(r) for r in _hosted_in(rows, "PA").values()]
    belize = [_hours_to_removal(r) for r in _hosted_in(rows, "BZ").values()]
    cuba = [_hours_to_removal(r) for r in _hosted_in(rows, "CU").values()]
    assert len(panama) >= 3 and len(belize) >= 3 and len(cuba) >= 3
    assert all(h is None for h in cuba)  # silent, and nothing more is tried
    # Each answer came after a re-sent notice, a day or more after the first ...
    assert any(h is not None for h in panama)
    assert all(h is None or h > 24 for h in panama)
    # ... or after the node's escalation at the 72-hour removal deadline.
    assert all(h is not None and h > 72 for h in belize)


def test_a_stage_answers_the_first_notice_that_gets_a_response() -> None:
    silent = Stage("PA", True, 1.0, 0.0, None, abroad_provider_h=None, answered_resend=3, resend_h=2.0)
    assert silent.response_h(abroad=False, resend_hours=0, escalation_h=72) is None  # no re-sends
    assert silent.response_h(abroad=False, resend_hours=24, escalation_h=72) == 3 * 24 + 2.0
    escalated = replace(silent, escalation_h=5.0)
    assert escalated.response_h(abroad=True, resend_hours=24, escalation_h=72) == 3 * 24 + 2.0  # the earlier
    assert escalated.response_h(abroad=True, resend_hours=0, escalation_h=72) == 72 + 5.0
    slow_abroad = Stage("PA", True, 1.0, 0.0, 10.0, abroad_provider_h=40.0)
    assert slow_abroad.response_h(abroad=False, resend_hours=24, escalation_h=72) == 10.0
    assert slow_abroad.response_h(abroad=True, resend_hours=24, escalation_h=72) == 40.0


def test_the_notice_levers_change_only_the_draws_that_read_them() -> None:
    base = _scenario(NO_MEMBER)
    abroad = _with_country(base, "PA", abroad_delay_factor=3.0)
    before = {p.key: p for p in build_workload(base).iter_reports()}
    after = {p.key: p for p in build_workload(abroad).iter_reports()}
    for key, plan in before.items():
        stage, changed = plan.stages[0], after[key].stages[0]
        assert changed.provider_h == stage.provider_h
        if stage.hosting_country == "PA" and stage.abroad_provider_h is not None:
            assert changed.abroad_provider_h == pytest.approx(3.0 * stage.abroad_provider_h)


# ------------------------------------------------------------------------------------------ joining


def test_items_hosted_in_a_country_that_joins_are_removed_after_the_join_and_not_before(tmp_path: Path) -> None:
    # Panama's providers ignore notices from abroad; its own hotline joins twelve hours in.
    without = _with_country(_scenario(NO_MEMBER), "PA", abroad_ignored_share=1.0)
    joining = _scenario(
        NO_MEMBER
        + '\n[[hotlines]]\nnode_id = "pa-hotline"\ncountry = "PA"\n'
        + '\n[[faults]]\nkind = "join"\nnodes = ["pa-hotline"]\nat_hours = 12\n'
    )
    joining = _with_country(joining, "PA", abroad_ignored_share=1.0)
    _, alone = _run(without, tmp_path / "without")
    result, joined = _run(joining, tmp_path / "joining")
    assert alone.keys() == joined.keys()  # the same items (Panama has no reports of its own)
    panama = _hosted_in(alone, "PA")
    assert all(alone[k]["removed_s"] == "" for k in panama)  # without a hotline of its own: never
    # Routed before the join: a notice from abroad, ignored. After: referred to Panama's hotline, removed.
    fallback = [k for k in panama if joined[k]["route"] == "fallback"]
    referred = [k for k in panama if joined[k]["route"] == "referral"]
    assert len(fallback) >= 3 and len(referred) >= 3 and len(fallback) + len(referred) == len(panama)
    assert all(joined[k]["removed_s"] == "" for k in fallback)
    assert all(joined[k]["removed_s"] != "" for k in referred)
    assert all(float(joined[k]["referred_s"]) >= 12 * 3600 for k in referred)
    assert all(k in referred for k in panama if float(joined[k]["reported_s"]) > 12 * 3600)
    faults = (result.run_dir / "faults.csv").read_text()
    assert "join" in faults and "pa-hotline joined in roster v2" in faults


# ------------------------------------------------------------------------------------------ exchange cadence


def test_a_hotline_that_batches_its_referrals_sends_them_only_at_the_batch_times(tmp_path: Path) -> None:
    text = TWO_MEMBERS.replace('country = "NL"\n', 'country = "NL"\nreferral_batch_times = ["06:00", "18:00"]\n')
    _, rows = _run(_scenario(text), tmp_path / "batched")
    referred = [r for r in rows.values() if r["route"] == "referral" and r["delivered_s"]]
    from_nl = [r for r in referred if r["origin_node"] == "nl-hotline"]
    from_de = [r for r in referred if r["origin_node"] == "de-hotline"]
    assert len(from_nl) >= 4 and len(from_de) >= 4
    for row in from_nl:  # queued whenever the analyst assessed, delivered in the next batch (start: 00:00 UTC)
        delivered, queued = float(row["delivered_s"]), float(row["referred_s"])
        into_batch = delivered % (12 * 3600) - 6 * 3600
        assert 0 <= into_batch < 60, row
        assert delivered - queued < 12 * 3600 + 60
    assert any(float(r["delivered_s"]) - float(r["referred_s"]) > 3600 for r in from_nl)
    # The other hotline's referrals leave at once.
    assert all(float(r["delivered_s"]) - float(r["referred_s"]) < 60 for r in from_de)
