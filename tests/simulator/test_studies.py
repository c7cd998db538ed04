"""The bundled studies: the settings each README command sweeps apply to its scenario and change what the study
says they change, and nothing else; the calibration scenario observes long enough for the 42-day tail."""

from __future__ import annotations

from simulator.scenario import load_scenario
from simulator.sweep import plan_sweep


def test_the_join_study_has_hong_kong_join_at_the_start_or_after_the_run() -> None:
    plan = plan_sweep(load_scenario("study-join"), ["faults.0.at_hours=10000,0"], seeds=1)
    late, early = (v.scenario for v in plan.variants)
    sim = late.simulation
    assert late.joins_at("hk-hotline") == 10000 > sim.duration_hours + sim.drain_hours
    assert early.joins_at("hk-hotline") == 0
    assert early.receiver_for("HK") == "hk-hotline"
    assert late.country("HK").abroad_delay_factor == 20  # until it joins, notices reach HK from abroad


def test_the_partition_study_cuts_nl_off_for_a_week_or_after_the_run() -> None:
    plan = plan_sweep(load_scenario("study-partition"), ["faults.0.at_hours=10000,24"], seeds=1)
    after, during = (v.scenario.faults[0] for v in plan.variants)
    assert (during.kind, during.mode, during.nodes) == ("partition", "isolate", ("nl-hotline",))
    assert (during.at_hours, during.duration_hours) == (24, 168)
    assert after.at_hours == 10000
    assert during.at_hours + during.duration_hours < load_scenario("study-partition").simulation.duration_hours


def test_the_unresponsive_study_changes_only_nl() -> None:
    base = load_scenario("study-unresponsive")
    plan = plan_sweep(base, ["countries.NL.unresponsive_share=0.05,0.5"], seeds=1)
    shares = [v.scenario.country("NL").unresponsive_share for v in plan.variants]
    assert shares == [0.05, 0.5]
    changed = plan.variants[1].scenario.countries
    assert [c for c in changed if c.code != "NL"] == [c for c in base.countries if c.code != "NL"]


def test_the_exchange_study_sends_at_once_until_every_hotline_is_set_to_batch_daily() -> None:
    base = load_scenario("study-exchange")
    assert all(h.referral_batch_hours == 0 and not h.referral_batch_times for h in base.hotlines)
    settings = [f"hotlines.{h.node_id}.referral_batch_hours=24" for h in base.hotlines]
    daily = plan_sweep(base, settings, seeds=1).variants[0].scenario
    assert [h.referral_batch_hours for h in daily.hotlines] == [24.0] * len(base.hotlines)


def test_the_calibration_observes_past_the_42_day_tail() -> None:
    sim = load_scenario("calibration").simulation
    assert sim.drain_hours > 42 * 24 + 7 * 24  # the last report is watched more than 49 days
