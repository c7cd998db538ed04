"""`benchmarks.native_floor`: the time a run spends inside SQLite and the cryptography library is counted, call
by call, for the nodes' own stores and crypto only (its figures back the note on issue 10's year)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.simulator.small_scenarios import Place, tiny_network

pytestmark = pytest.mark.timeout(120)

TINY = tiny_network(
    "tiny-floor",
    [Place("NL", 0.5, 0.5, 2), Place("DE", 0.5, 0.5, 2)],
    seed=7,
    duration_hours=4,
    drain_hours=12,
    max_reports=10,
)


def test_a_run_is_split_into_sqlite_crypto_and_python_time(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    out = tmp_path / "floor.json"
    command = [sys.executable, "-m", "benchmarks.native_floor", "--out", str(out), "--"]
    command += ["run", str(scenario), "--out", str(tmp_path / "run")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=110, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]

    figures = json.loads(out.read_text())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert figures["reports"] == summary["reports"] > 0
    kinds = figures["by_kind"]
    # Every report is a transaction at its node at least; referrals are signed, sealed, opened and verified.
    assert kinds["sqlite.commit"]["calls"] >= figures["reports"]
    assert kinds["sqlite.execute"]["calls"] > kinds["sqlite.commit"]["calls"]
    for kind in ("crypto.sign", "crypto.verify", "crypto.hpke_encrypt", "crypto.hpke_decrypt"):
        assert kinds[kind]["calls"] > 0, kind
    per_report = figures["per_report_ms"]
    assert 0 < per_report["sqlite_ms"] < per_report["cpu_ms"]
    assert 0 < per_report["crypto_ms"] < per_report["cpu_ms"]
    assert per_report["python_ms"] == pytest.approx(
        per_report["cpu_ms"] - per_report["sqlite_ms"] - per_report["crypto_ms"], abs=0.01
    )
    assert figures["year"]["budget_ms_per_report_one_core"] == pytest.approx(1000 * 3600 / 2_497_438, abs=0.001)
