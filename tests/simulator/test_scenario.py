"""Scenario files: the bundled ones load and round-trip; a bad file gets an error naming the field; the
world model gives the same workload for the same seed, calibrated to the published volume, with only
synthetic URLs and documentation addresses."""

from __future__ import annotations

import ipaddress
import runpy
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.scenario import ScenarioError, bundled_scenarios, load_scenario, parse_scenario, to_toml
from simulator.world import SimResolver, build_workload

BUNDLED = [
    "calibration",
    "demo",
    "inhope-2021",
    "inhope-2024",
    "partition",
    "revocation",
    "rogue-member",
    "study-exchange",
    "study-join",
    "study-partition",
    "study-unresponsive",
]
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def test_every_bundled_scenario_is_listed_loads_and_round_trips() -> None:
    assert sorted(bundled_scenarios()) == BUNDLED
    for name in BUNDLED:
        scenario = load_scenario(name)
        assert scenario.simulation.name == name
        assert parse_scenario(tomllib.loads(to_toml(scenario))) == scenario


def test_inhope_2021_has_46_hotlines_in_42_member_countries_and_non_member_hosting() -> None:
    scenario = load_scenario("inhope-2021")
    assert len(scenario.members) == 46
    member_countries = {h.country for h in scenario.members}
    assert len(member_countries) == 42
    assert sum(1 for h in scenario.members if h.country == "DE") > 1
    assert scenario.receiver_for("DE") == "de-hotline-1"
    non_members = [c for c in scenario.countries if c.code not in member_countries]
    assert non_members and all(c.hosting_share > 0 and c.report_share == 0 for c in non_members)


def test_inhope_2024_has_55_hotlines_in_51_countries_and_traces_content_to_86() -> None:
    scenario = load_scenario("inhope-2024")
    assert len(scenario.members) == 55
    member_countries = {h.country for h in scenario.members}
    assert len(member_countries) == 51
    assert sum(c.hosting_share > 0 for c in scenario.countries) == 86
    assert scenario.simulation.annual_reports == 2_497_438
    world = scenario.world
    assert world.known_share == 0.63  # 37% new content
    illegal = world.known_share + (1 - world.known_share) * world.illegal_share
    assert abs(illegal - 0.65) < 0.001


def test_inhope_2024_is_what_its_script_writes() -> None:
    script = Path(__file__).parents[2] / "scripts" / "gen_inhope_2024.py"
    namespace = runpy.run_path(str(script))  # not as __main__: it writes nothing
    bundled = Path(__file__).parents[2] / "simulator" / "scenarios" / "inhope-2024.toml"
    assert namespace["render"]() == bundled.read_text()


