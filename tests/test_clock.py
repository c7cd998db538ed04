from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from node.clock import AcceleratedClock, ManualClock, SystemClock


def test_the_manual_clock_moves_only_forward_when_told() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.advance(timedelta(hours=72)) == datetime(2026, 1, 4, tzinfo=UTC) == clock.now()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))


def test_the_accelerated_clock_runs_faster_than_the_wall() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = AcceleratedClock(start, scale=3600)  # one simulated hour per real second
    time.sleep(0.05)
    elapsed = clock.now() - start
    assert timedelta(minutes=2) < elapsed < timedelta(hours=1)
    with pytest.raises(ValueError, match="positive"):
        AcceleratedClock(start, scale=0)


def test_the_system_clock_is_utc_aware() -> None:
    assert SystemClock().now().tzinfo is UTC


def test_an_accelerated_clock_made_still_stands_until_it_runs() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = AcceleratedClock(start, scale=3600, running=False)
    time.sleep(0.02)
    assert clock.now() == start  # building a simulated network takes no simulated time
    clock.run()
    time.sleep(0.02)
    assert clock.now() > start
    assert clock.wall_seconds(timedelta(hours=1)) == 1.0
