"""The plots drawn from a run's metrics CSV files: every file is written, is a real PNG, and survives empty input.

The data here is synthetic: made-up item ids, node names and country codes; no URLs at all.
`write_synthetic_run` is also handy for looking at the plots by hand:

    .venv/bin/python -c "from pathlib import Path; from tests.simulator.test_plots import write_synthetic_run as w; \
from simulator.plots import draw_plots as d; w(Path('/tmp/plots-demo')); print(d(Path('/tmp/plots-demo')))"
"""

from __future__ import annotations

import bisect
import csv
import math
import random
import struct
from pathlib import Path

import pytest
from matplotlib.text import Text

from simulator.metrics import FAULT_COLUMNS, ITEM_COLUMNS, TIMELINE_COLUMNS, Sample
from simulator.plot_series import hourly_from_counters, total_gauge
from simulator.plot_style import HOUR, safe_text
from simulator.plots import PLOT_FILES, _figures, draw_plots

DAY = 24 * HOUR
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ITEM_FIELDS, TIMELINE_FIELDS, FAULT_FIELDS = ITEM_COLUMNS, TIMELINE_COLUMNS, FAULT_COLUMNS

# Countries with a member hotline (one node each) and their providers' median response, in hours.
MEMBERS = {"NL": 20, "DE": 30, "FR": 40, "GB": 25, "US": 55, "CA": 45, "BR": 90, "PL": 35, "AU": 60}
NO_MEMBER = {"ZZ": 28 * 24}  # user-assigned code: a hosting country without a member hotline
HOSTING_WEIGHTS = {"NL": 30, "US": 20, "DE": 10, "FR": 8, "GB": 6, "CA": 5, "BR": 4, "PL": 4, "AU": 3, "ZZ": 10}


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def write_synthetic_run(
    run_dir: Path,
    *,
    n_items: int = 3000,
    days: float = 7.0,
    seed: int = 7,
    sample_every_s: float = 600.0,
    partition: tuple[float, float] | None = (2.5 * DAY, 3.25 * DAY),
) -> None:
    """A plausible run: reports over `days`, ten hosting countries, a partition cutting NL and DE off."""
    rng = random.Random(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    end = days * DAY
    nodes = {country: f"hotline-{country.lower()}" for country in MEMBERS}
    cut_off = {"NL", "DE"}
    items: list[dict[str, str]] = []
    per_node: dict[str, dict[str, list[float]]] = {
        node: {"reported": [], "sent": [], "delivered": [], "received": [], "removed": [], "closed": []}
        for node in nodes.values()
    }
    for index in range(n_items):
        origin = rng.choice(list(MEMBERS))
        hosting = rng.choices(list(HOSTING_WEIGHTS), weights=list(HOSTING_WEIGHTS.values()))[0]
        reported = rng.uniform(0, end)
        roll = rng.random()
        known = roll < 0.12
        illegal = known or roll > 0.30
        referred = delivered = removed = None
        if known:
            route = "known"
            removed = reported + rng.lognormvariate(math.log(12 * HOUR), 0.6)
        elif not illegal:
            route = "not_illegal"
        else:
            assessed = reported + rng.lognormvariate(math.log(2 * HOUR), 0.7)
            if assessed > end:
                route, illegal = "pending", False
            elif hosting in NO_MEMBER:
                route = "fallback"
                removed = assessed + rng.lognormvariate(math.log(NO_MEMBER[hosting] * HOUR), 0.5)
            elif hosting == origin:
                route = "domestic"
                removed = assessed + rng.lognormvariate(math.log(MEMBERS[hosting] * HOUR), 0.8)
            else:
                route = "referral"
                referred = assessed
                delivered = referred + rng.lognormvariate(math.log(1.5), 0.9)
                blocked = (origin in cut_off) != (hosting in cut_off)
                if partition and blocked and partition[0] <= referred < partition[1]:
                    delivered = partition[1] + rng.uniform(5, 300)
                per_node[nodes[hosting]]["received"].append(delivered)
                removed = delivered + rng.lognormvariate(math.log(MEMBERS[hosting] * HOUR), 0.8)
        removed = removed if removed is not None and removed <= end else None
        delivered = delivered if delivered is not None and delivered <= end else None
        node = nodes[origin]
        per_node[node]["reported"].append(reported)
        if referred is not None:
            per_node[node]["sent"].append(referred)
            per_node[node]["delivered"].append(delivered if delivered is not None else math.inf)
        if removed is not None:
            per_node[node]["removed"].append(removed)
        per_node[node]["closed"].append(removed if removed is not None else (reported if not illegal else math.inf))
        items.append(
            {
                "item": f"item-{index:05d}",
                "origin_node": node,
                "origin_country": origin,
                "hosting_country": hosting,
                "route": route,
                "illegal": "1" if illegal else "0",
                "known": "1" if known else "0",
                "reported_s": _cell(reported),
                "referred_s": _cell(referred),
                "delivered_s": _cell(delivered),
                "removed_s": _cell(removed),
                "moved": "1" if rng.random() < 0.03 else "0",
                "held": "1" if rng.random() < 0.02 else "0",
            }
        )
    items.sort(key=lambda row: float(row["reported_s"]))
    with (run_dir / "items.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ITEM_FIELDS)
        writer.writeheader()
        writer.writerows(items)

    for events in per_node.values():
        for values in events.values():
            values.sort()
    with (run_dir / "timeline.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TIMELINE_FIELDS)
        writer.writeheader()
        t = 0.0
        while t <= end + 1e-6:
            for node, events in per_node.items():

                def upto(name: str, at: float = t, ev: dict[str, list[float]] = events) -> int:
                    return bisect.bisect_right(ev[name], at)

                writer.writerow(
                    {
                        "t_s": _cell(t),
                        "node": node,
                        "reports": upto("reported"),
                        "referrals_sent": upto("sent"),
                        "referrals_received": upto("received"),
                        "outbox_backlog": upto("sent") - upto("delivered"),
                        "removed": upto("removed"),
                        "open_items": upto("reported") - upto("closed"),
                    }
                )
            t += sample_every_s

    with (run_dir / "faults.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FAULT_FIELDS)
        writer.writeheader()
        if partition:
            detail = "hotline-nl,hotline-de | rest"
            writer.writerow(
                {"t_s": _cell(partition[0]), "kind": "partition", "detail": detail, "end_s": _cell(partition[1])}
            )
        writer.writerow(
            {"t_s": _cell(0.6 * end), "kind": "crash", "detail": "hotline-fr", "end_s": _cell(0.6 * end + 2 * HOUR)}
        )
        writer.writerow(
            {"t_s": _cell(0.2 * end), "kind": "latency", "detail": "+200 ms all links", "end_s": _cell(0.25 * end)}
        )
        writer.writerow({"t_s": _cell(0.8 * end), "kind": "roster", "detail": "revoke hotline-pl", "end_s": ""})


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _assert_plots(paths: list[Path], run_dir: Path) -> None:
    assert [p.name for p in paths] == list(PLOT_FILES)
    for path in paths:
        assert path.parent == run_dir
        assert path.is_file()
        assert path.stat().st_size > 10_000, f"{path.name} is suspiciously small"
        assert path.stat().st_size < 2_000_000, f"{path.name} is suspiciously large"
        width, height = _png_size(path)
        assert (width, height) == (1200, 720), f"{path.name} is {width}x{height}"
    assert not list(run_dir.glob(".*.partial")), "a temporary file was left behind"


def _texts(run_dir: Path, title: str = "") -> dict[str, str]:
    """All text drawn in each figure (titles, labels, ticks, legends, captions), joined per figure."""
    out: dict[str, str] = {}
    for name, fig in _figures(run_dir, title):
        fig.canvas.draw()  # tick labels exist only after a draw
        out[name] = "\n".join(t.get_text() for t in fig.findobj(Text))
    return out


def test_a_full_run_gives_four_png_files(tmp_path: Path) -> None:
    write_synthetic_run(tmp_path, n_items=600, days=5, sample_every_s=1800)
    _assert_plots(draw_plots(tmp_path, title="synthetic run"), tmp_path)


def test_the_plots_carry_the_title_the_references_and_the_fault_windows(tmp_path: Path) -> None:
    write_synthetic_run(tmp_path, n_items=600, days=5, sample_every_s=1800)
    texts = _texts(tmp_path, title="seed 7")
    assert all("seed 7" in text for text in texts.values())
    assert "72 hours" in texts["time_to_removal.png"]
    assert "NL" in texts["time_to_removal.png"]
    bars = texts["removed_within_72h.png"]
    assert "published 2017: 62%" in bars and "published 2018: 58%" in bars
    assert "simulated, whole network" in bars
    assert "partition: hotline-nl,hotline-de" in texts["referrals_backlog.png"]
    assert "crash: hotline-fr" in texts["referrals_backlog.png"]
    assert "latency (1), roster (1)" in texts["referrals_backlog.png"]
    latency = texts["delivery_latency.png"]
    assert "p50 (median) = " in latency and "p99 = " in latency


@pytest.mark.parametrize("files", ["none", "headers only"])
def test_empty_or_missing_files_give_no_data_panels(tmp_path: Path, files: str) -> None:
    if files == "headers only":
        for name, fields in (
            ("items.csv", ITEM_FIELDS),
            ("timeline.csv", TIMELINE_FIELDS),
            ("faults.csv", FAULT_FIELDS),
        ):
            (tmp_path / name).write_text(",".join(fields) + "\n")
    _assert_plots(draw_plots(tmp_path), tmp_path)
    texts = _texts(tmp_path)
    for name in PLOT_FILES:
        assert "No data" in texts[name], name
    expected = "is missing" if files == "none" else "has no rows"
    assert f"items.csv {expected}" in texts["time_to_removal.png"]


def test_a_missing_run_directory_is_created(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    _assert_plots(draw_plots(run_dir), run_dir)


def test_items_without_removals_or_deliveries_and_garbage_cells(tmp_path: Path) -> None:
    rows = [
        ",".join(ITEM_FIELDS),
        "i1,hotline-nl,NL,DE,referral,1,0,10.0,100.0,,,0,0",
        "i2,hotline-nl,NL,,pending,,0,20.0,,,,0,0",
        "i3,hotline-nl,NL,DE,referral,1,0,not-a-number,nan,inf,,0,0",
        "i4,hotline-de,DE,DE,domestic,1,0,5.0",  # a short row
    ]
    (tmp_path / "items.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "timeline.csv").write_text("t_s,node,referrals_sent\n0,hotline-nl,0\n3600,hotline-nl,1\n")
    (tmp_path / "faults.csv").write_text("t_s,kind,detail,end_s\n100,partition,,\nbad,crash,x,\n")
    _assert_plots(draw_plots(tmp_path), tmp_path)
    texts = _texts(tmp_path)
    assert "No data" in texts["time_to_removal.png"]
    assert "No data" in texts["delivery_latency.png"]
    assert "1 referral was never delivered" in texts["delivery_latency.png"]
    assert "Outbox backlog: No outbox_backlog values" in texts["referrals_backlog.png"]


def test_a_run_shorter_than_72_hours_says_so_instead_of_a_share(tmp_path: Path) -> None:
    write_synthetic_run(tmp_path, n_items=300, days=1.5, sample_every_s=1800, partition=(0.5 * DAY, 0.7 * DAY))
    _assert_plots(draw_plots(tmp_path), tmp_path)
    texts = _texts(tmp_path)
    bars = texts["removed_within_72h.png"]
    assert "Not observable: the run lasted 36 h" in bars
    assert "%" not in bars.replace("72-hour", "")  # no share at all
    assert "shorter than warm-up 0 h + 72 h horizon" in texts["time_to_removal.png"]
    assert "(hours)" in texts["referrals_backlog.png"]


def test_no_url_ever_reaches_a_plot(tmp_path: Path) -> None:
    write_synthetic_run(tmp_path, n_items=200, days=4, sample_every_s=3600)
    with (tmp_path / "faults.csv").open("a") as f:
        f.write(f"{HOUR},partition,http://csam.example/abc?x=1 | www.host.example/p,{2 * HOUR}\n")
        f.write(f"{3 * HOUR},crash,node at host.example/path/to/x,{4 * HOUR}\n")
    with (tmp_path / "items.csv").open("a") as f:
        f.write("i9,hotline-nl,NL,https://evil.example/x,referral,1,0,1.0,2.0,3.0,4.0,0,0\n")
    texts = "\n".join(_texts(tmp_path, title="see https://title.example/q").values())
    for fragment in ("://", "csam.example", "host.example/", "evil.example", "title.example"):
        assert fragment not in texts
    assert "[url removed]" in texts


@pytest.mark.parametrize(
    "text",
    ["http://a.example/b", "HTTPS://A.EXAMPLE", "www.a.example", "a.example/path", "user@a.example/x", "ftp://x"],
)
def test_safe_text_removes_anything_shaped_like_a_url(text: str) -> None:
    assert safe_text(f"before {text} after") == "before [url removed] after"


def test_safe_text_caps_length_and_escapes_mathtext() -> None:
    assert len(safe_text("x" * 200, 30)) == 30
    assert safe_text("cost $5 $6") == r"cost \$5 \$6"


def test_hourly_referrals_add_up_and_survive_a_counter_reset() -> None:
    samples = [
        Sample(0, "a", 0, None),
        Sample(1800, "a", 4, None),
        Sample(7200, "a", 10, None),  # 6 over 1.5 hours: 2 in hour 0, 4 in hour 1
        Sample(9000, "a", 3, None),  # restarted: 3 new since
        Sample(3600, "b", 5, None),  # first sample of b: a point in hour 0
    ]
    bins = hourly_from_counters(samples)
    assert sum(bins.values()) == pytest.approx(4 + 6 + 3 + 5)
    assert bins[0] == pytest.approx(4 + 2 + 5)
    assert bins[1] == pytest.approx(4)
    assert bins[2] == pytest.approx(3)


def test_backlog_is_summed_over_nodes_with_the_last_value_carried_forward() -> None:
    samples = [Sample(0, "a", None, 2), Sample(0, "b", None, 1), Sample(10, "a", None, 5), Sample(20, "b", None, 0)]
    assert total_gauge(samples) == ([0, 10, 20], [3, 6, 5])