def _minimal() -> dict[str, Any]:
    return {
        "simulation": {"name": "t"},
        "countries": [{"code": "NL", "report_share": 1.0, "hosting_share": 1.0}],
        "hotlines": [{"node_id": "nl-hotline", "country": "NL"}],
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda r: r.update(colour="red"), "colour", "unknown field"),
        (lambda r: r["simulation"].update(seed="one"), "simulation.seed", "whole number"),
        (lambda r: r["simulation"].update(clock_scale=0), "simulation.clock_scale", "positive"),
        (lambda r: r["simulation"].update(start="yesterday"), "simulation.start", "ISO 8601"),
        (lambda r: r["simulation"].pop("name"), "simulation.name", "required"),
        (
            lambda r: r["world"].update(known_share=1.5) if "world" in r else r.update(world={"known_share": 1.5}),
            "world.known_share",
            "between 0 and 1",
        ),
        (
            lambda r: r.update(world={"analyst_delay": {"median_hours": -1}}),
            "world.analyst_delay.median_hours",
            "negative",
        ),
        (
            lambda r: r.update(world={"fallback": "refer", "fallback_node": "nobody"}),
            "world.fallback_node",
            "must name a hotline",
        ),
        (lambda r: r["countries"][0].update(code="nl"), "countries[0].code", "alpha-2"),
        (lambda r: r["countries"].append({"code": "NL"}), "countries[1].code", "twice"),
        (lambda r: r["countries"][0].update(hosting_share=-1), "countries[0].hosting_share", "negative"),
        (lambda r: r["hotlines"][0].update(country="DE"), "hotlines[0].country", "not in [[countries]]"),
        (lambda r: r["hotlines"][0].update(node_id="NL Hotline"), "hotlines[0].node_id", "a-z"),
        (lambda r: r["hotlines"][0].update(link_latency_ms=-5), "hotlines[0].link_latency_ms", "negative"),
        (lambda r: r["simulation"].update(link_latency_ms=-1), "simulation.link_latency_ms", "negative"),
        (lambda r: r["simulation"].update(api_latency_ms=-1), "simulation.api_latency_ms", "negative"),
        (lambda r: r.update(hotlines="nl"), "hotlines", "array of tables"),
        (lambda r: r.update(faults=[{"kind": "meteor", "at_hours": 1}]), "faults[0].kind", "one of"),
        (
            lambda r: r.update(faults=[{"kind": "crash", "at_hours": 1, "duration_hours": 1}]),
            "faults[0].nodes",
            "names its nodes",
        ),
        (
            lambda r: r.update(faults=[{"kind": "crash", "at_hours": 1, "nodes": ["nl-hotline"]}]),
            "faults[0].duration_hours",
            "needs a duration",
        ),
        (
            lambda r: r.update(faults=[{"kind": "crash", "at_hours": 1, "duration_hours": 1, "nodes": ["zz"]}]),
            "faults[0].nodes",
            "not a hotline",
        ),
        (
            lambda r: r.update(
                faults=[{"kind": "rogue", "at_hours": 1, "nodes": ["nl-hotline"], "attacks": ["forged"]}]
            ),
            "faults[0].nodes",
            "rogue = true",
        ),
        (
            lambda r: r.update(faults=[{"kind": "loss", "at_hours": 1, "duration_hours": 1, "loss": 2}]),
            "faults[0].loss",
            "between 0 and 1",
        ),
        # The policy levers: working hours, provider responses, repeated notices, members joining.
        (lambda r: r["hotlines"][0].update(hours={"zone": "Mars/Olympus"}), "hotlines[0].hours.zone", "time zone"),
        (lambda r: r["hotlines"][0].update(hours={"zone": "../etc"}), "hotlines[0].hours.zone", "time zone"),
        (lambda r: r["hotlines"][0].update(hours={"open": "9am"}), "hotlines[0].hours.open", "HH:MM"),
        (lambda r: r["hotlines"][0].update(hours={"close": "24:30"}), "hotlines[0].hours.close", "HH:MM"),
        (
            lambda r: r["hotlines"][0].update(hours={"open": "17:00", "close": "09:00"}),
            "hotlines[0].hours.close",
            "after open",
        ),
        (lambda r: r["hotlines"][0].update(hours={"days": ["monday"]}), "hotlines[0].hours.days", "one of mon"),
        (lambda r: r["hotlines"][0].update(hours={"days": []}), "hotlines[0].hours.days", "at least one"),
        (lambda r: r["hotlines"][0].update(hours={"days": ["mon", "mon"]}), "hotlines[0].hours.days", "twice"),
        (lambda r: r["hotlines"][0].update(hours="9-5"), "hotlines[0].hours", "must be a table"),
        (lambda r: r.update(world={"resend_hours": -24}), "world.resend_hours", "negative"),
        (
            lambda r: r["hotlines"][0].update(referral_batch_hours=-1),
            "hotlines[0].referral_batch_hours",
            "168 hours",
        ),
        (
            lambda r: r["hotlines"][0].update(referral_batch_times=["18h"]),
            "hotlines[0].referral_batch_times",
            "HH:MM",
        ),
        (
            lambda r: r["hotlines"][0].update(referral_batch_times=["24:00"]),
            "hotlines[0].referral_batch_times",
            "use 00:00",
        ),
        (
            lambda r: r["hotlines"][0].update(referral_batch_hours=24, referral_batch_times=["18:00"]),
            "hotlines[0].referral_batch_times",
            "not both",
        ),
        (
            lambda r: r["countries"][0].update(abroad_delay_factor=0),
            "countries[0].abroad_delay_factor",
            "positive",
        ),
        (
            lambda r: r["countries"][0].update(abroad_ignored_share=1.2),
            "countries[0].abroad_ignored_share",
            "between 0 and 1",
        ),
        (
            lambda r: r["countries"][0].update(resend_response_share=-0.1),
            "countries[0].resend_response_share",
            "between 0 and 1",
        ),
        (
            lambda r: r["countries"][0].update(escalation_response_share=2),
            "countries[0].escalation_response_share",
            "between 0 and 1",
        ),
        (lambda r: r.update(faults=[{"kind": "join", "at_hours": 5}]), "faults[0].nodes", "names its nodes"),
        (
            lambda r: r.update(faults=[{"kind": "join", "at_hours": 5, "nodes": ["nl-hotline"]}]),
            "faults",
            "founding member",
        ),
        (
            lambda r: (
                r["hotlines"].append({"node_id": "de-hotline", "country": "NL", "designated": True}),
                r.update(faults=[{"kind": "join", "at_hours": t, "nodes": ["de-hotline"]} for t in (1, 2)]),
            ),
            "faults[1].nodes",
            "joins twice",
        ),
    ],
)
def test_a_bad_scenario_gets_an_error_naming_the_field(change: Any, field: str, message: str) -> None:
    raw = _minimal()
    change(raw)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw)
    assert caught.value.field == field
    assert message in caught.value.message


