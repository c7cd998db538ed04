"""UtcDateTime on SQLite writes its text with `datetime.isoformat`: byte for byte SQLAlchemy's own DATETIME
storage format (so stored times, their string comparisons in SQL and existing databases are unchanged), and
reads back the same aware UTC time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError

from node.store.schema import UtcDateTime

_TIMES = [
    datetime(2026, 12, 7, 10, 5, 57, 105542, tzinfo=UTC),
    datetime(2026, 12, 7, 10, 5, 57, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(999, 3, 4, 5, 6, 7, 8, tzinfo=UTC),  # a year of three digits: padded to four
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 30, tzinfo=timezone(timedelta(hours=2))),  # another zone: written as UTC
    datetime(2026, 6, 30, 23, 30, 0, 1, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
]


@pytest.mark.parametrize("moment", _TIMES, ids=str)
def test_the_text_is_sqlalchemys_storage_format(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    stock = sqlite.DATETIME().bind_processor(dialect)
    assert ours is not None and stock is not None
    assert ours(moment) == stock(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_a_stored_time_reads_back_as_the_same_utc_moment() -> None:
    table = Table("times", MetaData(), Column("at", UtcDateTime()))
    engine = create_engine("sqlite://")
    table.create(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), [{"at": moment} for moment in _TIMES])
        back = connection.execute(select(table.c.at)).scalars().all()
        assert back == _TIMES  # equal as moments
        assert all(value.tzinfo is UTC for value in back)
        assert connection.exec_driver_sql("SELECT typeof(at), at FROM times").first() == (
            "text",
            "2026-12-07 10:05:57.105542",
        )


def test_a_naive_time_is_refused() -> None:
    table = Table("times", MetaData(), Column("at", UtcDateTime()))
    engine = create_engine("sqlite://")
    table.create(engine)
    with engine.begin() as connection, pytest.raises(StatementError, match="naive datetime"):
        connection.execute(insert(table), {"at": datetime(2026, 12, 7, 10, 5)})
