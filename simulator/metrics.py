"""The run's data files, declared once: the columns of `items.csv`, `timeline.csv`, `faults.csv` and `attacks.csv`,
the rows a run writes into them, writing them, and reading them back for the plots (simulator/README.md describes
every column).

Every reader and writer names a column by its declaration here (`ItemColumn.REMOVED_S`), never by a string of
its own. Times in the files are simulated seconds since the scenario start; an empty cell means it did not happen.
Reading back is forgiving: a missing or unreadable file, a short row or a garbage cell gives fewer rows or an
empty value, never an exception, and `RunData.problems` says which file gave nothing and why.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from simulator.records import TimelineSample, seconds_since
from simulator.scenario import Scenario
from simulator.stores import EndStores, parse_time
from simulator.world import Workload

__all__ = [
    "ATTACKS_CSV",
    "ATTACK_COLUMNS",
    "FAULTS_CSV",
    "FAULT_COLUMNS",
    "ITEMS_CSV",
    "ITEM_COLUMNS",
    "TIMELINE_COLUMNS",
    "TIMELINE_CSV",
    "AttackColumn",
    "Fault",
    "FaultColumn",
    "Item",
    "ItemColumn",
    "RunData",
    "Sample",
    "TimelineColumn",
    "fault_row",
    "item_rows",
    "items_from_rows",
    "read_run",
    "timeline_rows",
    "write_run_files",
]

ITEMS_CSV = "items.csv"
TIMELINE_CSV = "timeline.csv"
FAULTS_CSV = "faults.csv"
ATTACKS_CSV = "attacks.csv"
# What `_read_csv` makes of a file's rows: Items, or the cleaned rows themselves.
_Row = TypeVar("_Row")


class ItemColumn(StrEnum):
    """items.csv: one row per reported URL."""

    ITEM = "item"
    ORIGIN_NODE = "origin_node"
    ORIGIN_COUNTRY = "origin_country"
    HOSTING_COUNTRY = "hosting_country"
    ROUTE = "route"
    ILLEGAL = "illegal"
    KNOWN = "known"
    REPORTED_S = "reported_s"
    REFERRED_S = "referred_s"
    DELIVERED_S = "delivered_s"
    REMOVED_S = "removed_s"
    MOVED = "moved"
    HELD = "held"
    # The first notice to police (LEA) and to the hosting provider (NTD) for the item, by whichever node
    # handled it (the origin, or the member it was referred to); appended last so older files read back.
    LEA_S = "lea_s"
    NTD_S = "ntd_s"
    # The content went offline by itself (CONTENT_UNAVAILABLE: `vanish_share`), not by a provider's removal.
    GONE_S = "gone_s"


class TimelineColumn(StrEnum):
    """timeline.csv: per node, sampled every `sample_minutes` of simulated time; after `t_s`, the fields of
    `records.TimelineSample`."""

    T_S = "t_s"
    NODE = "node"
    REPORTS = "reports"
    REFERRALS_SENT = "referrals_sent"
    REFERRALS_RECEIVED = "referrals_received"
    OUTBOX_BACKLOG = "outbox_backlog"
    REMOVED = "removed"
    OPEN_ITEMS = "open_items"


class FaultColumn(StrEnum):
    """faults.csv: the fault timeline as it was applied."""

    T_S = "t_s"
    KIND = "kind"
    DETAIL = "detail"
    END_S = "end_s"


class AttackColumn(StrEnum):
    """attacks.csv: the rogue member's messages and what each victim answered."""

    T_S = "t_s"
    KIND = "kind"
    TARGET = "target"
    MESSAGE_ID = "message_id"
    STATUS = "status"
    REASON_CODE = "reason_code"
    EXPECTED = "expected"
    LEGITIMATE = "legitimate"
    DETAIL = "detail"


ITEM_COLUMNS = tuple(column.value for column in ItemColumn)
TIMELINE_COLUMNS = tuple(column.value for column in TimelineColumn)
FAULT_COLUMNS = tuple(column.value for column in FaultColumn)
ATTACK_COLUMNS = tuple(column.value for column in AttackColumn)


