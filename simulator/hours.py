"""Working hours: when a hotline's analysts, police contact and notices to providers work, in its own time
zone. Work that falls due outside the hours waits for the next opening (the delays themselves run in
elapsed time: an analyst's two hours are two hours of the clock, whenever they fall)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from simulator.scenario import WEEKDAYS, Hours

__all__ = ["OfficeHours"]


class OfficeHours:
    def __init__(self, hours: Hours) -> None:
        self._zone = ZoneInfo(hours.zone)
        self._open = _minutes(hours.open)
        self._close = _minutes(hours.close)
        self._days = frozenset(WEEKDAYS.index(d) for d in hours.days)
        self.always = self._open == 0 and self._close == 24 * 60 and len(self._days) == 7

    def is_open(self, at: datetime) -> bool:
        return self.next_open(at) == at

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when the hotline works then, or the next opening after it (in UTC)."""
        if self.always:
            return at
        local = at.astimezone(self._zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self._days:
                continue
            opens = self._local(day, self._open)
            closes = self._local(day, self._close)
            if local < opens:
                return opens.astimezone(UTC)
            if local < closes:
                return at
        raise AssertionError("a week without an opening")  # parse_scenario requires a working day

    def _local(self, day: date, minutes: int) -> datetime:
        """That day's wall-clock time in the zone (a 24:00 close is the next midnight)."""
        if minutes >= 24 * 60:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self._zone)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self._zone)


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)
