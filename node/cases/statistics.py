"""Statistics: counts, times from report to LEA notice, to NTD and to removal, and the 72-hour share.

Pure functions over item milestones, so the same code serves the API, the demo and the simulator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from node.cases.model import Classification, ItemState
from node.cases.ports import ItemTimes

__all__ = ["REMOVAL_TARGET", "DurationSummary", "Statistics", "compute_statistics", "quantile"]

REMOVAL_TARGET = timedelta(hours=72)
# Content found gone counts as removed: either way it is offline.
_REMOVED = (ItemState.CLOSED_REMOVED, ItemState.CLOSED_UNAVAILABLE)
_ILLEGAL = (Classification.BASELINE, Classification.NATIONAL)


@dataclass(frozen=True, slots=True)
class DurationSummary:
    count: int
    median_seconds: float
    p90_seconds: float


@dataclass(frozen=True, slots=True)
class Statistics:
    hosting_country: str
    item_count: int
    by_state: dict[str, int]
    by_classification: dict[str, int]
    report_to_lea: DurationSummary
    report_to_ntd: DurationSummary
    report_to_removal: DurationSummary
    removed_count: int
    removed_within_72h_count: int
    illegal_count: int = 0  # classified BASELINE or NATIONAL

    @property
    def removed_within_72h_share(self) -> float:
        """Of the illegal items, the share removed within 72 hours of the first report; items still open
        count as not (yet) removed. This is the success rate: a period with little removed reads low."""
        return self.removed_within_72h_count / self.illegal_count if self.illegal_count else 0.0

    @property
    def removed_within_72h_share_of_removed(self) -> float:
        """Of the items removed, the share removed within 72 hours: how fast removals were, not how many."""
        return self.removed_within_72h_count / self.removed_count if self.removed_count else 0.0


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (the 'type 7' of R and NumPy's default) of sorted values."""
    if not sorted_values:
        return 0.0
    position = (len(sorted_values) - 1) * q
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def compute_statistics(rows: Iterable[ItemTimes], hosting_country: str = "") -> Statistics:
    rows = list(rows)
    to_lea = sorted((r.lea_notified_at - r.first_reported_at).total_seconds() for r in rows if r.lea_notified_at)
    to_ntd = sorted((r.ntd_sent_at - r.first_reported_at).total_seconds() for r in rows if r.ntd_sent_at)
    to_removal = sorted(
        (r.closed_at - r.first_reported_at).total_seconds() for r in rows if r.closed_at and r.state in _REMOVED
    )
    within = sum(1 for seconds in to_removal if seconds <= REMOVAL_TARGET.total_seconds())
    return Statistics(
        hosting_country=hosting_country,
        item_count=len(rows),
        by_state=dict(sorted(Counter(str(r.state) for r in rows).items())),
        by_classification=dict(
            sorted(Counter(str(r.classification) if r.classification else "UNASSESSED" for r in rows).items())
        ),
        report_to_lea=_summary(to_lea),
        report_to_ntd=_summary(to_ntd),
        report_to_removal=_summary(to_removal),
        removed_count=len(to_removal),
        removed_within_72h_count=within,
        illegal_count=sum(1 for r in rows if r.classification in _ILLEGAL),
    )


def _summary(sorted_seconds: list[float]) -> DurationSummary:
    return DurationSummary(len(sorted_seconds), quantile(sorted_seconds, 0.5), quantile(sorted_seconds, 0.9))
