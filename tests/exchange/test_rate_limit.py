from __future__ import annotations

from datetime import timedelta

import pytest

from node.clock import ManualClock
from node.exchange.rate_limit import PeerRateLimiter, RateLimit


def test_a_flood_beyond_the_limit_is_refused_with_the_wait_that_would_let_it_through(clock: ManualClock) -> None:
    limiter = PeerRateLimiter(RateLimit(records_per_second=100, bytes_per_second=1e9, burst_seconds=1), clock)
    assert limiter.admit("de-hotline", 100, 1000) is None  # the burst
    wait = limiter.admit("de-hotline", 50, 500)
    assert wait is not None
    assert wait.total_seconds() == pytest.approx(0.5)
    clock.advance(timedelta(seconds=0.5))
    assert limiter.admit("de-hotline", 50, 500) is None


def test_peers_have_their_own_buckets_and_bytes_are_limited_too(clock: ManualClock) -> None:
    limiter = PeerRateLimiter(RateLimit(records_per_second=1e6, bytes_per_second=1000, burst_seconds=1), clock)
    assert limiter.admit("de-hotline", 1, 1000) is None
    assert limiter.admit("de-hotline", 1, 10) is not None
    assert limiter.admit("fr-hotline", 1, 1000) is None


def test_a_batch_larger_than_the_burst_can_never_pass(clock: ManualClock) -> None:
    limiter = PeerRateLimiter(RateLimit(records_per_second=10, bytes_per_second=1e9, burst_seconds=1), clock)
    wait = limiter.admit("de-hotline", 11, 1)
    assert wait is not None and wait >= timedelta(minutes=1)