# --------------------------------------------------------------------------------------------------- rows


_ITEM_FACTS = (
    "SELECT route, state, classification, closed_at, first_reported_at, known_content, lea_notified_at, "
    "ntd_sent_at FROM items WHERE item_id = ?"
)
_FIRST_REFERRAL = (
    "SELECT message_id, created_at FROM referrals WHERE sender = ? AND item_id = ? "
    "ORDER BY created_at, outbox_id LIMIT 1"
)
_RECEIPT = "SELECT recorded_at FROM receipts WHERE message_id = ? ORDER BY node_index DESC LIMIT 1"
_MOVED = "SELECT 1 FROM actions WHERE item_id = ? AND type = 'MOVED' LIMIT 1"
_REFERRED_ON = (
    "SELECT node, item_id, lea_notified_at, ntd_sent_at FROM referred_items "
    "WHERE origin_node = ? AND origin_item_id = ?"
)
_ROUTES = {
    "DOMESTIC": "domestic",
    "REFERRAL": "referral",
    "FALLBACK_DIRECT": "fallback",
    "FALLBACK_REFERRAL": "fallback",
}


def item_rows(
    scenario: Scenario,
    workload: Workload,
    stores: EndStores,
    origin_items: Mapping[str, tuple[str, str]],
) -> Iterator[dict[str, Any]]:
    """One items.csv row per planned report that reached its origin node, from what the nodes recorded, in the
    workload's order, one at a time (each looked up in the stores: nothing of all items is held)."""
    start = scenario.start
    country_of = {h.node_id: h.country for h in scenario.hotlines}
    for plan in workload.iter_reports():
        found = origin_items.get(plan.key)
        if found is None or found[0] not in stores:
            continue
        node_id, item_id = found
        item = stores.one(node_id, _ITEM_FACTS, (item_id,))
        if item is None:
            continue
        route_code, state, classification, closed_at, reported_at, known, lea, ntd = item
        referral = stores.scratch_one(_FIRST_REFERRAL, (node_id, item_id))
        receipt = stores.scratch_one(_RECEIPT, (referral[0],)) if referral else None
        route = _ROUTES.get(route_code or "", "pending")
        if state == "CLOSED_NOT_ILLEGAL" or classification == "NOT_ILLEGAL":
            route = "not_illegal"
        removed = closed_at if state == "CLOSED_REMOVED" else None
        gone = closed_at if state == "CLOSED_UNAVAILABLE" else None
        lea, ntd = _first_notices(stores, found, lea, ntd)
        yield {
            ItemColumn.ITEM: plan.key,
            ItemColumn.ORIGIN_NODE: node_id,
            ItemColumn.ORIGIN_COUNTRY: country_of[node_id],
            ItemColumn.HOSTING_COUNTRY: plan.hosting_country,
            ItemColumn.ROUTE: route,
            ItemColumn.ILLEGAL: int(plan.classification != "NOT_ILLEGAL"),
            ItemColumn.KNOWN: int(bool(known)),
            ItemColumn.REPORTED_S: _since(start, reported_at),
            ItemColumn.REFERRED_S: _since(start, referral[1] if referral else None),
            ItemColumn.DELIVERED_S: _since(start, receipt[0] if receipt else None),
            ItemColumn.REMOVED_S: _since(start, removed),
            ItemColumn.MOVED: int(stores.one(node_id, _MOVED, (item_id,)) is not None),
            ItemColumn.HELD: int(any(s.hold_h > 0 for s in plan.stages)),
            ItemColumn.LEA_S: _since(start, lea),
            ItemColumn.NTD_S: _since(start, ntd),
            ItemColumn.GONE_S: _since(start, gone),
        }


def _since(start: datetime, stored: str | None) -> str:
    return _fmt(seconds_since(start, parse_time(stored)))


