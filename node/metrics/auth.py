"""Failed authentications on the integrator API, by reason. The source address and token id are in the log
(`auth.failed`), not in labels: both are the caller's to choose, and a label per value would let one caller
grow the node's metrics without bound."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["AuthFailureCounter"]


class AuthFailureCounter:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._failures = Counter(
            "hx_auth_failures_total",
            "Failed authentications on the integrator API, by reason: MALFORMED, UNKNOWN_TOKEN (no such id or a "
            "wrong secret), TOKEN_EXPIRED, TOKEN_REVOKED, AUTH_THROTTLED (refused unread: the address's budget "
            "of failures is spent).",
            ["reason"],
            registry=registry,
        )

    def failed(self, reason: str, token_id: str) -> None:
        del token_id  # logged by the guard; never a label
        self._failures.labels(reason=reason).inc()
