"""The world model: who reports what, where it is hosted, and how analysts, police and hosting providers
behave. `build_workload` turns a scenario and its seed into a fixed plan: the same seed gives the same
workload, whatever the timing of the run.

Everything is synthetic. URLs live under reserved domains (.example, .test, .invalid); addresses come from
the documentation ranges (RFC 5737) and AS numbers from the documentation range (RFC 5398).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field

from node.hosting import HostingFacts
from simulator.scenario import Delay, Scenario

__all__ = ["ReportPlan", "SimResolver", "Stage", "Workload", "build_workload", "url_host"]

_TLDS = ("example", "test", "invalid")
_DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")
_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*hosting-([a-z]{2})-(\d+)\.(?:example|test|invalid)$")
KNOWN_POOL = 64  # known content hashes, imported into every node before the run


@dataclass(frozen=True, slots=True)
class Stage:
    """What happens to an item at one assignee: the hosting country it is handled for, and the behaviour
    of that country's analyst, police and hosting provider."""

    hosting_country: str
    agrees: bool
    lea_delay_h: float
    hold_h: float  # 0 = no LEA hold
    # Hours from the notice to the provider's response; None = the provider never responds in the run.
    provider_h: float | None
    # The content moves to this country instead of being removed (the provider's response is the move).
    moved_to: str = ""


@dataclass(frozen=True, slots=True)
class ReportPlan:
    n: int
    at_h: float
    origin: str  # node id
    url: str
    known: bool
    # NOT_ILLEGAL, NATIONAL or BASELINE (known content is BASELINE: it was classified before).
    classification: str
    analyst_h: float
    content_sha256: str
    stages: tuple[Stage, ...]

    @property
    def hosting_country(self) -> str:
        return self.stages[0].hosting_country


@dataclass
class Workload:
    reports: list[ReportPlan]
    known_hashes: list[str]
    by_url: dict[str, ReportPlan] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_url = {r.url: r for r in self.reports}


def url_host(n: int, country: str, provider: int) -> str:
    return f"c{n}.hosting-{country.lower()}-{provider}.{_TLDS[n % len(_TLDS)]}"


def build_workload(scenario: Scenario) -> Workload:
    """The full plan of reports for the scenario's arrival window, from its seed alone."""
    sim, world = scenario.simulation, scenario.world
    rng = random.Random(sim.seed)
    known_hashes = [hashlib.sha256(f"known-{sim.seed}-{i}".encode()).hexdigest() for i in range(KNOWN_POOL)]
    hosting = [c for c in scenario.countries if c.hosting_share > 0]
    hosting_weights = [c.hosting_share for c in hosting]
    total_share = sum(c.report_share for c in scenario.countries)
    per_hour = sim.annual_reports / (365.0 * 24.0)
    arrivals: list[tuple[float, str]] = []
    for country in scenario.countries:
        if country.report_share <= 0 or total_share <= 0:
            continue
        rate = per_hour * country.report_share / total_share  # reports per simulated hour
        hotlines = [h for h in scenario.members if h.country == country.code and h.intake_share > 0]
        if not hotlines:
            continue
        country_rng = random.Random(f"{sim.seed}-{country.code}")
        t = 0.0
        while rate > 0:
            t += country_rng.expovariate(rate)  # a Poisson process: exponential gaps
            if t >= sim.duration_hours:
                break
            hotline = country_rng.choices(hotlines, [h.intake_share for h in hotlines])[0]
            arrivals.append((t, hotline.node_id))
    arrivals.sort()
    if sim.max_reports:
        arrivals = arrivals[: sim.max_reports]

    reports = []
    for n, (at_h, origin) in enumerate(arrivals):
        country = rng.choices(hosting, hosting_weights)[0]
        known = rng.random() < world.known_share
        if known:
            classification = "BASELINE"
        elif rng.random() >= world.illegal_share:
            classification = "NOT_ILLEGAL"
        else:
            classification = "BASELINE" if rng.random() < world.baseline_share else "NATIONAL"
        stages = [_stage(scenario, rng, country.code)]
        if stages[0].moved_to:
            stages.append(_stage(scenario, rng, stages[0].moved_to, may_move=False))
        digest = (
            known_hashes[rng.randrange(len(known_hashes))]
            if known
            else hashlib.sha256(f"content-{sim.seed}-{n}".encode()).hexdigest()
        )
        host = url_host(n, country.code, rng.randrange(1, 40))
        reports.append(
            ReportPlan(
                n=n,
                at_h=at_h,
                origin=origin,
                url=f"https://{host}/gallery/{n:06d}/{rng.getrandbits(32):08x}.html",
                known=known,
                classification=classification,
                analyst_h=_draw(rng, world.analyst_delay),
                content_sha256=digest,
                stages=tuple(stages),
            )
        )
    return Workload(reports, known_hashes)


def _stage(scenario: Scenario, rng: random.Random, code: str, *, may_move: bool = True) -> Stage:
    world = scenario.world
    country = scenario.country(code)
    moved_to = ""
    if may_move and rng.random() < world.move_probability:
        others = [c for c in scenario.countries if c.hosting_share > 0 and c.code != code]
        if others:
            moved_to = rng.choices(others, [c.hosting_share for c in others])[0].code
    unresponsive = rng.random() < country.unresponsive_share
    hold = rng.random() < world.lea_hold_probability
    return Stage(
        hosting_country=code,
        agrees=rng.random() < world.reassess_agreement,
        lea_delay_h=_draw(rng, world.lea_delay),
        hold_h=_draw(rng, world.lea_hold) if hold else 0.0,
        provider_h=None if unresponsive and not moved_to else _draw(rng, country.provider),
        moved_to=moved_to,
    )


def _draw(rng: random.Random, delay: Delay) -> float:
    if delay.median_hours <= 0:
        return 0.0
    if delay.sigma <= 0:
        return delay.median_hours
    return delay.median_hours * math.exp(rng.gauss(0.0, delay.sigma))


class SimResolver:
    """The hosting trace of the synthetic world: `...hosting-de-7.example` is hosted in DE, at an address
    from a documentation range. Names outside the world resolve to nothing, as an unknown host would."""

    def resolve(self, host: str) -> HostingFacts:
        match = _HOST.match(host)
        if match is None:
            return HostingFacts(None, None, None, None, False, "simulated")
        country, provider = match.group(1).upper(), int(match.group(2))
        seed = int.from_bytes(hashlib.sha256(host.encode()).digest()[:2], "big")
        ip = f"{_DOC_NETS[seed % 3]}.{1 + seed % 254}"
        return HostingFacts(
            ip, country, 64496 + provider % 16, f"Simulated Hosting {country}-{provider}", False, "simulated"
        )
