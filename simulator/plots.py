"""The plots drawn from a run's metrics CSV files.

`draw_plots(run_dir)` reads `items.csv`, `timeline.csv` and `faults.csv` from a run directory (any of them may be
missing or empty) and writes four PNG files next to them:

- `time_to_removal.png`: time from report to removal, per hosting country (box plots, log scale);
- `removed_within_72h.png`: the share removed within 72 hours per hosting country, against the published figures;
- `referrals_backlog.png`: referrals sent per simulated hour and the total outbox backlog, with partition and
  crash windows shaded;
- `delivery_latency.png`: the delivery latency of referrals (histogram and cumulative share, p50 and p99 marked).

All times in the files are simulated seconds since the scenario start. A plot whose data is missing still gets
written, with an explicit "no data" panel saying why. Free text from the files goes through `plot_style.safe_text`
(fault details) or `metrics.read_run` (country cells) first, so nothing shaped like a URL can reach an image.

The files are read by `metrics.read_run`; how the figures look (style, colours, formatters, axes, captions) is
`plot_style`. The figures use matplotlib's object API with the Agg canvas: no pyplot, no global backend switch,
no screen.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MultipleLocator, PercentFormatter

from simulator.metrics import FAULTS_CSV, ITEMS_CSV, TIMELINE_CSV, Item, RunData, read_run
from simulator.plot_series import (
    hourly_from_counters,
    hourly_from_times,
    illegal_reported,
    no_member_countries,
    top_groups,
    total_gauge,
)
from simulator.plot_style import (
    DAY,
    DPI,
    FAULT_COLOURS,
    HOUR,
    HOUR_TICKS,
    LINE_72H_COLOUR,
    MEMBER_COLOUR,
    NO_MEMBER_COLOUR,
    OTHER_COLOUR,
    SECOND_TICKS,
    SHADED_FAULTS,
    STYLE,
    LineStyle,
    finish,
    fmt_count,
    fmt_hours,
    fmt_hours_tick,
    fmt_seconds,
    fmt_seconds_tick,
    legend_above,
    log_axis,
    new_figure,
    no_data,
    safe_text,
)

__all__ = [
    "PLOT_FILES",
    "PUBLISHED_MEDIAN_REMOVAL_HOURS_2023",
    "PUBLISHED_NO_HOTLINE_REMOVAL_DAYS_2023",
    "PUBLISHED_REMOVED_WITHIN_72H",
    "draw_plots",
]

WINDOW_72H = 72 * HOUR

# Published reference figures (INHOPE annual reports), drawn as reference lines.
PUBLISHED_REMOVED_WITHIN_72H: tuple[tuple[int, float], ...] = ((2017, 0.62), (2018, 0.58))
PUBLISHED_MEDIAN_REMOVAL_HOURS_2023 = 60.0  # "removed within 2.5 days" (2023)
PUBLISHED_NO_HOTLINE_REMOVAL_DAYS_2023 = 28.0  # where no hotline exists: 28+ days (2023)

PLOT_FILES = ("time_to_removal.png", "removed_within_72h.png", "referrals_backlog.png", "delivery_latency.png")

TOP_COUNTRIES_BOX = 10
TOP_COUNTRIES_BARS = 15


def draw_plots(run_dir: Path, *, title: str = "") -> list[Path]:
    """Draw the run's plots from its metrics CSV files into run_dir; return the PNG paths, in PLOT_FILES order.

    Missing or empty CSV files give "no data" panels, never an exception. Each PNG is written to a temporary
    name and renamed, so a reader never sees half a file.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with matplotlib.rc_context(STYLE):
        for name, fig in _figures(run_dir, title):
            path = run_dir / name
            partial = run_dir / f".{name}.partial"
            fig.savefig(partial, format="png", dpi=DPI, metadata={"Software": None})
            os.replace(partial, path)
            written.append(path)
    return written


def _figures(run_dir: Path, title: str) -> list[tuple[str, Figure]]:
    """The four figures, drawn but not saved (tests inspect their text)."""
    data = read_run(run_dir)
    safe_title = safe_text(title, 80)
    figures: list[tuple[str, Figure]] = []
    with matplotlib.rc_context(STYLE):
        for name, draw in _DRAWERS:
            fig = new_figure()
            draw(fig, data, safe_title)
            figures.append((name, fig))
    return figures


# --------------------------------------------------------------------------------------------------- figures


