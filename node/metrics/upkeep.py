"""The node's own work, counted: scheduled job runs by outcome (fed by the scheduler's APScheduler listener),
deadline escalations (fed by the deadline job's result) and store transaction latency (fed by the store)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["UpkeepMetrics"]

# Seconds: from a read answered from cache to a slow bulk write waiting for SQLite's writer lock.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class UpkeepMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._runs = Counter(
            "hx_scheduler_job_runs_total",
            "Runs of the node's periodic jobs, by job and outcome: ok, failed (the job raised; logged as "
            "scheduler.job_failed and run again at the next interval), missed (not run at its time) or skipped "
            "(the previous run was still going).",
            ["job", "outcome"],
            registry=registry,
        )
        self._escalations = Counter(
            "hx_deadline_escalations_total",
            "Items the removal-deadline job escalated (each item once, when its deadline passed unmet).",
            registry=registry,
        )
        self._transactions = Histogram(
            "hx_store_transaction_seconds",
            "How long store transactions took, from asking for one (SQLite writers queue for the one writer "
            "lock) to commit or rollback, by mode (read or write) and outcome (commit or rollback).",
            ["mode", "outcome"],
            buckets=_BUCKETS,
            registry=registry,
        )

    def job_ran(self, job: str, outcome: str) -> None:
        self._runs.labels(job, outcome).inc()

    def escalated(self, items: int) -> None:
        self._escalations.inc(items)

    def transaction(self, read_only: bool, seconds: float, committed: bool) -> None:
        mode, outcome = "read" if read_only else "write", "commit" if committed else "rollback"
        self._transactions.labels(mode, outcome).observe(seconds)
