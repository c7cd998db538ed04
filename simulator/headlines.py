"""The headline figures that experiments compare, read from each run's summary.json by key.

A sweep's table has a mean and an interval of each across seeds, and `compare` the difference of each
between variants. Adding a figure is one line in HEADLINES: its key in summary.json (a dotted path for a
nested object, as `delivery_latency_seconds.p50`), a label for people, and its unit. A key a run's summary
lacks, or holds as null (no removal, so no median), gives no value for that run; the others still count.
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
    key: str
    label: str
    unit: Unit


HEADLINES: tuple[Headline, ...] = (
    Headline("removed_within_72h_share", "removed within 72 h (of illegal)", Unit.SHARE),
    Headline("median_time_to_removal_hours", "median time to removal (of removed)", Unit.HOURS),
    Headline("removed", "illegal items removed", Unit.COUNT),
    Headline("illegal_items", "illegal items", Unit.COUNT),
    Headline("referral_count", "referrals", Unit.COUNT),
    Headline("delivery_latency_seconds.p50", "delivery latency p50", Unit.SECONDS),
    Headline("delivery_latency_seconds.p99", "delivery latency p99", Unit.SECONDS),
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
    """Each headline's value in one run's summary (None where it has none)."""
    return {h.key: _lookup(summary, h.key) for h in HEADLINES}


def _lookup(summary: dict[str, Any], key: str) -> float | None:
    value: Any = summary
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
