"""What the authentication path notices: failed authentications counted per source and token id, logged
(never the secret), reported to a listener (the metrics), and throttled with a token bucket per peer address.

Each failure takes one token from its peer address's bucket (`burst` of them, refilled at `per_minute`); a peer
whose bucket is empty is refused before its credential is looked at, RESOURCE_EXHAUSTED with a RetryInfo
saying when the next attempt may come. Successful calls cost nothing. The address is the peer's IP without the
port, so new connections do not buy new attempts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from node.errors import Reason, ResourceExhausted

__all__ = ["AUTH_THROTTLED", "AuthGuard", "peer_address"]

AUTH_THROTTLED = Reason.RATE_LIMITED
_MAX_TRACKED = 10_000  # peer addresses (and source/token pairs) remembered; beyond, the fullest are kept
_log = structlog.get_logger(__name__)


def peer_address(peer: str) -> str:
    """grpc's peer string ('ipv4:192.0.2.1:5000', 'ipv6:[2001:db8::1]:5000', 'unix:/path') without the port."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rpartition("]")[0].lstrip("[") or rest
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    return peer


class AuthGuard:
    def __init__(
        self,
        burst: int = 100,
        per_minute: float = 60.0,
        on_failure: Callable[[str, str], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._on_failure = on_failure  # (reason, token id or '') -> None
        self._now = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self._counts: dict[tuple[str, str], int] = {}  # (address, token id) -> failures
        self._lock = threading.Lock()

    def admit(self, address: str) -> None:
        """Raises ResourceExhausted while `address` has no failures left."""
        with self._lock:
            tokens = self._tokens(address)
        if tokens < 1.0:
            wait = (1.0 - tokens) / self._rate
            raise ResourceExhausted(
                f"too many failed authentications from this address; retry in {wait:.1f} s",
                field="authorization",
                reason=AUTH_THROTTLED,
                retry_after=wait,
            )

    def failed(self, address: str, token_id: str, reason: str) -> int:
        """Record a failed authentication; the number of failures from (address, token id) so far."""
        with self._lock:
            tokens = self._tokens(address)
            if len(self._buckets) >= _MAX_TRACKED and address not in self._buckets:
                self._forget_full()
            self._buckets[address] = (tokens - 1.0, self._now())
            key = (address, token_id)
            if len(self._counts) >= _MAX_TRACKED and key not in self._counts:
                self._counts.clear()
            count = self._counts[key] = self._counts.get(key, 0) + 1
        _log.warning("auth.failed", source=address, token_id=token_id or "-", reason=reason, failures=count)
        if self._on_failure is not None:
            self._on_failure(reason, token_id)
        return count

    def _tokens(self, address: str) -> float:
        tokens, at = self._buckets.get(address, (self._burst, self._now()))
        return min(self._burst, tokens + (self._now() - at) * self._rate)

    def _forget_full(self) -> None:
        """Drop the addresses whose buckets have refilled (with the lock held)."""
        for address in [a for a in self._buckets if self._tokens(a) >= self._burst]:
            del self._buckets[address]
