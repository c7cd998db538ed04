"""`hotline-sim compare` on runs and sweeps whose figures are known: per headline figure, the difference paired
by seed where both variants ran the same seeds, else the difference of means with Welch's interval;
compare.json, the two overlay plots; and what a bad argument gets."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.compare import COMPARE_JSON, Group, compare, load_groups
from simulator.compare_plots import COMPARE_PLOTS, _Variant
from simulator.headlines import headline_values
from simulator.metrics import ITEM_COLUMNS, ItemColumn

T_2DF, T_4DF = 4.3027, 2.7764  # two-sided 95%, from a table


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


def _sweep(directory: Path, shares: dict[str, list[float]], first_seed: int = 1) -> Path:
    """A sweep directory: one variant per entry, one run per share (seeds first_seed, first_seed + 1, ...)."""
    variants = []
    for name, values in shares.items():
        runs = []
        for seed, share in enumerate(values, start=first_seed):
            key = f"{name}/seed-{seed}"
            _run(directory / key, seed, share, [("NL", 10.0), ("DE", None)] if name == "v1" else [("NL", 2.0)])
            runs.append({"seed": seed, "dir": key, "invariants_ok": True})
        variants.append({"variant": name, "settings": {"world.x": name}, "runs": runs})
    (directory / "sweep.json").write_text(json.dumps({"variants": variants}))
    return directory


def test_two_sweep_variants_of_the_same_seeds_are_compared_seed_by_seed(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path / "sweep", {"v1": [0.5, 0.6, 0.7], "v2": [0.7, 0.75, 0.95]})
    out = tmp_path / "compared"
    result = CliRunner().invoke(app, ["compare", str(sweep), "--out", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads((out / COMPARE_JSON).read_text())["comparisons"][0]["figures"]
    share = figures["removed_within_72h"]
    # Per seed +0.20, +0.15, +0.25: mean 0.2, standard deviation 0.05, 2 degrees of freedom.
    half = T_2DF * 0.05 / math.sqrt(3)
    assert (share["method"], share["df"], share["welch_df"]) == ("paired", 2, None)
    assert share["difference"] == pytest.approx(0.2)
    assert (share["ci_low"], share["ci_high"]) == (
        pytest.approx(0.2 - half, abs=1e-4),
        pytest.approx(0.2 + half, abs=1e-4),
    )
    assert (share["baseline_mean"], share["mean"], share["n"]) == (pytest.approx(0.6), pytest.approx(0.8), 3)
    # No run has a median: nothing to compare, and it says so rather than inventing one.
    assert figures["median_removal_hours"]["difference"] is None
    assert figures["median_removal_hours"]["n"] == 0
    output = " ".join(result.output.split())
    assert "v2 (world.x=v2) vs v1 (world.x=v1): paired by seed" in output
    assert "+20.0 pp" in output
    for name in COMPARE_PLOTS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_variants_of_different_seeds_get_the_difference_of_means_and_welch_interval(tmp_path: Path) -> None:
    before = _sweep(tmp_path / "before", {"v1": [0.5, 0.6, 0.7]})
    after = _sweep(tmp_path / "after", {"v2": [0.7, 0.8, 0.9]}, first_seed=4)
    out = tmp_path / "compared"
    result = CliRunner().invoke(app, ["compare", str(before), str(after), "--out", str(out)])
    assert result.exit_code == 0, result.output
    share = json.loads((out / COMPARE_JSON).read_text())["comparisons"][0]["figures"]["removed_within_72h"]
    # Equal variances (0.01) and n = 3 on both sides: se = sqrt(2 * 0.01 / 3), df = 4.
    half = T_4DF * math.sqrt(2 * 0.01 / 3)
    assert (share["method"], share["welch_df"]) == ("welch", pytest.approx(4.0))
    assert share["difference"] == pytest.approx(0.2)
    assert (share["ci_low"], share["ci_high"]) == (
        pytest.approx(0.2 - half, abs=1e-4),
        pytest.approx(0.2 + half, abs=1e-4),
    )
    assert "difference of means, Welch" in " ".join(result.output.split())


def test_runs_without_a_seed_or_with_one_seed_twice_are_not_paired(tmp_path: Path) -> None:
    a = [_run(tmp_path / f"a{n}", 1, share, []) for n, share in enumerate([0.5, 0.6])]  # seed 1 twice
    b = [_run(tmp_path / f"b{n}", 1, share, []) for n, share in enumerate([0.7, 0.8])]
    [comparison] = compare([Group("a", tuple(a)), Group("b", tuple(b))])
    row = next(r for r in comparison.rows if r[0].name == "removed_within_72h")
    assert not row[3].paired and row[3].difference == pytest.approx(0.2)


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
