"""The deterministic mode: virtual time, no sockets, no threads, no wall clock; the same scenario and seed
give byte-identical result files, in one process or two; every fault kind keeps the invariants."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
import time
import tomllib
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from simulator.runner import RunResult, run_deterministic
from simulator.scenario import Scenario, load_scenario, parse_scenario
from tests.simulator.result_files import result_files
from tests.simulator.small_scenarios import Place, tiny_network

pytestmark = pytest.mark.timeout(120)

TINY = tiny_network(
    "tiny-deterministic",
    [Place("NL", 0.5, 0.4, 2), Place("DE", 0.5, 0.4, 3), Place("FR", None, 0.2, 2)],
    """
[[faults]]
kind = "crash"
nodes = ["de-hotline"]
at_hours = 2
duration_hours = 1

[[faults]]
kind = "partition"
mode = "isolate"
nodes = ["fr-hotline"]
at_hours = 4
duration_hours = 2
""",
    seed=5,
    duration_hours=8,
    max_reports=16,
    sample_minutes=120,
)

EVERY_FAULT = """
[[faults]]
kind = "latency"
latency_ms = 60000
jitter_ms = 30000
at_hours = 1
duration_hours = 1

[[faults]]
kind = "loss"
loss = 0.3
at_hours = 3
duration_hours = 1

[[faults]]
kind = "suspend"
nodes = ["fr-hotline"]
at_hours = 5
duration_hours = 2

[[faults]]
kind = "rotate_keys"
nodes = ["nl-hotline"]
at_hours = 6

[[faults]]
kind = "revoke"
nodes = ["fr-hotline"]
at_hours = 12

[[countries]]
code = "MC"

[[hotlines]]
node_id = "xx-rogue"
country = "MC"
rogue = true

