"""Statistics: quantiles by linear interpolation, times to LEA / NTD / removal, and the 72-hour share; against
hand-computed figures, directly and through the service (per period and per hosting country)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from node.app import Node
from node.cases.model import ActionType, Assessment, Classification, ItemState
from node.cases.ports import ItemTimes
from node.cases.requests import NewAction, NewReport, NewUrl
from node.cases.statistics import REMOVAL_TARGET, DurationSummary, compute_statistics, quantile
from node.clock import ManualClock
from node.errors import InvalidArgument
from tests.conftest import ANALYST, INTAKE, START

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = 3600.0


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# ---------------------------------------------------------------------------------------------- quantile


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, 0.0),
        ([7.0], 0.5, 7.0),
        ([7.0], 0.9, 7.0),
        ([1.0, 2.0], 0.5, 1.5),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),  # position 1.5
        ([1.0, 2.0, 3.0, 4.0], 0.9, 3.7),  # position 2.7: 3 + 0.7 * (4 - 3)
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0.5, 30.0),  # position 2: exactly the middle value
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0.9, 46.0),  # position 3.6: 40 + 0.6 * 10
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0.0, 10.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 1.0, 50.0),
        ([0.0, 0.0, 100.0], 0.9, 80.0),  # position 1.8: 0 + 0.8 * 100
    ],
)
def test_quantile_interpolates_linearly(values: list[float], q: float, expected: float) -> None:
    assert quantile(values, q) == pytest.approx(expected)


def test_quantile_agrees_with_numpy_linear_percentiles() -> None:
    rng = np.random.default_rng(20260302)
    for size in (1, 2, 3, 10, 101):
        values = sorted(float(v) for v in rng.integers(0, 500_000, size))
        for q in (0.1, 0.5, 0.9, 0.99):
            assert quantile(values, q) == pytest.approx(float(np.quantile(values, q, method="linear")))


# ---------------------------------------------------------------------------------------------- compute_statistics


def times(
    state: ItemState,
    classification: Classification | None,
    country: str | None,
    lea: float | None = None,
    ntd: float | None = None,
    closed: float | None = None,
) -> ItemTimes:
    return ItemTimes(
        item_id=f"{state}-{lea}-{ntd}-{closed}",
        state=state,
        classification=classification,
        hosting_country=country,
        first_reported_at=T0,
        lea_notified_at=h(lea) if lea is not None else None,
        ntd_sent_at=h(ntd) if ntd is not None else None,
        closed_at=h(closed) if closed is not None else None,
    )


ROWS = [
    times(ItemState.CLOSED_REMOVED, Classification.NATIONAL, "NL", lea=1, ntd=2, closed=10),
    times(ItemState.CLOSED_UNAVAILABLE, Classification.BASELINE, "NL", lea=3, ntd=5, closed=72),  # 72 h: in time
    times(ItemState.CLOSED_REMOVED, Classification.NATIONAL, "DE", ntd=4, closed=100),
    times(ItemState.CLOSED_NOT_ILLEGAL, Classification.NOT_ILLEGAL, "NL", closed=1),  # closed, not removed
    times(ItemState.AWAITING_ASSESSMENT, None, None),
    times(ItemState.NTD_SENT, Classification.NATIONAL, "NL", lea=2, ntd=6),
]


def test_statistics_from_hand_computed_milestones() -> None:
    stats = compute_statistics(ROWS, "")
    assert stats.item_count == 6
    assert stats.by_state == {
        "AWAITING_ASSESSMENT": 1,
        "CLOSED_NOT_ILLEGAL": 1,
        "CLOSED_REMOVED": 2,
        "CLOSED_UNAVAILABLE": 1,
        "NTD_SENT": 1,
    }
    assert list(stats.by_state) == sorted(stats.by_state)
    assert stats.by_classification == {"BASELINE": 1, "NATIONAL": 3, "NOT_ILLEGAL": 1, "UNASSESSED": 1}
    # To LEA: 1 h, 2 h, 3 h. Median 2 h; p90 at position 1.8: 2 h + 0.8 h.
    assert stats.report_to_lea.count == 3
    assert stats.report_to_lea.median_seconds == pytest.approx(2 * HOUR)
    assert stats.report_to_lea.p90_seconds == pytest.approx(2.8 * HOUR)
    # To NTD: 2, 4, 5, 6 h. Median at 1.5: 4.5 h; p90 at 2.7: 5.7 h.
    assert stats.report_to_ntd.count == 4
    assert stats.report_to_ntd.median_seconds == pytest.approx(4.5 * HOUR)
    assert stats.report_to_ntd.p90_seconds == pytest.approx(5.7 * HOUR)
    # To removal: 10, 72 (unavailable counts as removed), 100 h. Median 72 h; p90 at 1.8: 72 + 0.8 * 28 h.
    assert stats.report_to_removal.count == 3
    assert stats.report_to_removal.median_seconds == pytest.approx(72 * HOUR)
    assert stats.report_to_removal.p90_seconds == pytest.approx(94.4 * HOUR)
    assert (stats.removed_count, stats.removed_within_72h_count) == (3, 2)
    # Of the 4 illegal items (BASELINE and NATIONAL), 2 were removed within 72 h: the still-open ones count as
    # not removed. Of the 3 removed, 2 were that fast.
    assert stats.illegal_count == 4
    assert stats.removed_within_72h_share == pytest.approx(2 / 4)
    assert stats.removed_within_72h_share_of_removed == pytest.approx(2 / 3)


def test_content_found_unavailable_counts_as_removed() -> None:
    only_unavailable = [times(ItemState.CLOSED_UNAVAILABLE, Classification.NATIONAL, "BR", closed=5)]
    stats = compute_statistics(only_unavailable, "BR")
    assert (stats.hosting_country, stats.removed_count, stats.removed_within_72h_count) == ("BR", 1, 1)
    assert stats.report_to_removal == DurationSummary(1, 5 * HOUR, 5 * HOUR)


def test_the_72_hour_target_includes_its_last_second() -> None:
    target = REMOVAL_TARGET.total_seconds() / HOUR
    assert target == 72
    rows = [
        times(ItemState.CLOSED_REMOVED, Classification.NATIONAL, "NL", closed=target),
        times(ItemState.CLOSED_REMOVED, Classification.NATIONAL, "NL", closed=target + 1 / 3600),
    ]
    stats = compute_statistics(rows)
    assert (stats.removed_count, stats.removed_within_72h_count) == (2, 1)
    assert stats.removed_within_72h_share == 0.5


def test_no_items_gives_zeros() -> None:
    stats = compute_statistics([], "NL")
    assert (stats.item_count, stats.by_state, stats.by_classification) == (0, {}, {})
    for summary in (stats.report_to_lea, stats.report_to_ntd, stats.report_to_removal):
        assert summary == DurationSummary(0, 0.0, 0.0)
    assert stats.removed_within_72h_share == 0.0


def test_closed_without_removal_does_not_count_as_removed() -> None:
    rows = [
        times(ItemState.CLOSED_NOT_ILLEGAL, Classification.NOT_ILLEGAL, "NL", closed=2),
        times(ItemState.WITHDRAWN, Classification.NATIONAL, "DE", closed=3),
    ]
    stats = compute_statistics(rows)
    assert stats.removed_count == 0 and stats.report_to_removal.count == 0


# ---------------------------------------------------------------------------------------------- through the service


def _submit(node: Node, url: str) -> str:
    return node.cases.submit_report(INTAKE, NewReport((NewUrl(url),))).items[0].item_id


def _act(node: Node, item_id: str, action: ActionType) -> None:
    node.cases.record_action(ANALYST, item_id, NewAction(action))


@pytest.fixture
def history(node: Node, clock: ManualClock) -> dict[str, str]:
    """Four items reported at START, one a week later."""
    assert clock.now() == START
    ids = {k: _submit(node, f"https://{k}.host.example/stats") for k in ("nl", "br", "de", "unknown")}
    for item_id in ids.values():
        node.cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL))
    clock.advance(timedelta(hours=1))
    for k in ("nl", "br"):
        _act(node, ids[k], ActionType.LEA_NOTIFIED)
    clock.advance(timedelta(hours=1))
    for k in ("nl", "br"):
        _act(node, ids[k], ActionType.HP_NOTIFIED)
    clock.advance(timedelta(hours=28))
    _act(node, ids["nl"], ActionType.CONTENT_REMOVED)  # 30 h after the report
    clock.advance(timedelta(hours=50))
    _act(node, ids["br"], ActionType.CONTENT_UNAVAILABLE)  # 80 h
    clock.advance(START + timedelta(days=8) - clock.now())
    ids["later"] = _submit(node, "https://nl.host.example/stats-later")
    node.cases.assess(ANALYST, ids["later"], Assessment(Classification.NOT_ILLEGAL))
    return ids


def test_statistics_for_a_period_overall_and_per_country(node: Node, history: dict[str, str]) -> None:
    overall, per_country = node.cases.statistics(start=START, end=START + timedelta(days=7))
    assert overall.item_count == 4 and overall.hosting_country == ""
    assert overall.by_state == {"AWAITING_HOSTING": 1, "CLOSED_REMOVED": 1, "CLOSED_UNAVAILABLE": 1, "REFERRED": 1}
    assert overall.by_classification == {"NATIONAL": 4}
    assert overall.report_to_lea == DurationSummary(2, HOUR, HOUR)
    assert overall.report_to_ntd == DurationSummary(2, 2 * HOUR, 2 * HOUR)
    # Removal after 30 h and 80 h: median 55 h, p90 at position 0.9: 30 + 0.9 * 50 = 75 h.
    assert overall.report_to_removal.count == 2
    assert overall.report_to_removal.median_seconds == pytest.approx(55 * HOUR)
    assert overall.report_to_removal.p90_seconds == pytest.approx(75 * HOUR)
    assert (overall.removed_count, overall.removed_within_72h_count) == (2, 1)
    # Per hosting country, sorted; the item whose hosting is unknown counts overall only.
    assert [s.hosting_country for s in per_country] == ["BR", "DE", "NL"]
    br, de, nl = per_country
    assert (br.item_count, br.removed_count, br.removed_within_72h_count) == (1, 1, 0)
    assert (de.item_count, de.by_state) == (1, {"REFERRED": 1})
    assert (nl.item_count, nl.removed_count, nl.removed_within_72h_share) == (1, 1, 1.0)
    assert sum(s.item_count for s in per_country) == overall.item_count - 1


def test_statistics_periods_are_half_open(node: Node, history: dict[str, str]) -> None:
    everything, _ = node.cases.statistics(start=None, end=None)
    assert everything.item_count == 5
    later, per_country = node.cases.statistics(start=START + timedelta(days=8), end=None)
    assert (later.item_count, later.by_state) == (1, {"CLOSED_NOT_ILLEGAL": 1})
    assert [s.hosting_country for s in per_country] == ["NL"]
    assert node.cases.statistics(start=START + timedelta(microseconds=1), end=None)[0].item_count == 1
    assert node.cases.statistics(start=None, end=START)[0].item_count == 0  # the end is excluded
    assert node.cases.statistics(start=None, end=START + timedelta(microseconds=1))[0].item_count == 4


def test_statistics_for_one_hosting_country(node: Node, history: dict[str, str]) -> None:
    overall, per_country = node.cases.statistics(start=None, end=None, hosting_country="nl")
    assert overall.hosting_country == "NL" and overall.item_count == 2
    assert overall.by_state == {"CLOSED_NOT_ILLEGAL": 1, "CLOSED_REMOVED": 1}
    assert [(s.hosting_country, s.item_count) for s in per_country] == [("NL", 2)]


def test_statistics_refuse_a_bad_period_or_country(node: Node) -> None:
    with pytest.raises(InvalidArgument) as refused:
        node.cases.statistics(start=START, end=START)
    assert refused.value.field == "period_end"
    with pytest.raises(InvalidArgument) as refused:
        node.cases.statistics(start=None, end=None, hosting_country="Netherlands")
    assert refused.value.field == "hosting_country"
