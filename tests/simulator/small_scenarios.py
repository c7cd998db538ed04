"""Small scenarios shared by the world-model tests: two member hotlines (NL, DE), and the same with Panama
hosting content without a member hotline of its own; and `tiny_network`, the few-hotline networks of the run,
CLI and ledger tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

TWO_MEMBERS = """
[simulation]
name = "levers"
seed = 4
duration_hours = 24
drain_hours = 110
annual_reports = 20000
max_reports = 45
sample_minutes = 240

[world]
move_probability = 0
lea_hold_probability = 0

[[countries]]
code = "NL"
report_share = 0.5
hosting_share = 0.3
provider = { median_hours = 3, sigma = 0.5 }

[[countries]]
code = "DE"
report_share = 0.5
hosting_share = 0.3
provider = { median_hours = 3, sigma = 0.5 }

[[hotlines]]
node_id = "nl-hotline"
country = "NL"

[[hotlines]]
node_id = "de-hotline"
country = "DE"
"""

NO_MEMBER = (
    TWO_MEMBERS
    + """
[[countries]]
code = "PA"
hosting_share = 0.4
provider = { median_hours = 5, sigma = 0.5 }
unresponsive_share = 0
"""
)


class Place(NamedTuple):
    """A country of a tiny network and its one member hotline (`nl-hotline` for NL)."""

    code: str
    # None: the country makes no reports (the scenario's default).
    report_share: float | None
    hosting_share: float
    provider_median_hours: float


def tiny_network(name: str, places: Sequence[Place], faults: str = "", /, **simulation: float) -> str:
    """The TOML of a tiny scenario called `name`: its [simulation] table (`simulation`, by default with 30 h to
    drain and 400,000 reports a year), one country and one member hotline per place, then `faults` as written."""
    settings = {"name": name, "drain_hours": 30, "annual_reports": 400000} | simulation
    lines = ["[simulation]", *(f"{key} = {json.dumps(value)}" for key, value in settings.items())]
    for place in places:
        lines += ["", "[[countries]]", f'code = "{place.code}"']
        if place.report_share is not None:
            lines.append(f"report_share = {place.report_share}")
        lines.append(f"hosting_share = {place.hosting_share}")
        lines.append(f"provider = {{ median_hours = {place.provider_median_hours} }}")
    for place in places:
        lines += ["", "[[hotlines]]", f'node_id = "{place.code.lower()}-hotline"', f'country = "{place.code}"']
    return "\n".join(lines) + "\n" + faults