[[faults]]
kind = "rogue"
nodes = ["xx-rogue"]
attacks = ["forged", "impersonating", "replayed", "misaddressed", "malformed", "expired", "future_dated"]
at_hours = 2
"""


def _scenario(text: str = TINY, **simulation: Any) -> Scenario:
    scenario = parse_scenario(tomllib.loads(text))
    return replace(scenario, simulation=replace(scenario.simulation, **simulation))


def _assert_ok(result: RunResult) -> None:
    assert result.ok, {r.name: r.violations for r in result.invariants if not r.ok}
    assert result.run_summary.drained


def test_the_same_seed_gives_byte_identical_files_and_another_seed_other_ones(tmp_path: Path) -> None:
    first = run_deterministic(_scenario(), tmp_path / "first")
    again = run_deterministic(_scenario(), tmp_path / "again")
    other = run_deterministic(_scenario(seed=6), tmp_path / "other")
    for result in (first, again, other):
        _assert_ok(result)
    assert first.run_summary.referral_count > 0 and first.run_summary.node_crashes == 1
    assert result_files(first.run_dir) == result_files(again.run_dir)
    assert (first.run_dir / "items.csv").read_bytes() != (other.run_dir / "items.csv").read_bytes()
    assert (first.run_dir / "summary.json").read_bytes() != (other.run_dir / "summary.json").read_bytes()
    # The host's facts are kept apart: they differ from run to run and are never compared.
    assert b"wall_seconds" not in (first.run_dir / "summary.json").read_bytes()
    assert b"wall_seconds" in (first.run_dir / "host.json").read_bytes()


def test_another_process_through_the_cli_writes_the_same_bytes(tmp_path: Path) -> None:
    scenario_file = tmp_path / "tiny.toml"
    scenario_file.write_text(TINY)
    here = run_deterministic(_scenario(), tmp_path / "here")
    _assert_ok(here)
    there = tmp_path / "there"
    completed = subprocess.run(
        [sys.executable, "-m", "simulator", "run", str(scenario_file), "--out", str(there)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "deterministic" in completed.stdout
    assert result_files(here.run_dir) == result_files(there)


@contextmanager
def _watch_the_host() -> Iterator[dict[str, set[str]]]:
    """Record who reads the wall clock, sleeps for real or starts a thread while the run goes on."""
    seen: dict[str, set[str]] = {}
    patched: dict[tuple[Any, str], Callable[..., Any]] = {}

    def spy(owner: Any, name: str) -> None:
        original = getattr(owner, name)
        patched[(owner, name)] = original

        def call(*args: Any, **kwargs: Any) -> Any:
            callers = traceback.extract_stack(limit=4)[:-1]  # the caller, and who called it
            seen.setdefault(name, set()).add(" < ".join(f"{c.filename}:{c.lineno}" for c in reversed(callers)))
            return original(*args, **kwargs)

        setattr(owner, name, call)

    for name in ("time", "monotonic", "sleep", "time_ns", "monotonic_ns"):
        spy(time, name)
    spy(threading.Thread, "start")
    try:
        yield seen
    finally:
        for (owner, name), original in patched.items():
            setattr(owner, name, original)


# What may read the wall clock without it reaching the simulation: SQLAlchemy's pool stamps each connection
# record (no recycle is set, so the stamp decides nothing), and UUIDv7 ids take their millisecond from it
# (ids are only compared for order, and uuid6 keeps them increasing within a process whatever the clock).
_HARMLESS = ("sqlalchemy/pool/base.py", "uuid6/__init__.py")


def test_nothing_reads_the_wall_clock_sleeps_or_starts_a_thread(tmp_path: Path) -> None:
    with _watch_the_host() as seen:
        result = run_deterministic(_scenario(max_reports=6, duration_hours=4, drain_hours=12), tmp_path / "run")
    _assert_ok(result)
    offenders = {
        name: sorted(where for where in places if not any(h in where for h in _HARMLESS))
        for name, places in seen.items()
    }
    assert {name: places for name, places in offenders.items() if places} == {}


def test_every_fault_kind_keeps_the_invariants_and_stays_deterministic(tmp_path: Path) -> None:
    text = TINY + EVERY_FAULT
    first = run_deterministic(_scenario(text), tmp_path / "first")
    _assert_ok(first)
    faults = (first.run_dir / "faults.csv").read_text()
    for kind in ("crash", "partition", "latency", "loss", "suspend", "rotate_keys", "revoke", "rogue"):
        assert kind in faults
    assert first.run_summary.roster_version >= 4
    attacks = (first.run_dir / "attacks.csv").read_text().splitlines()
    assert len(attacks) > 14 and first.run_summary.rogue_messages == len(attacks) - 1
    assert any(",REJECTED," in row for row in attacks) and any(",DUPLICATE," in row for row in attacks)
    again = run_deterministic(_scenario(text), tmp_path / "again")
    assert result_files(first.run_dir) == result_files(again.run_dir)


def test_simulated_delivery_latency_is_the_modelled_link_latency_there_and_back(tmp_path: Path) -> None:
    calm = TINY.split("[[faults]]")[0].replace(
        'node_id = "fr-hotline"', 'node_id = "fr-hotline"\nlink_latency_ms = 50000'
    )
    result = run_deterministic(_scenario(calm, link_latency_ms=10000, max_reports=10), tmp_path / "run")
    _assert_ok(result)
    with (result.run_dir / "items.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["delivered_s"]]
    assert rows
    for row in rows:
        delivery = float(row["delivered_s"]) - float(row["referred_s"])
        # Out and back over a link whose ends take 10 s and 10 s (NL-DE: 20 s) or 10 s and 50 s (to FR: 60 s).
        expected = 60.0 if row["hosting_country"] == "FR" else 20.0
        assert expected <= delivery < expected + 5, row


def test_the_senders_retry_jitter_comes_from_the_seed(tmp_path: Path) -> None:
    """The demo's partition makes senders back off and retry: their jitter is drawn from the run's seed, so the
    retries, and the delivery times after them, repeat (an unseeded jitter made two runs differ)."""
    demo = load_scenario("demo")
    demo = replace(demo, simulation=replace(demo.simulation, duration_hours=16, drain_hours=8))
    first = run_deterministic(demo, tmp_path / "first")
    again = run_deterministic(demo, tmp_path / "again")
    _assert_ok(first)
    assert "partition" in (first.run_dir / "faults.csv").read_text()
    assert result_files(first.run_dir) == result_files(again.run_dir)
