"""`--set KEY=VALUE`: dotted paths into a scenario, checked as a scenario file is; every bad key or value is
refused with one line naming it and the choices, and `hotline-sim run` exits 2 without running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.overrides import OverrideError, apply_overrides, parse_override, split_values
from simulator.scenario import Delay, load_scenario
from tests.simulator.test_cli import TINY


def _set(*given: str):  # type: ignore[no-untyped-def]
    return apply_overrides(load_scenario("demo"), [parse_override(g) for g in given])


def test_dotted_keys_reach_simulation_world_countries_hotlines_and_faults() -> None:
    scenario = _set(
        "simulation.seed=3",
        "world.known_share=0.4",
        "world.analyst_delay.median_hours=4",
        "countries.PA.provider.median_hours=12",
        "hotlines.de-hotline.link_latency_ms=80",
        "faults.0.at_hours=2",
        "world.fallback=refer",
        'world.fallback_node="de-hotline"',
    )
    assert scenario.simulation.seed == 3
    assert scenario.world.known_share == 0.4
    assert scenario.world.analyst_delay == Delay(4.0, 0.8)
    assert scenario.country("PA").provider.median_hours == 12.0
    assert next(h for h in scenario.hotlines if h.node_id == "de-hotline").link_latency_ms == 80.0
    assert scenario.faults[0].at_hours == 2.0
    assert (scenario.world.fallback, scenario.world.fallback_node) == ("refer", "de-hotline")
    untouched = load_scenario("demo")
    assert [c for c in scenario.countries if c.code != "PA"] == [c for c in untouched.countries if c.code != "PA"]


def test_a_table_value_and_a_list_value_are_read_as_toml() -> None:
    scenario = _set("world.lea_delay={ median_hours = 3 }", 'faults.0.nodes=["gb-hotline", "nl-hotline"]')
    assert scenario.world.lea_delay == Delay(3.0, 0.0)
    assert scenario.faults[0].nodes == ("gb-hotline", "nl-hotline")


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("simulation.sede=3", "--set simulation.sede=3: simulation.sede: unknown field (expected one of"),
        ("simulation.seed=3.5", "simulation.seed: must be a whole number"),
        ("world.known_share=abc", "world.known_share: must be a number"),
        ("world.known_share=2", "world.known_share: must be between 0 and 1"),
        ("countries.ZZ.provider.median_hours=1", "countries has no 'ZZ' (choices: DE, FR, GB, NL, PA, US)"),
        ("hotlines.xx.country=DE", "hotlines has no 'xx' (choices: de-hotline, fr-hotline, gb-hotline"),
        ("faults.9.at_hours=1", "faults has no entry '9' (choices: 0 to 1)"),
        ("countries.PA=3", "name a field of one entry, for example countries.GB.FIELD"),
        ("countries=3", "countries cannot be replaced whole"),
        ("climate.x=1", "the scenario has no 'climate' (choices: countries, faults, hotlines, simulation, world)"),
        ("simulation.seed.x=1", "simulation.seed is a value, not a table"),
        ("world.analyst_delay.mean=1", "world.analyst_delay.mean: unknown field (expected one of median_hours, sigma)"),
        ("seed", "expected KEY=VALUE, for example simulation.seed=3"),
        ("simulation..seed=3", "is not a dotted path"),
        ("simulation.seed=", "no value after '='"),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_it(given: str, says: str) -> None:
    with pytest.raises(OverrideError) as caught:
        _set(given)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_sweep_values_split_at_top_level_commas_only() -> None:
    key, values = split_values('faults.0.nodes=["a","b"],["c"]')
    assert key == "faults.0.nodes"
    assert [v.value for v in values] == [["a", "b"], ["c"]]
    assert [str(v) for v in values] == ['faults.0.nodes=["a","b"]', 'faults.0.nodes=["c"]']
    with pytest.raises(OverrideError, match="an empty value"):
        split_values("world.known_share=0.1,,0.2")
    with pytest.raises(OverrideError, match=r"0\.1 is given twice"):
        split_values("world.known_share=0.1,0.1")


def test_run_with_set_runs_the_changed_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["run", str(scenario), "--out", str(out), "--set", "simulation.seed=8", "--set", "simulation.max_reports=5"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["seed"], summary["reports"]) == (8, 5)
    assert "seed = 8" in (out / "scenario.resolved.toml").read_text()


def test_run_with_a_bad_set_exits_2_with_one_escaped_line_and_runs_nothing(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", str(scenario), "--out", str(out), "--set", "hotlines.nl-hotline.country=ZZ"]
    )
    assert result.exit_code == 2
    # The markup-like `[[countries]]` reaches the terminal as written (the test console wraps at 80 columns).
    assert " ".join(result.output.split()) == (
        "hotline-sim: bad scenario: --set hotlines.nl-hotline.country=ZZ: hotlines[0].country: "
        "'ZZ' is not in [[countries]]"
    )
    assert not out.exists()
    unknown = CliRunner().invoke(app, ["run", str(scenario), "--set", "countries.XX.hosting_share=1"])
    assert unknown.exit_code == 2
    assert "countries has no 'XX' (choices: DE, NL)" in " ".join(unknown.output.split())