def test_a_country_with_several_hotlines_needs_one_designated_receiver() -> None:
    raw = _minimal()
    raw["hotlines"].append({"node_id": "nl-hotline-2", "country": "NL"})
    with pytest.raises(ScenarioError, match="exactly one needs designated") as caught:
        parse_scenario(raw)
    assert caught.value.field == "countries[0]"


def test_the_cli_names_the_field_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[simulation]\nname = "x"\nclock_scale = "fast"\n')
    result = CliRunner().invoke(app, ["show-config", str(bad)])
    assert result.exit_code == 2
    assert "simulation.clock_scale" in result.output
    missing = CliRunner().invoke(app, ["run", "no-such-scenario"])
    assert missing.exit_code == 2
    assert "no bundled scenario 'no-such-scenario'" in missing.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[simulation\n")
    assert CliRunner().invoke(app, ["show-config", str(broken)]).exit_code == 2


def test_show_config_prints_every_default() -> None:
    result = CliRunner().invoke(app, ["show-config", "demo"])
    assert result.exit_code == 0
    resolved = tomllib.loads(result.output)
    assert resolved["world"]["known_share"] == 0.12
    assert resolved["simulation"]["post_quantum"] is False  # a default the file leaves out
    assert {f["kind"] for f in resolved["faults"]} == {"crash", "partition"}
    # The policy levers' defaults: today's behaviour.
    assert resolved["world"]["resend_hours"] == 0
    country = resolved["countries"][0]
    assert (country["abroad_delay_factor"], country["abroad_ignored_share"]) == (1.0, 0.0)
    assert (country["resend_response_share"], country["escalation_response_share"]) == (0.0, 0.0)
    hotline = resolved["hotlines"][0]
    assert hotline["hours"] == {
        "zone": "UTC",
        "open": "00:00",
        "close": "24:00",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }
    assert (hotline["referral_batch_hours"], hotline["referral_batch_times"]) == (0.0, [])


def test_a_bad_lever_gets_one_line_naming_the_field_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[simulation]\nname = "x"\n[[countries]]\ncode = "NL"\nreport_share = 1\nhosting_share = 1\n'
        '[[hotlines]]\nnode_id = "nl-hotline"\ncountry = "NL"\nhours = { zone = "Europe/Nowhere" }\n'
    )
    result = CliRunner().invoke(app, ["show-config", str(bad)])
    assert result.exit_code == 2
    assert "hotlines[0].hours.zone" in result.output and "Europe/Nowhere" in result.output
    assert "Traceback" not in result.output


def test_the_same_seed_gives_the_same_workload_and_another_seed_another() -> None:
    scenario = load_scenario("demo")
    first, again = list(build_workload(scenario).iter_reports()), list(build_workload(scenario).iter_reports())
    assert first == again
    other = list(build_workload(replace(scenario, simulation=replace(scenario.simulation, seed=8))).iter_reports())
    assert other != first


def test_arrivals_are_calibrated_to_the_2023_volume_and_shares() -> None:
    scenario = load_scenario("inhope-2021")
    workload = build_workload(scenario)
    reports = list(workload.iter_reports())
    assert workload.planned_count() == len(reports)
    expected = 785_322 * 7 / 365  # a week of the 2023 volume of exchanged URLs
    assert abs(len(reports) - expected) / expected < 0.03
    by_country: dict[str, int] = {}
    for report in reports:
        country = report.origin[:2].upper()
        by_country[country] = by_country.get(country, 0) + 1
    assert abs(by_country["GB"] / len(reports) - 0.3503) < 0.02
    assert abs(by_country["NL"] / len(reports) - 0.1979) < 0.02
    known = sum(r.known for r in reports) / len(reports)
    assert abs(known - 0.12) < 0.01
    new = [r for r in reports if not r.known]
    illegal = sum(r.classification != "NOT_ILLEGAL" for r in new) / len(new)
    assert abs(illegal - 0.687) < 0.02


def test_urls_are_synthetic_and_addresses_from_documentation_ranges() -> None:
    workload = build_workload(load_scenario("demo"))
    resolver = SimResolver()
    for report in workload.iter_reports():
        host = report.url.split("/")[2]
        assert host.rsplit(".", 1)[1] in ("example", "test", "invalid")
        facts = resolver.resolve(host)
        assert facts.country == report.hosting_country
        assert facts.ip is not None
        assert any(ipaddress.ip_address(facts.ip) in net for net in DOC_NETS)
        assert facts.asn is not None and 64496 <= facts.asn <= 64511
    assert resolver.resolve("unknown.example").country is None
