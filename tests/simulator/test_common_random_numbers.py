"""Common random numbers: every draw of the world model comes from a stream named by the item and the
purpose, so a change to one country's parameters changes only the items that country touches; the
workload is generated lazily, and an item's plan can be derived again from its URL."""

from __future__ import annotations

import csv
import itertools
import tomllib
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest

from simulator.runner import run_deterministic
from simulator.scenario import Delay, Scenario, load_scenario, parse_scenario
from simulator.streams import Stream, poisson
from simulator.world import ReportPlan, build_workload
from tests.simulator.small_scenarios import NO_MEMBER

# Jitter and loss on every link for a while: each delivery then draws its fate.
LINK_FAULTS = """
[[faults]]
kind = "latency"
latency_ms = 60000
jitter_ms = 50000
at_hours = 1
duration_hours = 10

[[faults]]
kind = "loss"
loss = 0.5
at_hours = 12
duration_hours = 6
"""


def _scenarios(code: str = "PA", faults: str = "") -> tuple[Scenario, Scenario]:
    """The small scenario, and the same with only one country's providers changed (slower, often silent)."""
    base = parse_scenario(tomllib.loads(NO_MEMBER + faults))
    base = replace(base, world=replace(base.world, move_probability=0.2, lea_hold_probability=0.05))
    countries = tuple(
        replace(c, provider=Delay(40.0, 1.2), unresponsive_share=0.5) if c.code == code else c for c in base.countries
    )
    return base, replace(base, countries=countries)


def _touches(plan: ReportPlan, code: str) -> bool:
    return any(stage.hosting_country == code for stage in plan.stages)


def test_one_countrys_provider_parameters_leave_every_other_countrys_plans_identical() -> None:
    base, changed = _scenarios()
    before = {p.key: p for p in build_workload(base).iter_reports()}
    after = {p.key: p for p in build_workload(changed).iter_reports()}
    assert before.keys() == after.keys()  # the same arrivals, under the same keys
    untouched = [k for k, p in before.items() if not _touches(p, "PA")]
    touched = [k for k, p in before.items() if _touches(p, "PA")]
    assert untouched and touched
    assert all(before[k] == after[k] for k in untouched)
    # Panama's items keep their hosting, legality and analyst; only the provider's response differs.
    assert any(before[k] != after[k] for k in touched)
    for key in touched:
        assert replace(before[key], stages=()) == replace(after[key], stages=())


@pytest.mark.parametrize(
    ("code", "faults"),
    [
        ("PA", ""),  # a country without a member: its items' notices come from abroad
        # A member country, under jitter and loss: its items' messages share the links with everyone's, and
        # each delivery's fate comes from a stream of its own (link and moment), not from a shared generator.
        ("DE", LINK_FAULTS),
    ],
)
def test_one_countrys_provider_parameters_leave_every_other_countrys_rows_of_a_run_identical(
    tmp_path: Path, code: str, faults: str
) -> None:
    base, changed = _scenarios(code, faults)
    plans = {p.key: p for p in build_workload(base).iter_reports()}
    rows = {}
    for name, scenario in (("base", base), ("changed", changed)):
        result = run_deterministic(scenario, tmp_path / name)
        assert result.ok and result.run_summary.drained
        with (result.run_dir / "items.csv").open() as handle:
            rows[name] = {row["item"]: row for row in csv.DictReader(handle)}
    assert rows["base"].keys() == rows["changed"].keys() == plans.keys()
    untouched = [k for k in plans if not _touches(plans[k], code)]
    assert len(untouched) >= 10
    assert [rows["base"][k] for k in untouched] == [rows["changed"][k] for k in untouched]
    # ... while the change itself shows where it should: that country's items are removed later or not at all.
    touched = [k for k in plans if _touches(plans[k], code) and plans[k].classification != "NOT_ILLEGAL"]
    assert any(rows["base"][k] != rows["changed"][k] for k in touched)


def test_a_plan_is_derived_again_from_its_url_alone() -> None:
    workload = build_workload(load_scenario("demo"))
    plans = list(itertools.islice(workload.iter_reports(), 300))
    for plan in plans:
        assert workload.plan_for_url(plan.url) == plan
    url = plans[0].url
    assert workload.plan_for_url(url.replace("https://", "https://other.")) is None  # not the planned host
    assert workload.plan_for_url(url.rsplit("/", 1)[0] + "/00000000.html") is None  # not the planned token
    assert workload.plan_for_url("https://c1.hosting-nl-3.example/gallery/nl-0-99999/0badcafe.html") is None
    assert workload.plan_for_url("https://c1.hosting-zz-3.example/gallery/zz-0-0/0badcafe.html") is None
    assert workload.plan_for_url("https://elsewhere.example/page.html") is None


def test_reports_come_in_arrival_order_and_the_cap_keeps_the_first_ones() -> None:
    scenario = load_scenario("demo")
    everything = list(build_workload(scenario).iter_reports())
    assert [(p.at_h, p.key) for p in everything] == sorted((p.at_h, p.key) for p in everything)
    assert len({p.key for p in everything}) == len({p.url for p in everything}) == len(everything)
    capped = build_workload(replace(scenario, simulation=replace(scenario.simulation, max_reports=25)))
    assert list(capped.iter_reports()) == everything[:25]
    assert capped.planned_count() == 25


def test_a_year_of_reports_is_generated_in_flat_memory() -> None:
    scenario = load_scenario("inhope-2021")
    year = replace(scenario, simulation=replace(scenario.simulation, duration_hours=365 * 24, max_reports=0))
    tracemalloc.start()
    try:
        reports = build_workload(year).iter_reports()
        for _ in itertools.islice(reports, 2_000):
            pass
        _, early_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in itertools.islice(reports, 20_000):
            pass
        _, later_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Ten times the reports, and no more memory than the first ones took (one hour per country in flight).
    assert later_peak < early_peak + 256 * 1024


def test_a_stream_depends_on_its_name_alone() -> None:
    first = [Stream(3, "response", "gb-1-0/0").random() for _ in range(3)]
    assert first == [Stream(3, "response", "gb-1-0/0").random() for _ in range(3)]
    one = Stream(3, "response", "gb-1-0/0")
    draws = [one.random() for _ in range(20)]  # past the first block of eight words
    assert len(set(draws)) == 20 and all(0.0 <= d < 1.0 for d in draws)
    assert Stream(3, "lea", "gb-1-0/0").random() != draws[0]
    assert Stream(4, "response", "gb-1-0/0").random() != draws[0]
    assert Stream(3, "response", "gb-1-1/0").random() != draws[0]


@pytest.mark.parametrize("mean", [0.3, 4.0, 450.0])
def test_poisson_counts_and_normal_draws_have_the_right_moments(mean: float) -> None:
    counts = [poisson(Stream(1, "test", str(i)), mean) for i in range(4000)]
    average = sum(counts) / len(counts)
    variance = sum((c - average) ** 2 for c in counts) / len(counts)
    assert abs(average - mean) < 4 * (mean / len(counts)) ** 0.5  # four standard errors
    assert abs(variance - mean) / mean < 0.15
    normals = [Stream(1, "normal", str(i)).gauss() for i in range(4000)]
    assert abs(sum(normals) / len(normals)) < 4 / len(normals) ** 0.5
    assert abs(sum(z * z for z in normals) / len(normals) - 1) < 0.1
