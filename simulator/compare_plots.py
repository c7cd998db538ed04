"""`hotline-sim compare`'s overlay plots, drawn from the variants' items.csv files (every seed of a variant pooled):

    compare_time_to_removal.png          per variant, the Kaplan-Meier estimate of the share of illegal items
                                         still online t hours after their report, with its 95% band
    compare_within_72h_by_country.png    per hosting country, the share of illegal items removed within 72 hours,
                                         a bar per variant side by side (before and after)

An item not removed by the end of its run is censored there (right-censoring), as in the run's own summary
(`simulator/survival.py`): an item reported late is not counted as online for longer than its run watched it.
Up to the dashed line every item was observed for that long; beyond it the estimate rests on fewer items.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simulator.compare import Group
from simulator.headlines import read_summary
from simulator.metrics import Item, read_run
from simulator.plot_style import (
    DPI,
    HOUR,
    LINE_72H_COLOUR,
    STYLE,
    finish,
    fmt_hours,
    legend_above,
    new_figure,
    no_data,
    safe_text,
)
from simulator.survival import estimate

__all__ = ["COMPARE_PLOTS", "draw_compare_plots"]

COMPARE_PLOTS = ("compare_time_to_removal.png", "compare_within_72h_by_country.png")
# Countries shown by name (the most illegal items over all variants); the rest are pooled as "other", the same
# pooling for every variant.
_COUNTRIES = 12
_WITHIN_S = 72 * HOUR
# Up to this many bars carry their value as a label.
_LABELLED_BARS = 40


class _Variant:
    """A variant's illegal items, pooled over its runs, and how long every one of them was observed."""

    def __init__(self, group: Group) -> None:
        self.label = safe_text(group.label, 70)
        self.runs = len(group.runs)
        self.items: list[Item] = []
        # Hours from report to removal, or to the end of its run for an item not removed (censored).
        self.durations: list[float] = []
        self.removed: list[bool] = []
        horizons: list[float] = []
        scenarios: set[str] = set()
        seeds: list[int] = []
        for run in group.runs:
            summary = read_summary(run)
            scenarios.add(str(summary.get("scenario", "?")))
            seeds.append(int(summary.get("seed", 0)))
            data = read_run(run)
            end = data.end_s()
            illegal = [i for i in data.items if i.illegal and i.reported is not None]
            self.items.extend(illegal)
            for item in illegal:
                assert item.reported is not None
                seen = item.removed is not None and (end is None or item.removed <= end)
                until = item.removed if seen else end
                self.durations.append(max(0.0, ((until or item.reported) - item.reported) / HOUR))
                self.removed.append(seen)
            if end is not None and illegal:
                horizons.append(end - max(i.reported for i in illegal if i.reported is not None))
        self.observed_h = min(horizons) / HOUR if horizons else None
        seed_text = ", ".join(str(s) for s in sorted(seeds))
        self.metadata = safe_text(f"{group.label}: scenario {', '.join(sorted(scenarios))}, seeds {seed_text}", 200)


