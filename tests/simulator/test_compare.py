"""`hotline-sim compare` on runs and sweeps whose figures are known: the difference of means with Welch's
interval per headline figure, compare.json, the two overlay plots; and what a bad argument gets."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.compare import COMPARE_JSON, compare, load_groups
from simulator.compare_plots import COMPARE_PLOTS, _Variant
from simulator.headlines import headline_values
from simulator.metrics import ITEM_COLUMNS, ItemColumn

T_4DF = 2.7764  # two-sided 95%, from a table


def _run(directory: Path, seed: int, share: float, items: list[tuple[str, float | None]]) -> Path:
    """A run directory with a summary.json and an items.csv: each item (hosting country, hours to removal)."""
    directory.mkdir(parents=True)
    summary: dict[str, Any] = {
        "scenario": "known",
        "seed": seed,
        "removed_within_72h_share": share,
        "median_time_to_removal_hours": None,
        "delivery_latency_seconds": {"p50": 1.0, "p99": 2.0},
        "illegal_items": len(items),
    }
    (directory / "summary.json").write_text(json.dumps(summary))
    with (directory / "items.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ITEM_COLUMNS)
        writer.writeheader()
        for n, (country, hours) in enumerate(items):
            writer.writerow(
                {
                    ItemColumn.ITEM: f"r{n}",
                    ItemColumn.HOSTING_COUNTRY: country,
                    ItemColumn.ROUTE: "referral",
                    ItemColumn.ILLEGAL: 1,
                    ItemColumn.REPORTED_S: 0.0,
                    ItemColumn.REMOVED_S: "" if hours is None else hours * 3600,
                }
            )
    return directory


def _sweep(directory: Path, shares: dict[str, list[float]]) -> Path:
    """A sweep directory: one variant per entry, one run per share (seeds 1, 2, ...)."""
    variants = []
    for name, values in shares.items():
        runs = []
        for seed, share in enumerate(values, start=1):
            key = f"{name}/seed-{seed}"
            _run(directory / key, seed, share, [("NL", 10.0), ("DE", None)] if name == "v1" else [("NL", 2.0)])
            runs.append({"seed": seed, "dir": key, "invariants_ok": True})
        variants.append({"variant": name, "settings": {"world.x": name}, "runs": runs})
    (directory / "sweep.json").write_text(json.dumps({"variants": variants}))
    return directory


def test_the_difference_of_means_and_welch_interval_between_two_sweep_variants(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path / "sweep", {"v1": [0.5, 0.6, 0.7], "v2": [0.7, 0.8, 0.9]})
    out = tmp_path / "compared"
    result = CliRunner().invoke(app, ["compare", str(sweep), "--out", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads((out / COMPARE_JSON).read_text())["comparisons"][0]["figures"]
    share = figures["removed_within_72h"]
    # Equal variances (0.01) and n = 3 on both sides: se = sqrt(2 * 0.01 / 3), df = 4.
    half = T_4DF * math.sqrt(2 * 0.01 / 3)
    assert share["difference"] == pytest.approx(0.2)
    assert share["welch_df"] == pytest.approx(4.0)
    assert (share["ci_low"], share["ci_high"]) == (
        pytest.approx(0.2 - half, abs=1e-4),
        pytest.approx(0.2 + half, abs=1e-4),
    )
    assert (share["baseline_mean"], share["mean"], share["n"]) == (pytest.approx(0.6), pytest.approx(0.8), 3)
    # No run has a median: nothing to compare, and it says so rather than inventing one.
    assert figures["median_removal_hours"]["difference"] is None
    assert figures["median_removal_hours"]["n"] == 0
    output = " ".join(result.output.split())
    assert "v2 (world.x=v2) vs v1 (world.x=v1)" in output
    assert "+20.0 pp" in output
    for name in COMPARE_PLOTS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_single_runs_give_a_difference_without_an_interval(tmp_path: Path) -> None:
    a = _run(tmp_path / "before", 1, 0.25, [("NL", 5.0)])
    b = _run(tmp_path / "after", 1, 0.75, [("NL", 1.0)])
    groups = load_groups([a, b])
    assert [g.label for g in groups] == ["before", "after"]
    [comparison] = compare(groups)
    row = next(r for r in comparison.rows if r[0].name == "removed_within_72h")
    assert row[3].difference == pytest.approx(0.5)
    assert (row[3].low, row[3].high) == (None, None)
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "+50.0 pp" in result.output


def test_the_plots_pool_every_seed_of_a_variant(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path / "sweep", {"v1": [0.5, 0.6], "v2": [0.7, 0.8]})
    groups = load_groups([sweep])
    first = _Variant(groups[0])
    assert len(first.items) == 4  # two runs of two illegal items
    # the two removed after 10 hours; the other two censored at the end of their runs
    assert sorted(d for d, seen in zip(first.durations, first.removed, strict=True) if seen) == [10.0, 10.0]
    assert first.removed.count(False) == 2
    assert first.metadata == "v1 (world.x=v1): scenario known, seeds 1, 2"


def test_a_headline_is_read_from_the_first_key_the_summary_has() -> None:
    """summary.json's `headline` object first, the flat key of earlier runs after; a null there is no value."""
    newer = {"headline": {"removed_within_72h": 0.7}, "removed_within_72h_share": 0.5}
    assert headline_values(newer)["removed_within_72h"] == 0.7
    unreached = {"headline": {"median_removal_hours": None}, "median_time_to_removal_hours": 3.0}
    assert headline_values(unreached)["median_removal_hours"] is None
    older = {"removed_within_72h_share": 0.5, "delivery_latency_seconds": {"p50": 0.25}}
    values = headline_values(older)
    assert (values["removed_within_72h"], values["delivery_latency_p50_s"]) == (0.5, 0.25)
    assert values["lea_notice_within_72h"] is None
    assert headline_values({"removed": True, "referral_count": "3"}) == dict.fromkeys(values)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["run", "nowhere"], "nowhere: no such directory"),
        (["empty", "empty"], "empty: neither a run (summary.json) nor a sweep (sweep.json)"),
        (["run"], "compare needs two variants or more: two run directories, or a sweep of two variants"),
    ],
)
def test_a_bad_argument_is_refused_with_one_line(tmp_path: Path, arguments: list[str], says: str) -> None:
    (tmp_path / "empty").mkdir()
    _run(tmp_path / "run", 1, 0.5, [])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", *(str(tmp_path / a) for a in arguments), "--out", str(out)])
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())
    assert not out.exists()


def test_an_unreadable_summary_is_named(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", 1, 0.5, [])
    b = _run(tmp_path / "b", 1, 0.5, [])
    (b / "summary.json").write_text("{not json")
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"{b / 'summary.json'} is unreadable (JSONDecodeError)" in " ".join(result.output.split())
