"""Simulated time in the nodes' log: a structlog processor that stamps every line of nodes.log with `sim_s`,
the simulated seconds since the scenario start (the time base of the CSV files), next to the wall-clock
`timestamp`. The runner points it at its clock for the length of a run; outside a run lines carry no `sim_s`.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

__all__ = ["SIM_TIME", "SimulatedTime"]


class SimulatedTime:
    def __init__(self) -> None:
        self._now: Callable[[], datetime] | None = None
        self._start: datetime | None = None

    def follow(self, now: Callable[[], datetime], start: datetime) -> None:
        """Stamp lines with `now() - start` from here on."""
        self._now, self._start = now, start

    def stop(self) -> None:
        self._now = self._start = None

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        now, start = self._now, self._start
        if now is not None and start is not None:
            event_dict["sim_s"] = round((now() - start).total_seconds(), 3)
        return event_dict


SIM_TIME = SimulatedTime()