def _first_notices(
    stores: EndStores, key: tuple[str, str], lea: str | None, ntd: str | None
) -> tuple[str | None, str | None]:
    """The earliest LEA notice and NTD of the item (`lea`, `ntd`: its own) or of any item referred on from it,
    at any depth (the receiving member's item names its origin by `origin_node` and `origin_item_id`). Stored
    times are all UTC in one format, so the earliest is the least string."""
    seen = {key}
    todo = [key]
    while todo:
        for node_id, item_id, child_lea, child_ntd in stores.scratch_rows(_REFERRED_ON, todo.pop()):
            child = (node_id, item_id)
            if child not in seen:
                seen.add(child)
                todo.append(child)
                lea, ntd = _earliest(lea, child_lea), _earliest(ntd, child_ntd)
    return lea, ntd


def _earliest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def timeline_rows(t_s: float, samples: Iterable[TimelineSample]) -> list[dict[str, Any]]:
    """The timeline.csv rows of one sampling: a row per node, at t_s."""
    return [{TimelineColumn.T_S: t_s, **asdict(sample)} for sample in samples]


def fault_row(t_s: float, kind: str, detail: str, end_s: float | None) -> dict[str, Any]:
    """The faults.csv row of one applied fault; end_s is None for a fault without a duration."""
    return {
        FaultColumn.T_S: t_s,
        FaultColumn.KIND: kind,
        FaultColumn.DETAIL: detail,
        FaultColumn.END_S: "" if end_s is None else end_s,
    }


def _attack_rows(attacks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**a, AttackColumn.EXPECTED: "|".join(sorted(a[AttackColumn.EXPECTED]))} for a in attacks]


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


# --------------------------------------------------------------------------------------------------- writing


def write_run_files(
    run_dir: Path,
    *,
    items: Iterable[Mapping[str, Any]],
    timeline: list[dict[str, Any]],
    faults: list[dict[str, Any]],
    attacks: list[dict[str, Any]],
) -> None:
    """Write the four CSV files into run_dir; `attacks` are the rogue campaign's records (`expected` a set).
    `items` is consumed as it is written (`item_rows` yields them one at a time)."""
    _write_csv(run_dir / ITEMS_CSV, ITEM_COLUMNS, items)
    _write_csv(run_dir / TIMELINE_CSV, TIMELINE_COLUMNS, timeline)
    _write_csv(run_dir / FAULTS_CSV, FAULT_COLUMNS, sorted(faults, key=_fault_order))
    _write_csv(run_dir / ATTACKS_CSV, ATTACK_COLUMNS, _attack_rows(attacks))


def _fault_order(row: Mapping[str, Any]) -> tuple[float, str, str]:
    """faults.csv is sorted by time, then kind, then detail (faults run as concurrent tasks and log in any order)."""
    return (float(row[FaultColumn.T_S]), str(row[FaultColumn.KIND]), str(row[FaultColumn.DETAIL]))


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


# --------------------------------------------------------------------------------------------------- reading back

# Routes of an item judged illegal; a row without a readable `illegal` flag is judged by its route.
_ILLEGAL_ROUTES = frozenset({"domestic", "referral", "fallback"})


@dataclass(frozen=True, slots=True)
class Item:
    """An items.csv row as the plots use it."""

    hosting: str
    route: str
    illegal: bool
    reported: float | None
    referred: float | None
    delivered: float | None
    removed: float | None
    lea: float | None = None
    ntd: float | None = None
    gone: float | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """A timeline.csv row as the plots use it."""

    t: float
    node: str
    referrals_sent: float | None
    outbox_backlog: float | None


@dataclass(frozen=True, slots=True)
class Fault:
    """A faults.csv row as the plots use it: start <= end, kind in lower case."""

    start: float
    kind: str
    detail: str
    end: float | None


@dataclass(slots=True)
class RunData:
    """What the plots read from a run directory."""

    items: list[Item] = field(default_factory=list)
    timeline: list[Sample] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # File name -> why it gave no rows ("missing", "unreadable: ...", "has no rows").
    problems: dict[str, str] = field(default_factory=dict)

    def end_s(self) -> float | None:
        """The end of observation: the last timeline sample, else the last time in items.csv."""
        if self.timeline:
            return max(s.t for s in self.timeline)
        times = [t for i in self.items for t in (i.reported, i.referred, i.delivered, i.removed) if t is not None]
        return max(times) if times else None

    def why_empty(self, name: str) -> str:
        return f"{name} {self.problems[name]}" if name in self.problems else f"{name} has no usable rows"