def _draw_time_to_removal(fig: Figure, data: RunData, title: str) -> None:
    heading = "Time from report to removal, by hosting country"
    ax = fig.subplots()
    illegal = illegal_reported(data)
    removed = [i for i in illegal if i.removed is not None]
    if not removed:
        reason = data.why_empty(ITEMS_CSV) if not data.items else "No illegal item has a removal time (removed_s)."
        no_data(ax, reason)
        finish(
            fig,
            title,
            heading,
            [f"{fmt_count(len(illegal))} items judged illegal, none removed."] if data.items else [],
        )
        return

    floor_h = 1 / 60
    counts = Counter(i.hosting for i in illegal)
    top, rest = top_groups(counts, TOP_COUNTRIES_BOX)
    no_member = no_member_countries(data.items)
    durations: dict[str, list[float]] = defaultdict(list)
    clipped = 0
    for item in removed:
        if item.removed is None or item.reported is None:
            continue
        hours = (item.removed - item.reported) / HOUR
        if hours < floor_h:
            clipped += 1
            hours = floor_h
        durations["other" if item.hosting in rest else item.hosting].append(hours)

    groups = [*top, *(["other"] if rest else [])]
    group_n = {key: counts[key] for key in top}
    group_n["other"] = sum(counts[key] for key in rest)
    colours = {key: NO_MEMBER_COLOUR if key in no_member else MEMBER_COLOUR for key in top}
    colours["other"] = OTHER_COLOUR

    positions = list(range(1, len(groups) + 1))
    with_data = [(pos, key) for pos, key in zip(positions, groups, strict=True) if durations[key]]
    parts = ax.boxplot(
        [durations[key] for _, key in with_data],
        positions=[pos for pos, _ in with_data],
        widths=0.6,
        whis=(5, 95),
        patch_artist=True,
        manage_ticks=False,
        medianprops={"color": "black", "linewidth": 2},
        flierprops={
            "marker": ".",
            "markersize": 3,
            "alpha": 0.35,
            "markerfacecolor": "#444444",
            "markeredgecolor": "none",
        },
    )
    mostly_open = {key for key in groups if group_n[key] and len(durations[key]) < group_n[key] / 2}
    for box, (_, key) in zip(parts["boxes"], with_data, strict=True):
        box.set_facecolor(colours[key])
        box.set_alpha(0.85)
        if key in mostly_open:
            box.set_hatch("///")
            box.set_alpha(0.45)

    all_hours = [h for values in durations.values() for h in values]
    show_28d = bool(no_member & set(counts)) or max(all_hours) > 14 * 24
    # Headroom above the highest dot for the median labels.
    high = max(max(all_hours) * 3, 72 * 1.3, PUBLISHED_NO_HOTLINE_REMOVAL_DAYS_2023 * 24 * 1.1 if show_28d else 0)
    log_axis(ax, "y", min(min(all_hours), 1.0), high, HOUR_TICKS, fmt_hours_tick)
    ax.yaxis.grid(True, which="major", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)

    lo_y = ax.get_ylim()[0]
    for pos, key in zip(positions, groups, strict=True):
        values = durations[key]
        if values:
            median = float(np.median(values))
            ax.text(pos, max(values) * 1.15, f"median\n{fmt_hours(median)}", ha="center", va="bottom", fontsize=8)
        else:
            ax.text(pos, lo_y * 1.6, "none\nremoved", ha="center", va="center", fontsize=8.5, color="#666")

    ax.axhline(72, color=LINE_72H_COLOUR, linestyle="--", linewidth=1.6, zorder=1)
    ax.axhline(PUBLISHED_MEDIAN_REMOVAL_HOURS_2023, color="#555555", linestyle=":", linewidth=1.4, zorder=1)
    handles: list[Any] = []
    if any(colours[k] == MEMBER_COLOUR for k in top):
        handles.append(Patch(facecolor=MEMBER_COLOUR, alpha=0.85, label="member hotline in hosting country"))
    if any(colours[k] == NO_MEMBER_COLOUR for k in top):
        handles.append(Patch(facecolor=NO_MEMBER_COLOUR, alpha=0.85, label="no member hotline (fallback)"))
    if rest:
        handles.append(Patch(facecolor=OTHER_COLOUR, alpha=0.85, label=f"other: {len(rest)} smaller countries"))
    handles.append(Line2D([], [], color=LINE_72H_COLOUR, linestyle="--", linewidth=1.6, label="72 hours (3 days)"))
    handles.append(
        Line2D([], [], color="#555555", linestyle=":", linewidth=1.4, label="published 2023: removed within 2.5 days")
    )
    if mostly_open & {key for _, key in with_data}:
        handles.append(Patch(facecolor="white", edgecolor="#444444", hatch="///", label="most items still open"))
    if show_28d:
        days = PUBLISHED_NO_HOTLINE_REMOVAL_DAYS_2023
        ax.axhline(days * 24, color="#8e44ad", linestyle="-.", linewidth=1.3, zorder=1)
        handles.append(
            Line2D([], [], color="#8e44ad", linestyle="-.", label=f"published 2023: {days:g}+ days where no hotline")
        )
    legend_above(ax, handles, ncols=3)

    labels = []
    for key in groups:
        open_n = group_n[key] - len(durations[key])
        labels.append(f"{key}\nn={fmt_count(group_n[key])}\n{open_n / group_n[key]:.0%} open")
    ax.set_xticks(positions, labels, fontsize=8.5 if len(groups) <= 11 else 7.5)
    ax.set_xlim(0.4, len(groups) + 0.6)
    ax.set_xlabel("hosting country (n = items judged illegal; open = not removed by the end of the run)")
    ax.set_ylabel("time from report to removal (log scale)")

    all_removed = [(i.removed - i.reported) / HOUR for i in removed if i.removed is not None and i.reported is not None]
    caption = [
        "Boxes: middle half of the removal times, black line = median, whiskers = 5th to 95th percentile, dots "
        f"beyond. Log scale. Only removed items have a time: 'open' items (judged illegal, not removed by the end "
        f"of the run) are right-censored, so slow countries look faster than they are. Countries beyond the top "
        f"{TOP_COUNTRIES_BOX} by illegal items are pooled as 'other'. Network-wide median of the removed items: "
        f"{fmt_hours(float(np.median(all_removed)))} ({fmt_count(len(removed))} removed of "
        f"{fmt_count(len(illegal))} illegal items)."
        + (
            " Hatched: most of the country's items are still open; its box shows only the fast removals."
            if mostly_open
            else ""
        )
    ]
    if clipped:
        caption.append(f"{fmt_count(clipped)} removal times under 1 minute are drawn at 1 minute.")
    finish(fig, title, heading, caption)


