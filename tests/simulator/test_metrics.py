"""The run's data files: the declared columns are the ones written, and what is written reads back."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from simulator.metrics import (
    ATTACKS_CSV,
    ITEM_COLUMNS,
    ITEMS_CSV,
    TIMELINE_COLUMNS,
    Fault,
    Item,
    Sample,
    TimelineColumn,
    fault_row,
    items_from_rows,
    read_run,
    timeline_rows,
    write_run_files,
)
from simulator.records import TimelineSample


def test_the_timeline_columns_are_the_time_and_the_sample_fields() -> None:
    sample_fields = [f.name for f in fields(TimelineSample)]
    assert list(TIMELINE_COLUMNS) == [TimelineColumn.T_S, *sample_fields]


def test_what_a_run_writes_reads_back(tmp_path: Path) -> None:
    item = dict.fromkeys(ITEM_COLUMNS, "")
    item.update(
        hosting_country="de",
        route="referral",
        illegal=1,
        reported_s="10.0",
        removed_s="99.5",
        lea_s="20.0",
        ntd_s="30.5",
    )
    sample = TimelineSample("hotline-nl", 1, 2, 0, 3, 0, 1)
    write_run_files(
        tmp_path,
        items=[item],
        timeline=timeline_rows(60.0, [sample]),
        faults=[  # as concurrent fault tasks log them: out of order
            fault_row(40.0, "rotate_keys", "hotline-de", None),
            fault_row(30.0, "partition", "hotline-nl | rest", 60.0),
            fault_row(30.0, "crash", "hotline-nl", 90.0),
        ],
        attacks=[{"t_s": 5.0, "kind": "replay", "expected": {"REJECTED", "DUPLICATE"}, "legitimate": False}],
    )
    data = read_run(tmp_path)
    assert data.items == [Item("DE", "referral", True, 10.0, None, None, 99.5, lea=20.0, ntd=30.5)]
    assert data.timeline == [Sample(60.0, "hotline-nl", 2, 3)]
    assert data.faults == [  # faults.csv is sorted by time, then kind
        Fault(30.0, "crash", "hotline-nl", 90.0),
        Fault(30.0, "partition", "hotline-nl | rest", 60.0),
        Fault(40.0, "rotate_keys", "hotline-de", None),
    ]
    assert data.problems == {}
    assert items_from_rows([item]) == data.items  # the summary reads the rows as the plots read the file
    assert (tmp_path / ITEMS_CSV).read_text().splitlines()[0] == ",".join(ITEM_COLUMNS)
    attacks = (tmp_path / ATTACKS_CSV).read_text().splitlines()
    assert attacks[1] == "5.0,replay,,,,,DUPLICATE|REJECTED,False,"
