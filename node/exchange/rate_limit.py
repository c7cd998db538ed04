"""Per-peer rate limits: token buckets for records per second and bytes per second.

A batch that does not fit is refused whole with the time after which it would fit, so the peer can wait
exactly that long (RESOURCE_EXHAUSTED with RetryInfo on the wire). Time comes from the node's Clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.clock import Clock

__all__ = ["PeerRateLimiter", "RateLimit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    records_per_second: float = 2_000.0
    bytes_per_second: float = 16 * 1024 * 1024
    # How much may arrive at once after a quiet spell.
    burst_seconds: float = 2.0


class _Bucket:
    def __init__(self, rate: float, burst: float, now: datetime) -> None:
        self.rate, self.capacity, self.tokens, self.at = rate, burst, burst, now

    def refill(self, now: datetime) -> None:
        elapsed = max(0.0, (now - self.at).total_seconds())
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.at = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` tokens are there (0 if they are now); inf if it can never fit."""
        if amount <= self.tokens:
            return 0.0
        if amount > self.capacity:
            return float("inf")
        return (amount - self.tokens) / self.rate


class PeerRateLimiter:
    def __init__(self, limit: RateLimit, clock: Clock) -> None:
        self._limit = limit
        self._clock = clock
        self._buckets: dict[str, tuple[_Bucket, _Bucket]] = {}
        self._lock = threading.Lock()

    def admit(self, peer: str, records: int, size: int) -> timedelta | None:
        """None if the batch may proceed (its tokens are taken); else how long the peer should wait."""
        now = self._clock.now()
        with self._lock:
            buckets = self._buckets.get(peer)
            if buckets is None:
                burst = self._limit.burst_seconds
                buckets = (
                    _Bucket(self._limit.records_per_second, self._limit.records_per_second * burst, now),
                    _Bucket(self._limit.bytes_per_second, self._limit.bytes_per_second * burst, now),
                )
                self._buckets[peer] = buckets
            record_bucket, byte_bucket = buckets
            record_bucket.refill(now)
            byte_bucket.refill(now)
            wait = max(record_bucket.wait_for(records), byte_bucket.wait_for(size))
            if wait == 0.0:
                record_bucket.tokens -= records
                byte_bucket.tokens -= size
                return None
        # A batch larger than the burst can never pass; the caller must split it (answered as a long wait).
        return timedelta(seconds=wait if wait != float("inf") else 3600)