def _draw_removed_within_72h(fig: Figure, data: RunData, title: str) -> None:
    heading = "Share removed within 72 hours of the report, by hosting country"
    ax = fig.subplots()
    illegal = illegal_reported(data)
    end = data.end_s()
    censored_note = ""
    eligible = [i for i in illegal if end is not None and i.reported is not None and i.reported <= end - WINDOW_72H]
    if illegal and not eligible:
        eligible = illegal
        censored_note = (
            "The run ends less than 72 hours after every report, so no item could be watched for a full 72 hours: "
            "the shares below count every illegal item and are lower bounds."
        )
    if not eligible:
        reason = data.why_empty(ITEMS_CSV) if not data.items else "No item was judged illegal."
        no_data(ax, reason)
        finish(fig, title, heading, [])
        return

    def within(item: Item) -> bool:
        return item.removed is not None and item.reported is not None and item.removed - item.reported <= WINDOW_72H

    counts = Counter(i.hosting for i in eligible)
    hits = Counter(i.hosting for i in eligible if within(i))
    top, rest = top_groups(counts, TOP_COUNTRIES_BARS)
    no_member = no_member_countries(data.items)
    bars = sorted(top, key=lambda key: (-hits[key] / counts[key], -counts[key], key))
    rows = [(key, hits[key], counts[key]) for key in bars]
    if rest:
        rows.append(("other", sum(hits[k] for k in rest), sum(counts[k] for k in rest)))
    colours = [
        OTHER_COLOUR if key == "other" else NO_MEMBER_COLOUR if key in no_member else MEMBER_COLOUR
        for key, _, _ in rows
    ]
    shares = [k / n for _, k, n in rows]
    positions = list(range(len(rows)))
    ax.bar(positions, shares, color=colours, alpha=0.85, width=0.7, zorder=2)
    small = len(rows) > 11
    for pos, share, (_, k, n) in zip(positions, shares, rows, strict=True):
        ax.text(
            pos,
            share + 0.015,
            f"{share:.0%}\n{fmt_count(k)}/{fmt_count(n)}",
            ha="center",
            va="bottom",
            fontsize=7.5 if small else 9,
            zorder=4,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75},
        )
    labels = [f"other\n({len(rest)})" if key == "other" else key for key, _, _ in rows]
    ax.set_xticks(positions, labels)
    ax.set_xlim(-0.6, len(rows) - 0.4)

    total_hits = sum(hits.values())
    total = len(eligible)
    network = total_hits / total
    handles: list[Any] = []
    styles: list[tuple[str, LineStyle]] = [("#2c3e50", "--"), ("#7f8c8d", ":")]
    for (year, share), (colour, style) in zip(PUBLISHED_REMOVED_WITHIN_72H, styles, strict=True):
        ax.axhline(share, color=colour, linestyle=style, linewidth=1.6, zorder=3)
        handles.append(
            Line2D([], [], color=colour, linestyle=style, linewidth=1.6, label=f"published {year}: {share:.0%}")
        )
    ax.axhline(network, color="#c0392b", linestyle="-", linewidth=1.8, zorder=3)
    handles.append(
        Line2D(
            [],
            [],
            color="#c0392b",
            linewidth=1.8,
            label=f"simulated, whole network: {network:.0%} ({fmt_count(total_hits)} of {fmt_count(total)})",
        )
    )
    if any(c == MEMBER_COLOUR for c in colours):
        handles.append(Patch(facecolor=MEMBER_COLOUR, alpha=0.85, label="member hotline in hosting country"))
    if any(c == NO_MEMBER_COLOUR for c in colours):
        handles.append(Patch(facecolor=NO_MEMBER_COLOUR, alpha=0.85, label="no member hotline (fallback)"))
    if rest:
        handles.append(Patch(facecolor=OTHER_COLOUR, alpha=0.85, label=f"other: {len(rest)} smaller countries"))
    legend_above(ax, handles, ncols=3)

    ax.set_ylim(0, 1.15)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.grid(True, color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_ylabel(
        "removed within 72 hours (% of illegal items)" + ("\nlower bounds: run too short" if censored_note else "")
    )
    ax.set_xlabel("hosting country (sorted by share; label above bar: removed within 72 h / illegal items)")

    caption = [
        "Items judged illegal, by the country hosting the content. An item counts when the origin hotline learned of "
        "the removal within 72 hours of the report."
        + (
            " Items reported in the last 72 hours of the run are left out: they could not be watched for 72 hours."
            if not censored_note
            else ""
        ),
        *([censored_note] if censored_note else []),
        "Published figures (INHOPE): 62% of reports removed within 3 days in 2017, 58% in 2018.",
    ]
    finish(fig, title, heading, caption)


def _draw_referrals_backlog(fig: Figure, data: RunData, title: str) -> None:
    heading = "Referrals sent and outbox backlog over simulated time"
    ax_top, ax_bottom = fig.subplots(2, 1, sharex=True)

    hourly = hourly_from_counters(data.timeline)
    source = "timeline.csv (referrals_sent, summed over nodes)"
    if not hourly:
        referred = [i.referred for i in data.items if i.referred is not None and i.route == "referral"]
        if referred:
            hourly = hourly_from_times(referred)
            source = "items.csv (referred_s of referral items; timeline.csv gave no counters)"
    backlog_t, backlog = total_gauge(data.timeline)

    ends = [*(s.t for s in data.timeline), *((h + 1) * HOUR for h in hourly)]
    ends += [f.end if f.end is not None else f.start for f in data.faults]
    span = max(ends, default=0.0)
    unit, unit_name = (HOUR, "hours") if span <= 96 * HOUR else (DAY, "days")

    if hourly:
        n_hours = max(hourly) + 1
        values = [hourly.get(h, 0.0) for h in range(n_hours)]
        edges = [h * HOUR / unit for h in range(n_hours + 1)]
        ax_top.stairs(values, edges, fill=True, color=MEMBER_COLOUR, alpha=0.8, zorder=2)
        ax_top.set_ylim(0, max(max(values), 1.0) * 1.3)
        ax_top.set_ylabel("referrals sent\nper hour")
        ax_top.yaxis.grid(True, color="#e3e3e3", linewidth=0.8)
        ax_top.set_axisbelow(True)
    else:
        reason = data.why_empty(TIMELINE_CSV) if not data.timeline else "No referral counters in timeline.csv."
        no_data(ax_top, f"Referrals per hour: {reason}")
    if backlog_t:
        xs = [t / unit for t in backlog_t]
        ax_bottom.fill_between(xs, backlog, step="post", color="#8e44ad", alpha=0.25, zorder=2)
        ax_bottom.step(xs, backlog, where="post", color="#8e44ad", linewidth=1.4, zorder=3)
        ax_bottom.set_ylim(0, max(max(backlog), 1.0) * 1.15)
        ax_bottom.set_ylabel("outbox backlog\n(referrals, all nodes)")
        ax_bottom.yaxis.grid(True, color="#e3e3e3", linewidth=0.8)
        ax_bottom.set_axisbelow(True)
    else:
        reason = data.why_empty(TIMELINE_CSV) if not data.timeline else "No outbox_backlog values in timeline.csv."
        no_data(ax_bottom, f"Outbox backlog: {reason}")

    drawn = [ax for ax, ok in ((ax_top, bool(hourly)), (ax_bottom, bool(backlog_t))) if ok]
    handles: list[Any] = []
    other_kinds: Counter[str] = Counter()
    if drawn:
        drawn[-1].set_xlim(0, span / unit if span > 0 else 1)
        drawn[-1].set_xlabel(f"simulated time since the scenario start ({unit_name})")
        drawn[-1].xaxis.set_tick_params(labelbottom=True)
        labelled = 0
        last_label_end = -math.inf
        row = 0
        for fault in sorted(data.faults, key=lambda f: f.start):
            if fault.kind not in SHADED_FAULTS:
                other_kinds[safe_text(fault.kind, 20) or "unnamed"] += 1
                for ax in drawn:
                    ax.axvline(fault.start / unit, color="#7f8c8d", linestyle=":", linewidth=1.0, zorder=1)
                drawn[-1].text(
                    fault.start / unit,
                    0.97,
                    f" {safe_text(fault.kind, 20)}",
                    transform=drawn[-1].get_xaxis_transform(),
                    ha="left",
                    va="top",
                    fontsize=8,
                    color="#555555",
                )
                continue
            colour = FAULT_COLOURS[fault.kind]
            x0 = fault.start / unit
            for ax in drawn:
                if fault.end is not None and fault.end > fault.start:
                    ax.axvspan(x0, fault.end / unit, color=colour, alpha=0.2, linewidth=0, zorder=1)
                else:
                    ax.axvline(x0, color=colour, linewidth=1.6, zorder=1)
            # Stagger labels of faults that start close together, so they do not overprint.
            row = row + 1 if x0 - last_label_end < span / unit * 0.12 else 0
            last_label_end = x0
            detail = safe_text(fault.detail, 28)
            suffix = "" if fault.end is not None else " (no end time)"
            ax_label = drawn[0]
            ax_label.text(
                x0,
                0.97 - 0.13 * (row % 4),
                f" {fault.kind}{suffix}: {detail}" if detail else f" {fault.kind}{suffix}",
                transform=ax_label.get_xaxis_transform(),
                ha="left",
                va="top",
                fontsize=8.5,
                color="#333333",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "alpha": 0.85},
            )
            labelled += 1
        present = {f.kind for f in data.faults}
        for kind in SHADED_FAULTS:
            if kind in present:
                window = "node down" if kind == "crash" else "nodes cut off"
                handles.append(Patch(facecolor=FAULT_COLOURS[kind], alpha=0.35, label=f"{kind} ({window})"))
        if other_kinds:
            handles.append(Line2D([], [], color="#7f8c8d", linestyle=":", label="other fault events"))
        if handles:
            legend_above(drawn[0], handles, ncols=len(handles))
        if unit == DAY and span / unit <= 21:
            drawn[-1].xaxis.set_major_locator(MultipleLocator(1.0))
        elif unit == HOUR:
            step = next((step for limit, step in ((8, 1), (16, 2), (30, 3), (48, 6)) if span <= limit * HOUR), 12)
            drawn[-1].xaxis.set_major_locator(MultipleLocator(float(step)))

    caption = []
    if hourly:
        caption.append(f"Referrals per hour: from {source}.")
    if backlog_t:
        caption.append("Backlog: referrals waiting in the nodes' outboxes (a gauge per node, summed).")
    if any(f.kind in SHADED_FAULTS for f in data.faults):
        caption.append("Shaded: partition and crash windows from faults.csv; a line marks one without an end time.")
    elif not data.faults:
        caption.append(f"No fault windows: {data.why_empty(FAULTS_CSV)}.")
    if other_kinds:
        listed = ", ".join(f"{kind} ({n})" for kind, n in sorted(other_kinds.items()))
        caption.append(f"Dotted lines: other fault events (not shaded): {listed}.")
    finish(fig, title, heading, caption)