def draw_compare_plots(out: Path, groups: Sequence[Group]) -> list[Path]:
    """Draw both figures into out; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    variants = [_Variant(g) for g in groups]
    written = []
    with matplotlib.rc_context(STYLE):
        for name, draw in zip(COMPARE_PLOTS, (_time_to_removal, _within_72h_by_country), strict=True):
            fig = new_figure()
            draw(fig, variants)
            partial = out / f".{name}.partial"
            fig.savefig(partial, format="png", dpi=DPI, metadata={"Software": None})
            os.replace(partial, out / name)
            written.append(out / name)
    return written


def _time_to_removal(fig: Figure, variants: Sequence[_Variant]) -> None:
    ax = fig.add_subplot()
    title = f"compare, {len(variants)} variants"
    if not any(v.items for v in variants):
        no_data(ax, "no variant has an illegal item in its items.csv")
        finish(fig, title, "Time to removal", [])
        return
    longest = max((max(v.durations) for v in variants if v.durations), default=1.0)
    x_max = max(longest, max((v.observed_h or 0.0) for v in variants), 1.0)
    handles: list[Line2D] = []
    for index, variant in enumerate(variants):
        total = len(variant.items)
        if not total:
            continue
        _, curve = estimate(variant.durations, variant.removed, horizon_observable=False)
        xs = np.concatenate(([0.0], curve.hours, [x_max]))
        online = 1.0 - np.concatenate(([0.0], curve.share, [curve.share[-1] if curve.share else 0.0]))
        low = 1.0 - np.concatenate(([0.0], curve.high, [curve.high[-1] if curve.high else 0.0]))
        high = 1.0 - np.concatenate(([0.0], curve.low, [curve.low[-1] if curve.low else 0.0]))
        ax.fill_between(xs, low, high, step="post", color=f"C{index}", alpha=0.15, linewidth=0)
        (line,) = ax.step(xs, online, where="post", color=f"C{index}", linewidth=1.8)
        censored = variant.removed.count(False)
        line.set_label(f"{variant.label} ({total} illegal items, {censored} censored, {variant.runs} runs)")
        handles.append(line)
    observed = min((v.observed_h for v in variants if v.observed_h is not None), default=None)
    if observed is not None:
        ax.axvline(observed, color="#555555", linestyle="--", linewidth=1)
        ax.annotate(
            f"every item observed {fmt_hours(observed)}",
            (observed, 1.0),
            textcoords="offset points",
            xytext=(-4, -12),
            ha="right",
            fontsize=9,
            color="#555555",
        )
    if x_max >= 72:
        ax.axvline(72, color=LINE_72H_COLOUR, linewidth=1)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("hours since the report")
    ax.set_ylabel("share of illegal items still online")
    legend_above(ax, handles, ncols=1)
    finish(
        fig,
        title,
        "Time to removal",
        [
            "Kaplan-Meier, every seed of a variant pooled, with the 95% band; an item not removed is censored at "
            "the end of its run. Past the dashed line some items were not observed that long.",
            *_metadata(variants),
        ],
    )


def _within_72h_by_country(fig: Figure, variants: Sequence[_Variant]) -> None:
    ax = fig.add_subplot()
    title = f"compare, {len(variants)} variants"
    totals: dict[str, int] = {}
    for variant in variants:
        for item in variant.items:
            totals[item.hosting] = totals.get(item.hosting, 0) + 1
    if not totals:
        no_data(ax, "no variant has an illegal item in its items.csv")
        finish(fig, title, "Removed within 72 h, by hosting country", [])
        return
    named = sorted(totals, key=lambda c: (-totals[c], c))[:_COUNTRIES]
    columns = [*named, "other"] if len(totals) > len(named) else named
    width = 0.8 / len(variants)
    positions = np.arange(len(columns), dtype=float)
    for index, variant in enumerate(variants):
        shares = []
        for column in columns:
            items = [i for i in variant.items if (i.hosting if i.hosting in named else "other") == column]
            within = sum(
                1
                for i in items
                if i.removed is not None and i.reported is not None and i.removed - i.reported <= _WITHIN_S
            )
            shares.append(within / len(items) if items else np.nan)
        bars = ax.bar(
            positions + (index - (len(variants) - 1) / 2) * width,
            shares,
            width,
            color=f"C{index}",
            label=f"{variant.label} ({variant.runs} runs)",
        )
        if len(columns) * len(variants) <= _LABELLED_BARS:  # a 0% bar is seen by its label
            ax.bar_label(bars, labels=["" if np.isnan(v) else f"{v:.0%}" for v in shares], fontsize=8, padding=2)
    ax.set_xticks(positions, [safe_text(c, 8) for c in columns])
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("hosting country (most illegal items first)")
    ax.set_ylabel("share of illegal items removed within 72 h")
    handles, _labels = ax.get_legend_handles_labels()
    legend_above(ax, handles, ncols=1)
    finish(
        fig,
        title,
        "Removed within 72 h, by hosting country",
        [
            "Of the illegal items hosted in each country, every seed of a variant pooled; a country a variant has "
            "no illegal item in has no bar. Items not removed by the end of a run count as not removed"
            + _short_runs(variants),
            *_metadata(variants),
        ],
    )


def _metadata(variants: Sequence[_Variant]) -> list[str]:
    return ["; ".join(v.metadata for v in variants)]


def _short_runs(variants: Sequence[_Variant]) -> str:
    observed = min((v.observed_h for v in variants if v.observed_h is not None), default=None)
    if observed is None or observed >= 72:
        return "."
    return f" (the last items of a run were observed only {fmt_hours(observed)}, less than 72 h)."
