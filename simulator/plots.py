"""The plots drawn from a run's metrics CSV files.

`draw_plots(run_dir)` reads `items.csv`, `timeline.csv` and `faults.csv` from a run directory (any of them may be
missing or empty) and writes four PNG files next to them:

- `time_to_removal.png`: the share removed by time since the report (Kaplan-Meier, open items censored), for the
  whole network with its 95% band and per hosting country;
- `removed_within_72h.png`: the share removed within 72 hours per hosting country with 95% intervals, against the
  published figures (or a plain "not observable" when the run is shorter than the 72-hour horizon);
- `referrals_backlog.png`: referrals sent per simulated hour and the total outbox backlog, with partition and
  crash windows shaded;
- `delivery_latency.png`: the delivery latency of referrals (histogram and cumulative share, p50 and p99 marked).

All times in the files are simulated seconds since the scenario start. The removal plots count the items of the
observation window (`survival.counted`: the summary's denominator), and every plot pools the same countries into
"other" (`plot_series.RunView`). Every figure's footer names the run (scenario, seed, mode, scale, overrides,
code version); a saturated live run is watermarked "SATURATED". A plot whose data is missing still gets
written, with an explicit "no data" panel saying why. Free text from the files goes through `plot_style.safe_text`
(fault details) or `metrics.read_run` (country cells) first, so nothing shaped like a URL can reach an image.

The files are read by `metrics.read_run`; how the figures look (style, colours, formatters, axes, captions) is
`plot_style`. The figures use matplotlib's object API with the Agg canvas: no pyplot, no global backend switch,
no screen.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MultipleLocator, PercentFormatter

from simulator.metrics import FAULTS_CSV, ITEMS_CSV, TIMELINE_CSV, Item, read_run
from simulator.plot_series import OTHER, RunView, hourly_from_counters, hourly_from_times, total_gauge
from simulator.plot_style import (
    COUNTRY_COLOURS,
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
    count_axis,
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
    value_grid,
    watermark,
)
from simulator.run_metadata import RunMetadata
from simulator.summary import SUMMARY_JSON, RunSummary
from simulator.survival import HORIZON_HOURS, ObservationWindow, Survival, estimate, time_to

__all__ = [
    "PLOT_FILES",
    "PUBLISHED_MEDIAN_REMOVAL_HOURS_2023",
    "PUBLISHED_NO_HOTLINE_REMOVAL_DAYS_2023",
    "PUBLISHED_REMOVED_WITHIN_72H",
    "SATURATED_NOTE",
    "PlotContext",
    "draw_plots",
    "run_view",
]

WINDOW_72H = 72 * HOUR

# Published reference figures (INHOPE annual reports), drawn as reference lines.
PUBLISHED_REMOVED_WITHIN_72H: tuple[tuple[int, float], ...] = ((2017, 0.62), (2018, 0.58))
PUBLISHED_MEDIAN_REMOVAL_HOURS_2023 = 60.0  # "removed within 2.5 days" (2023)
PUBLISHED_NO_HOTLINE_REMOVAL_DAYS_2023 = 28.0  # where no hotline exists: 28+ days (2023)

PLOT_FILES = ("time_to_removal.png", "removed_within_72h.png", "referrals_backlog.png", "delivery_latency.png")

# Hosting countries drawn on their own in every plot of a run; the rest are pooled as "other".
TOP_COUNTRIES = 8
SATURATED_NOTE = (
    "SATURATED: the live run's drain timed out or its clock fell behind; the figures describe the machine's load "
    "as much as the network (summary.json: saturated, event_loop_lag)."
)


@dataclass(frozen=True, slots=True)
class PlotContext:
    """What the plots take from the run besides its CSV files: the title, the metadata for the footer, the
    observation window (the summary's, so both count the same items) and whether the run was saturated."""

    title: str = ""
    metadata: RunMetadata | None = None
    window: ObservationWindow | None = None
    saturated: bool = False

    @classmethod
    def of(cls, summary: RunSummary) -> PlotContext:
        return cls(
            title=f"{summary.scenario}, seed {summary.seed}",
            metadata=summary.metadata,
            window=summary.window.window(),
            saturated=summary.saturated,
        )

    @classmethod
    def from_run_dir(cls, run_dir: Path, title: str = "") -> PlotContext:
        """The context a finished run recorded in its summary.json; an empty one when there is none."""
        try:
            raw = json.loads((run_dir / SUMMARY_JSON).read_text())
            window = raw["window"]
            return cls(
                title=title or f"{raw['scenario']}, seed {raw['seed']}",
                metadata=RunMetadata.from_dict(raw["metadata"]),
                window=ObservationWindow(
                    float(window["warmup_hours"]), float(window["horizon_hours"]), float(window["end_hours"])
                ),
                saturated=bool(raw.get("saturated", False)),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(title=title)

    def footer(self) -> str:
        if self.metadata is None:
            return ""
        return safe_text(f"Run: {self.metadata.label()}", 400)


def draw_plots(run_dir: Path, *, title: str = "", context: PlotContext | None = None) -> list[Path]:
    """Draw the run's plots from its metrics CSV files into run_dir; return the PNG paths, in PLOT_FILES order.

    `context` comes from the run's summary (`PlotContext.of`); without it, from the run directory's summary.json
    if there is one. Missing or empty CSV files give "no data" panels, never an exception. Each PNG is written to a
    temporary name and renamed, so a reader never sees half a file.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with matplotlib.rc_context(STYLE):
        for name, fig in _figures(run_dir, title, context):
            path = run_dir / name
            partial = run_dir / f".{name}.partial"
            fig.savefig(partial, format="png", dpi=DPI, metadata={"Software": None})
            os.replace(partial, path)
            written.append(path)
    return written


def run_view(run_dir: Path, context: PlotContext) -> RunView:
    """The run's data as every plot sees it: the window (the summary's, else one ending at the last sample)."""
    data = read_run(run_dir)
    window = context.window or ObservationWindow(0.0, HORIZON_HOURS, (data.end_s() or 0.0) / HOUR)
    return RunView.of(data, window, TOP_COUNTRIES)


def _figures(run_dir: Path, title: str = "", context: PlotContext | None = None) -> list[tuple[str, Figure]]:
    """The four figures, drawn but not saved (tests inspect their text)."""
    context = context or PlotContext.from_run_dir(run_dir, title)
    view = run_view(run_dir, context)
    safe_title = safe_text(title or context.title, 80)
    footer = context.footer()
    figures: list[tuple[str, Figure]] = []
    with matplotlib.rc_context(STYLE):
        for name, draw in _DRAWERS:
            fig = new_figure()
            heading, caption = draw(fig, view)
            if context.saturated:
                watermark(fig, "SATURATED")
                caption = [*caption, SATURATED_NOTE]
            finish(fig, safe_title, heading, caption, footer)
            figures.append((name, fig))
    return figures


# --------------------------------------------------------------------------------------------------- figures


def _group_colour(view: RunView, key: str) -> str:
    return OTHER_COLOUR if key == OTHER else NO_MEMBER_COLOUR if key in view.no_member else MEMBER_COLOUR


def _group_label(view: RunView, key: str) -> str:
    return f"other ({len(view.rest)} countries)" if key == OTHER else key


def _no_window_items(ax: Axes, view: RunView) -> list[str]:
    if not view.data.items:
        no_data(ax, view.data.why_empty(ITEMS_CSV))
        return []
    no_data(ax, "No item judged illegal was reported within the observation window.")
    return [f"Observation window: {view.window.note()}."]


def _draw_time_to_removal(fig: Figure, view: RunView) -> tuple[str, list[str]]:
    heading = "Share removed by time since the report (Kaplan-Meier), by hosting country"
    ax = fig.subplots()
    if not view.counted:
        return heading, _no_window_items(ax, view)
    window = view.window
    network, network_curve = estimate(*time_to(view.counted, _removed, window), horizon_observable=window.complete)
    if not network.events:
        no_data(ax, f"None of the {fmt_count(network.n)} counted items was removed by the end of the run.")
        return heading, [f"Observation window: {window.note()}."]

    floor_h = 1 / 60
    groups = view.by_group()
    handles: list[Any] = []
    for index, key in enumerate(view.groups):
        members = groups[key]
        survival, curve = estimate(*time_to(members, _removed, window), horizon_observable=window.complete)
        if not curve.hours:
            continue
        xs = [max(h, floor_h) for h in curve.hours]
        # A colour per country; a country without a member hotline dotted, "other" grey.
        colour = OTHER_COLOUR if key == OTHER else COUNTRY_COLOURS[index % len(COUNTRY_COLOURS)]
        style: LineStyle = ":" if key in view.no_member else "-"
        ax.step(xs, curve.share, where="post", color=colour, linestyle=style, linewidth=1.4, alpha=0.9, zorder=3)
        share = "" if survival.within_horizon is None else f", {survival.within_horizon:.0%} by 72 h"
        fallback = " (no member)" if key in view.no_member else ""
        label = f"{_group_label(view, key)}{fallback}: n={members_n(members)}{share}"
        handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=1.4, label=label))
    xs = [max(h, floor_h) for h in network_curve.hours]
    ax.fill_between(
        xs,
        network_curve.low,
        network_curve.high,
        step="post",
        color="black",
        alpha=0.12,
        linewidth=0,
        zorder=2,
    )
    ax.step(xs, network_curve.share, where="post", color="black", linewidth=2.4, zorder=4)
    handles.insert(
        0, Line2D([], [], color="black", linewidth=2.4, label=f"whole network: n={fmt_count(network.n)} (band: 95% CI)")
    )

    first = min((h for h, seen in zip(*time_to(view.counted, _removed, window), strict=True) if seen), default=1.0)
    log_axis(ax, "x", max(floor_h, min(first, 1.0)), max(window.end_hours, 72.0 * 1.3), HOUR_TICKS, fmt_hours_tick)
    ax.axvline(72, color=LINE_72H_COLOUR, linestyle="--", linewidth=1.6, zorder=1)
    ax.axvline(PUBLISHED_MEDIAN_REMOVAL_HOURS_2023, color="#555555", linestyle=":", linewidth=1.4, zorder=1)
    handles.append(Line2D([], [], color=LINE_72H_COLOUR, linestyle="--", linewidth=1.6, label="72 hours (3 days)"))
    handles.append(
        Line2D([], [], color="#555555", linestyle=":", linewidth=1.4, label="published 2023: removed within 2.5 days")
    )
    ax.axhline(0.5, color="#bbbbbb", linewidth=0.8, zorder=1)
    legend_above(ax, handles, ncols=3)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(True, color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xlabel("time since the report (log scale); each curve ends at its longest follow-up")
    ax.set_ylabel("share of counted items removed")

    if network.median_reached and network.median_hours is not None:
        median = f"median {fmt_hours(network.median_hours)}" + _interval(
            network.median_low_hours, network.median_high_hours, fmt_hours
        )
    else:
        median = "median not reached: fewer than half the counted items were removed by the end of the run"
    caption = [
        f"Kaplan-Meier estimate over the {fmt_count(network.n)} items the observation window counts: judged "
        f"illegal, {_scope(window)}; {fmt_count(network.censored)} still open at the end of the run "
        "(right-censored, not left out). Whole network: "
        + median
        + ". Countries beyond the top "
        + f"{TOP_COUNTRIES} by counted items are pooled as 'other' (the same pooling in every plot of this run).",
    ]
    return heading, caption


def _scope(window: ObservationWindow) -> str:
    """Which reports the window counts, as a phrase for a caption."""
    if window.complete:
        return window.note()
    return f"every report after the warm-up ({window.note()})"


def members_n(items: list[Item]) -> str:
    return fmt_count(len(items))


def _interval(low: float | None, high: float | None, fmt: Callable[[float], str]) -> str:
    lo = "?" if low is None else fmt(low)
    hi = "not reached" if high is None else fmt(high)
    return f" (95% CI {lo} to {hi})"


def _removed(item: Item) -> float | None:
    return item.removed


def _draw_removed_within_72h(fig: Figure, view: RunView) -> tuple[str, list[str]]:
    heading = "Share removed within 72 hours of the report, by hosting country"
    ax = fig.subplots()
    window = view.window
    if not view.counted:
        return heading, _no_window_items(ax, view)
    if not window.complete:
        no_data(
            ax,
            f"Not observable: the run lasted {fmt_hours(window.end_hours)}, shorter than warm-up "
            f"{fmt_hours(window.warmup_hours) if window.warmup_hours else '0 h'} + the 72-hour horizon,\n"
            "so no item could be watched for 72 hours. Run longer (simulation.drain_hours) for this figure.",
        )
        return heading, [f"Observation window: {window.note()}."]

    groups = view.by_group()
    rows: list[tuple[str, Survival]] = []
    for key in view.groups:
        rows.append((key, estimate(*time_to(groups[key], _removed, window))[0]))
    top_rows = sorted((r for r in rows if r[0] != OTHER), key=lambda r: (-(r[1].within_horizon or 0.0), -r[1].n, r[0]))
    rows = [*top_rows, *(r for r in rows if r[0] == OTHER)]
    shares = [s.within_horizon or 0.0 for _, s in rows]
    low = [max(0.0, share - (s.within_horizon_low or 0.0)) for share, (_, s) in zip(shares, rows, strict=True)]
    high = [max(0.0, (s.within_horizon_high or 0.0) - share) for share, (_, s) in zip(shares, rows, strict=True)]
    colours = [_group_colour(view, key) for key, _ in rows]
    positions = list(range(len(rows)))
    ax.bar(positions, shares, color=colours, alpha=0.85, width=0.7, zorder=2)
    ax.errorbar(positions, shares, yerr=[low, high], fmt="none", ecolor="#333333", elinewidth=1.2, capsize=4, zorder=3)
    for pos, share, (_, s), up in zip(positions, shares, rows, high, strict=True):
        ax.text(
            pos,
            share + up + 0.015,
            f"{share:.0%}\n{fmt_count(round(share * s.n))}/{fmt_count(s.n)}",
            ha="center",
            va="bottom",
            fontsize=8.5,
            zorder=4,
        )
    ax.set_xticks(positions, [f"other\n({len(view.rest)})" if key == OTHER else key for key, _ in rows])
    ax.set_xlim(-0.6, len(rows) - 0.4)

    network = estimate(*time_to(view.counted, _removed, window))[0]
    handles: list[Any] = []
    styles: list[tuple[str, LineStyle]] = [("#2c3e50", "--"), ("#7f8c8d", ":")]
    for (year, share), (colour, style) in zip(PUBLISHED_REMOVED_WITHIN_72H, styles, strict=True):
        ax.axhline(share, color=colour, linestyle=style, linewidth=1.6, zorder=3)
        handles.append(
            Line2D([], [], color=colour, linestyle=style, linewidth=1.6, label=f"published {year}: {share:.0%}")
        )
    value = network.within_horizon or 0.0
    ax.axhline(value, color="#c0392b", linestyle="-", linewidth=1.8, zorder=3)
    handles.append(
        Line2D(
            [],
            [],
            color="#c0392b",
            linewidth=1.8,
            label=f"simulated, whole network: {value:.0%}"
            + _interval(network.within_horizon_low, network.within_horizon_high, lambda v: f"{v:.0%}")
            + f", n={fmt_count(network.n)}",
        )
    )
    if MEMBER_COLOUR in colours:
        handles.append(Patch(facecolor=MEMBER_COLOUR, alpha=0.85, label="member hotline in hosting country"))
    if NO_MEMBER_COLOUR in colours:
        handles.append(Patch(facecolor=NO_MEMBER_COLOUR, alpha=0.85, label="no member hotline (fallback)"))
    if view.rest:
        handles.append(Patch(facecolor=OTHER_COLOUR, alpha=0.85, label=f"other: {len(view.rest)} smaller countries"))
    legend_above(ax, handles, ncols=3)

    ax.set_ylim(0, 1.2)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    value_grid(ax)
    ax.set_ylabel("removed within 72 hours (% of counted items)")
    ax.set_xlabel("hosting country (sorted by share; above the bar: removed within 72 h / counted items)")
    caption = [
        f"Counted: the {fmt_count(network.n)} items judged illegal among the {window.note()}, each watched for 72 "
        "hours. An item "
        "counts as removed when the origin hotline learned of the removal within 72 hours of the report. Error bars: "
        "95% confidence intervals (Kaplan-Meier, exponential Greenwood; exact binomial at 0% or 100%).",
        "Published figures (INHOPE): 62% of reports removed within 3 days in 2017, 58% in 2018.",
    ]
    return heading, caption


def _draw_referrals_backlog(fig: Figure, view: RunView) -> tuple[str, list[str]]:
    heading = "Referrals sent and outbox backlog over simulated time"
    data = view.data
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
        count_axis(ax_top, values, 1.3, "referrals sent\nper hour")
    else:
        reason = data.why_empty(TIMELINE_CSV) if not data.timeline else "No referral counters in timeline.csv."
        no_data(ax_top, f"Referrals per hour: {reason}")
    if backlog_t:
        xs = [t / unit for t in backlog_t]
        ax_bottom.fill_between(xs, backlog, step="post", color="#8e44ad", alpha=0.25, zorder=2)
        ax_bottom.step(xs, backlog, where="post", color="#8e44ad", linewidth=1.4, zorder=3)
        count_axis(ax_bottom, backlog, 1.15, "outbox backlog\n(referrals, all nodes)")
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
    return heading, caption


def _referrals(n: int) -> str:
    return f"{fmt_count(n)} referral was" if n == 1 else f"{fmt_count(n)} referrals were"


def _draw_delivery_latency(fig: Figure, view: RunView) -> tuple[str, list[str]]:
    heading = "Delivery latency of referrals"
    data = view.data
    ax = fig.subplots()
    referred = [i for i in data.items if i.referred is not None]
    pairs = [(i.referred, i.delivered) for i in referred if i.delivered is not None]
    undelivered = len(referred) - len(pairs)
    if not pairs:
        reason = data.why_empty(ITEMS_CSV) if not data.items else "No referral has both referred_s and delivered_s."
        no_data(ax, reason)
        return heading, [f"{_referrals(undelivered)} never delivered."] if undelivered else []

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
    value_grid(ax)

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
    return heading, caption


_DRAWERS: tuple[tuple[str, Callable[[Figure, RunView], tuple[str, list[str]]]], ...] = (
    ("time_to_removal.png", _draw_time_to_removal),
    ("removed_within_72h.png", _draw_removed_within_72h),
    ("referrals_backlog.png", _draw_referrals_backlog),
    ("delivery_latency.png", _draw_delivery_latency),
)
