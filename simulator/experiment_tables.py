"""The terminal tables of `hotline-sim sweep` and `hotline-sim compare`: rich tables built from the sweep's table
(sweep.json's dict) and from compare's differences. User text (settings, directory names) is escaped before
it meets rich markup."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from simulator.headlines import HEADLINES, Headline, Unit
from simulator.intervals import CONFIDENCE

__all__ = ["comparison_table", "format_value", "sweep_table"]

# Variants shown side by side in the terminal; sweep.csv has them all.
_MAX_COLUMNS = 6


def format_value(value: float | None, unit: Unit, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    sign = "+" if signed else ""
    if unit is Unit.SHARE:  # a difference of shares is in percentage points
        return f"{value * 100:{sign}.1f} pp" if signed else f"{value:.1%}"
    if unit is Unit.HOURS:
        return f"{value:{sign}.1f} h"
    if unit is Unit.SECONDS:
        return f"{value:{sign}.2f} s" if abs(value) < 10 else f"{value:{sign}.0f} s"
    return f"{value:{sign}.1f}" if value != int(value) else f"{value:{sign}.0f}"


def sweep_table(table: dict[str, Any]) -> Table:
    """One column per variant (the first few), one row per headline: mean and interval across seeds."""
    variants = table["variants"][:_MAX_COLUMNS]
    title = f"{table['scenario']} — sweep, {len(table['seeds'])} seeds, mean [{CONFIDENCE:.0%} CI]"
    if len(table["variants"]) > _MAX_COLUMNS:
        title += f" (first {_MAX_COLUMNS} of {len(table['variants'])} variants; all in sweep.csv)"
    rich = Table(title=escape(title))
    rich.add_column("")
    for variant in variants:
        settings = "\n".join(f"{k}={v}" for k, v in variant["settings"].items()) or "as written"
        rich.add_column(escape(f"{variant['variant']}\n{settings}"), justify="right", overflow="fold")
    rich.add_row("runs (invariants held)", *(f"{v['seeds']} ({v['runs_ok']})" for v in variants))
    for headline in HEADLINES:
        rich.add_row(escape(headline.label), *(_estimate(v["figures"][headline.name], headline) for v in variants))
    return rich


def comparison_table(baseline: str, other: str, rows: Sequence[tuple[Headline, Any, Any, Any]]) -> Table:
    """`rows`: (headline, baseline Estimate, other Estimate, Difference) for each headline figure."""
    paired = any(diff.paired for *_, diff in rows)
    how = "paired by seed, mean difference" if paired else "difference of means, Welch"
    rich = Table(title=escape(f"{other} vs {baseline}: {how} {CONFIDENCE:.0%} CI"))
    rich.add_column("")
    rich.add_column(escape(baseline), justify="right", overflow="fold")
    rich.add_column(escape(other), justify="right", overflow="fold")
    rich.add_column("difference", justify="right")
    rich.add_column(f"{CONFIDENCE:.0%} CI", justify="right")
    for headline, a, b, diff in rows:
        interval = (
            "—"
            if diff.low is None
            else f"{format_value(diff.low, headline.unit, signed=True)} to "
            f"{format_value(diff.high, headline.unit, signed=True)}"
        )
        rich.add_row(
            escape(headline.label),
            f"{format_value(a.mean, headline.unit)} (n={a.n})",
            f"{format_value(b.mean, headline.unit)} (n={b.n})",
            format_value(diff.difference, headline.unit, signed=True),
            interval,
        )
    return rich


def _estimate(figure: dict[str, Any], headline: Headline) -> str:
    mean = format_value(figure["mean"], headline.unit)
    if figure["ci_low"] is None:
        return mean
    low, high = format_value(figure["ci_low"], headline.unit), format_value(figure["ci_high"], headline.unit)
    return escape(f"{mean} [{low}, {high}]")