def _referrals(n: int) -> str:
    return f"{fmt_count(n)} referral was" if n == 1 else f"{fmt_count(n)} referrals were"


def _draw_delivery_latency(fig: Figure, data: RunData, title: str) -> None:
    heading = "Delivery latency of referrals"
    ax = fig.subplots()
    referred = [i for i in data.items if i.referred is not None]
    pairs = [(i.referred, i.delivered) for i in referred if i.delivered is not None]
    undelivered = len(referred) - len(pairs)
    if not pairs:
        reason = data.why_empty(ITEMS_CSV) if not data.items else "No referral has both referred_s and delivered_s."
        no_data(ax, reason)
        note = [f"{_referrals(undelivered)} never delivered."] if undelivered else []
        finish(fig, title, heading, note)
        return

    floor_s = 0.001
    raw = np.array([d - r for r, d in pairs if r is not None and d is not None], dtype=float)
    clipped = int(np.count_nonzero(raw < floor_s))
    latencies = np.maximum(raw, floor_s)
    p50, p99 = (float(v) for v in np.percentile(raw, [50, 99]))
    lo, hi = float(latencies.min()), float(latencies.max())
    log_axis(ax, "x", lo, hi, SECOND_TICKS, fmt_seconds_tick)
    x_lo, x_hi = ax.get_xlim()
    bins = np.logspace(math.log10(x_lo), math.log10(x_hi), 50)
    ax.hist(latencies, bins=[float(edge) for edge in bins], color=MEMBER_COLOUR, alpha=0.8, zorder=2)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylabel("referrals (count per bin)")
    ax.set_xlabel("delivery latency: referral sent to receipt stored at the origin (simulated time, log scale)")
    ax.yaxis.grid(True, color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)

    ecdf_ax = ax.twinx()
    ordered = np.sort(latencies)
    shares = np.arange(1, len(ordered) + 1) / len(ordered)
    ecdf_ax.step(ordered, shares, where="post", color="#2c3e50", linewidth=1.6, zorder=3)
    ecdf_ax.set_ylim(0, 1.02)
    ecdf_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ecdf_ax.set_ylabel("cumulative share of delivered referrals")
    ecdf_ax.spines["right"].set_visible(True)

    handles: list[Any] = [
        Patch(facecolor=MEMBER_COLOUR, alpha=0.8, label="histogram (left axis)"),
        Line2D([], [], color="#2c3e50", linewidth=1.6, label="cumulative share (right axis)"),
    ]
    marks: list[tuple[float, str, str, LineStyle]] = [
        (p50, "p50 (median)", "#27ae60", "--"),
        (p99, "p99", "#c0392b", "-."),
    ]
    for value, name, colour, style in marks:
        ax.axvline(max(value, floor_s), color=colour, linestyle=style, linewidth=1.8, zorder=4)
        handles.append(
            Line2D([], [], color=colour, linestyle=style, linewidth=1.8, label=f"{name} = {fmt_seconds(value)}")
        )
    legend_above(ax, handles, ncols=2)

    caption = [
        f"{fmt_count(len(pairs))} delivered referrals; latency = delivered_s - referred_s. Log-spaced bins, log scale; "
        f"max {fmt_seconds(float(raw.max()))}. Long tails are deliveries held up by partitions, crashes or loss."
    ]
    if undelivered:
        caption.append(f"{_referrals(undelivered)} not delivered by the end of the run (not shown).")
    if clipped:
        caption.append(f"{fmt_count(clipped)} latencies under 1 ms are drawn at 1 ms.")
    finish(fig, title, heading, caption)


_DRAWERS: tuple[tuple[str, Callable[[Figure, RunData, str], None]], ...] = (
    ("time_to_removal.png", _draw_time_to_removal),
    ("removed_within_72h.png", _draw_removed_within_72h),
    ("referrals_backlog.png", _draw_referrals_backlog),
    ("delivery_latency.png", _draw_delivery_latency),
)
