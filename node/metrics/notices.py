"""The notices the node sends itself (node.notices): each attempt by kind, channel and outcome."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["NoticeCounters"]


class NoticeCounters:
    """node.notices.ports.NoticeObserver on a node's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._attempts = Counter(
            "hx_notice_attempts_total",
            "Attempts to deliver a notice (kind LEA or NTD), by channel and outcome: sent, failed (retried with "
            "backoff) or gave_up (after the give-up period; `hotline-node notices retry` queues it again).",
            ["kind", "channel", "outcome"],
            registry=registry,
        )

    def attempted(self, kind: str, channel: str, outcome: str) -> None:
        self._attempts.labels(kind, channel, outcome).inc()
