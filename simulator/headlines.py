"""The headline figures that experiments compare, read from each run's summary.json by key.

A sweep's table has a mean and an interval of each across seeds, and `compare` the difference of each
between variants. Adding a figure is one line in HEADLINES: its name (the table's column), a label for people,
its unit, and where summary.json holds it: one key or more, dotted for a nested object
(`headline.removed_within_72h`); the first key the summary has is read, so a figure can move to a new key while
older runs still give it. A key no run's summary has, or a null (not reached, not observable), gives no value
for that run; the others still count.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from simulator.summary import SUMMARY_JSON

__all__ = ["HEADLINES", "Headline", "SummaryError", "Unit", "headline_values", "read_summary"]


class Unit(StrEnum):
    SHARE = "share"
    HOURS = "hours"
    SECONDS = "seconds"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Headline:
    name: str
    label: str
    unit: Unit
    # Where summary.json holds the figure, newest first: the first key present is read.
    keys: tuple[str, ...]


# summary.json's `headline` object (the survival estimates) first, the flat keys of earlier runs after.
HEADLINES: tuple[Headline, ...] = (
    Headline(
        "removed_within_72h",
        "removed within 72 h",
        Unit.SHARE,
        ("headline.removed_within_72h", "removed_within_72h_share"),
    ),
    Headline(
        "median_removal_hours",
        "median time to removal",
        Unit.HOURS,
        ("headline.median_removal_hours", "median_time_to_removal_hours"),
    ),
    Headline("lea_notice_within_72h", "police notified within 72 h", Unit.SHARE, ("headline.lea_notice_within_72h",)),
    Headline("ntd_within_72h", "notice to the provider within 72 h", Unit.SHARE, ("headline.ntd_within_72h",)),
    Headline("counted_items", "illegal items counted", Unit.COUNT, ("headline.counted_items",)),
    Headline("illegal_items", "illegal items", Unit.COUNT, ("illegal_items",)),
    Headline("removed", "illegal items removed", Unit.COUNT, ("removed",)),
    Headline("referral_count", "referrals", Unit.COUNT, ("referral_count",)),
    Headline(
        "delivery_latency_p50_s",
        "delivery latency p50",
        Unit.SECONDS,
        ("headline.delivery_latency_p50_s", "delivery_latency_seconds.p50"),
    ),
    Headline(
        "delivery_latency_p99_s",
        "delivery latency p99",
        Unit.SECONDS,
        ("headline.delivery_latency_p99_s", "delivery_latency_seconds.p99"),
    ),
)


class SummaryError(ValueError):
    """A run directory without a readable summary.json."""


def read_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SUMMARY_JSON
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise SummaryError(f"{run_dir} has no {SUMMARY_JSON}: not a finished run") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SummaryError(f"{path} is unreadable ({type(error).__name__})") from None
    if not isinstance(summary, dict):
        raise SummaryError(f"{path} is not a JSON object")
    return summary


def headline_values(summary: dict[str, Any]) -> dict[str, float | None]:
    """Each headline's value in one run's summary, by name (None where it has none)."""
    return {h.name: _lookup(summary, h.keys) for h in HEADLINES}


_ABSENT = object()


def _lookup(summary: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value: Any = summary
        for part in key.split("."):
            value = value.get(part, _ABSENT) if isinstance(value, dict) else _ABSENT
        if value is _ABSENT:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) else None
    return None