def read_run(run_dir: Path) -> RunData:
    """items.csv, timeline.csv and faults.csv of run_dir, read back; rows without a time are left out."""
    data = RunData()
    data.items = _read_csv(run_dir / ITEMS_CSV, data.problems, items_from_rows)
    for row in _read_csv(run_dir / TIMELINE_CSV, data.problems, list):
        t = _num(row.get(TimelineColumn.T_S))
        if t is None:
            continue
        data.timeline.append(
            Sample(
                t=t,
                node=row.get(TimelineColumn.NODE, ""),
                referrals_sent=_num(row.get(TimelineColumn.REFERRALS_SENT)),
                outbox_backlog=_num(row.get(TimelineColumn.OUTBOX_BACKLOG)),
            )
        )
    for row in _read_csv(run_dir / FAULTS_CSV, data.problems, list):
        start = _num(row.get(FaultColumn.T_S))
        if start is None:
            continue
        end = _num(row.get(FaultColumn.END_S))
        if end is not None and end < start:
            start, end = end, start
        data.faults.append(
            Fault(
                start=start,
                kind=row.get(FaultColumn.KIND, "").strip().lower(),
                detail=row.get(FaultColumn.DETAIL, ""),
                end=end,
            )
        )
    return data


def items_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Item]:
    """items.csv rows (as written by `item_rows`, or as read back) as Items: the one reading that the summary and
    the plots share, so that they count the same items. Rows are read as they come; the country and route
    strings are shared between Items (a year holds millions)."""
    items = []
    for row in rows:
        cells = {key: "" if value is None else str(value).strip() for key, value in row.items()}
        route = cells.get(ItemColumn.ROUTE, "").lower()
        flag = cells.get(ItemColumn.ILLEGAL, "")
        illegal = flag == "1" if flag in ("0", "1") else route in _ILLEGAL_ROUTES
        items.append(
            Item(
                hosting=sys.intern(_country(cells.get(ItemColumn.HOSTING_COUNTRY))),
                route=sys.intern(route),
                illegal=illegal,
                reported=_num(cells.get(ItemColumn.REPORTED_S)),
                referred=_num(cells.get(ItemColumn.REFERRED_S)),
                delivered=_num(cells.get(ItemColumn.DELIVERED_S)),
                removed=_num(cells.get(ItemColumn.REMOVED_S)),
                lea=_num(cells.get(ItemColumn.LEA_S)),
                ntd=_num(cells.get(ItemColumn.NTD_S)),
                gone=_num(cells.get(ItemColumn.GONE_S)),
            )
        )
    return items


def _read_csv(
    path: Path, problems: dict[str, str], read: Callable[[Iterator[dict[str, str]]], list[_Row]]
) -> list[_Row]:
    """A CSV file's rows, cleaned and passed to `read` as they come (a year's items.csv holds millions of rows:
    `items_from_rows` keeps none of them as text); what is wrong with the file goes to `problems`."""
    if not path.is_file():
        problems[path.name] = "is missing"
        return []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = read(_clean(row) for row in csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems[path.name] = f"is unreadable ({type(exc).__name__})"
        return []
    if not rows:
        problems[path.name] = "has no rows"
    return rows


def _clean(row: Mapping[Any, str | None]) -> dict[str, str]:
    return {key.strip(): (value or "").strip() for key, value in row.items() if isinstance(key, str)}


def _num(cell: str | None) -> float | None:
    """A float from a CSV cell; None for an empty or malformed cell (empty = did not happen)."""
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _country(cell: str | None) -> str:
    """A country code fit for a label: letters/digits only, else "??"."""
    code = (cell or "").strip().upper()
    return code if re.fullmatch(r"[A-Z0-9]{1,8}", code) else "??"
