"""The world model: who reports what, where it is hosted, and how analysts, police and hosting providers
behave. `build_workload` turns a scenario and its seed into a plan that is generated lazily: the same seed
gives the same workload, whatever the timing of the run, and a year of reports takes no more memory than
an hour of them.

Every draw comes from a named stream (`simulator.streams`) keyed by the item and the purpose, never from a
shared generator consumed in order. An item's key is its origin country, the simulated hour it arrives in
and its rank within that hour (`gb-17-3`): reports arrive in each country as a Poisson process, drawn hour
by hour (a Poisson count, then uniform times). So an item keeps its key, its arrival and every draw when
another country's parameters change, and its plan can be derived again from its URL alone.

Everything is synthetic. URLs live under reserved domains (.example, .test, .invalid); addresses come from
the documentation ranges (RFC 5737) and AS numbers from the documentation range (RFC 5398).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from node.hosting import HostingFacts
from simulator.scenario import Country, Delay, Scenario
from simulator.streams import Stream, poisson

__all__ = ["ReportPlan", "SimResolver", "Stage", "Workload", "build_workload"]

_TLDS = ("example", "test", "invalid")
_DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")
_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*hosting-([a-z]{2})-(\d+)\.(?:example|test|invalid)$")
_KEY = re.compile(r"^([a-z]{2})-(\d+)-(\d+)$")
_URL = re.compile(r"^https://[^/]+/gallery/([a-z]{2}-\d+-\d+)/[0-9a-f]{8}\.html$")
_RECENT_HOURS = 512  # (country, hour) arrival lists kept for plan_for_url
KNOWN_POOL = 64  # known content hashes, imported into every node before the run
PROVIDERS_PER_COUNTRY = 39  # hosting-xx-1 .. hosting-xx-39


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
    # The response to a notice from abroad (a hotline of another country: the no-member fallback).
    abroad_provider_h: float | None = None
    # A provider that has not answered: the re-sent notice it answers (1 = the first; 0 = none), and the
    # hours it then takes; the hours it takes after the node's escalation (None = the escalation changes
    # nothing).
    answered_resend: int = 0
    resend_h: float = 0.0
    escalation_h: float | None = None

    def response_h(self, *, abroad: bool, resend_hours: float, escalation_h: float) -> float | None:
        """Hours from the first notice to the provider's response, whichever notice gets it first: the
        notice itself (from this country's hotline or from abroad), a re-sent one, or the escalation
        `escalation_h` after the notice. None: no answer in the run."""
        answers = [self.abroad_provider_h if abroad else self.provider_h]
        if resend_hours > 0 and self.answered_resend:
            answers.append(self.answered_resend * resend_hours + self.resend_h)
        if self.escalation_h is not None:
            answers.append(escalation_h + self.escalation_h)
        found = [h for h in answers if h is not None]
        return min(found) if found else None


@dataclass(frozen=True, slots=True)
class ReportPlan:
    # The item's stable key: origin country, arrival hour, rank in that hour (`gb-17-3`).
    key: str
    at_h: float
    origin: str  # node id
    url: str
    known: bool
    # NOT_ILLEGAL, NATIONAL or BASELINE (known content is BASELINE: it was classified before).
    classification: str
    analyst_h: float
    content_sha256: str
    stages: tuple[Stage, ...]
    # Hours from the report until the content goes offline by itself; None = it stays until removed.
    vanish_h: float | None = None

    @property
    def hosting_country(self) -> str:
        return self.stages[0].hosting_country


class Workload:
    """The scenario's reports, generated on demand from the seed. Nothing here grows with the run."""

    def __init__(self, scenario: Scenario, known_hashes: list[str]) -> None:
        self.scenario = scenario
        self.known_hashes = known_hashes
        self._count: int | None = None
        # What every plan reads, worked out once.
        members = scenario.members
        self._intake = {
            c.code: [h for h in members if h.country == c.code and h.intake_share > 0] for c in scenario.countries
        }
        self._origins = (
            [c for c in scenario.countries if c.report_share > 0 and self._intake[c.code]]
            if sum(c.report_share for c in scenario.countries) > 0
            else []
        )
        self._hosting = [c for c in scenario.countries if c.hosting_share > 0]
        self._hosting_weights = [c.hosting_share for c in self._hosting]
        self._countries = {c.code: c for c in scenario.countries}
        self._recent_hours: OrderedDict[tuple[str, int], list[tuple[int, float]]] = OrderedDict()
        self._move_targets = {c.code: [o for o in self._hosting if o.code != c.code] for c in scenario.countries}
        # A hotline that joins later takes reports from then on; before, its country's reports are not made.
        self._joins = {h.node_id: scenario.joins_at(h.node_id) or 0.0 for h in members}
        self._opens = {
            code: min((self._joins[h.node_id] for h in hotlines), default=0.0)
            for code, hotlines in self._intake.items()
        }

    def iter_reports(self) -> Iterator[ReportPlan]:
        """Every planned report in arrival order (ties by key), generated as it is consumed."""
        streams = [self._country_reports(c) for c in self._origin_countries()]
        merged = heapq.merge(*streams, key=lambda plan: (plan.at_h, plan.key))
        cap = self.scenario.simulation.max_reports
        return itertools.islice(merged, cap) if cap else merged

    def planned_count(self) -> int:
        """How many reports `iter_reports` yields (counted from the arrival draws alone)."""
        if self._count is None:
            cap = self.scenario.simulation.max_reports
            if cap:
                self._count = sum(1 for _ in itertools.islice(self._arrival_times(), cap))
            else:
                self._count = sum(self._hour_count(c, hour) for c in self._origin_countries() for hour in self._hours())
        return self._count

    def plan_for_url(self, url: str) -> ReportPlan | None:
        """The plan of the item whose key the URL carries, derived again; None for a URL of no planned
        item. (`max_reports` is not applied: a URL past the cap was never reported.)"""
        match = _URL.match(url)
        if match is None:
            return None
        key = match.group(1)
        code, hour, rank = _KEY.match(key).groups()  # type: ignore[union-attr]
        country = next((c for c in self._origin_countries() if c.code == code.upper()), None)
        if country is None:
            return None
        at_h = dict(self._hour_arrivals(country, int(hour))).get(int(rank))
        if at_h is None:
            return None
        plan = self._plan(country, int(hour), int(rank), at_h)
        return plan if plan.url == url else None

    # ---------------------------------------------------------------------------------------- arrivals

    def _origin_countries(self) -> list[Country]:
        return self._origins

    def _rate(self, country: Country) -> float:
        """Reports per simulated hour arriving in the country."""
        sim, countries = self.scenario.simulation, self.scenario.countries
        total = sum(c.report_share for c in countries)
        return sim.annual_reports / (365.0 * 24.0) * country.report_share / total

    def _hour_arrivals(self, country: Country, hour: int) -> list[tuple[int, float]]:
        """(rank, arrival time in simulated hours) in one hour of the country's Poisson process, sorted; only
        those in the arrival window and after a hotline of the country has joined the network. The last few
        hundred are kept: the items met on event streams arrived recently, mostly in the same hours."""
        key = (country.code, hour)
        found = self._recent_hours.get(key)
        if found is None:
            found = self._draw_hour(country, hour)
            self._recent_hours[key] = found
            if len(self._recent_hours) > _RECENT_HOURS:
                self._recent_hours.popitem(last=False)
        else:
            self._recent_hours.move_to_end(key)
        return found

    def _draw_hour(self, country: Country, hour: int) -> list[tuple[int, float]]:
        stream = Stream(self.scenario.simulation.seed, "arrivals", f"{country.code.lower()}-{hour}")
        count = poisson(stream, self._rate(country))
        times = sorted(hour + stream.random() for _ in range(count))
        opens, duration = self._opens[country.code], self.scenario.simulation.duration_hours
        return [(rank, t) for rank, t in enumerate(times) if opens <= t < duration]

    def _hour_count(self, country: Country, hour: int) -> int:
        """How many arrivals `_hour_arrivals` gives (without drawing the times of a whole hour)."""
        if hour + 1 > self.scenario.simulation.duration_hours or hour < self._opens[country.code]:
            return len(self._hour_arrivals(country, hour))
        stream = Stream(self.scenario.simulation.seed, "arrivals", f"{country.code.lower()}-{hour}")
        return poisson(stream, self._rate(country))

    def _hours(self) -> range:
        return range(math.ceil(self.scenario.simulation.duration_hours))

    def _arrival_times(self) -> Iterator[float]:
        return heapq.merge(*(self._country_times(c) for c in self._origin_countries()))

    def _country_times(self, country: Country) -> Iterator[float]:
        for hour in self._hours():
            yield from (t for _, t in self._hour_arrivals(country, hour))

    def _country_reports(self, country: Country) -> Iterator[ReportPlan]:
        for hour in self._hours():
            for rank, at_h in self._hour_arrivals(country, hour):
                yield self._plan(country, hour, rank, at_h)

    # ---------------------------------------------------------------------------------------- one item

    def _plan(self, origin_country: Country, hour: int, rank: int, at_h: float) -> ReportPlan:
        scenario = self.scenario
        seed, world = scenario.simulation.seed, scenario.world
        key = f"{origin_country.code.lower()}-{hour}-{rank}"

        hotlines = [h for h in self._intake[origin_country.code] if self._joins[h.node_id] <= at_h]
        origin = (
            hotlines[Stream(seed, "intake", key).choose([h.intake_share for h in hotlines])]
            if len(hotlines) > 1
            else hotlines[0]
        )

        where = Stream(seed, "hosting", key)
        country = self._hosting[where.choose(self._hosting_weights)]
        provider = where.randrange(1, PROVIDERS_PER_COUNTRY + 1)
        tld = where.randrange(0, len(_TLDS))
        token = where.bits32()

        legality = Stream(seed, "legality", key)
        known_u, illegal_u, baseline_u = legality.random(), legality.random(), legality.random()
        known = known_u < world.known_share
        if known:
            classification = "BASELINE"
        elif illegal_u >= world.illegal_share:
            classification = "NOT_ILLEGAL"
        else:
            classification = "BASELINE" if baseline_u < world.baseline_share else "NATIONAL"
        digest = (
            self.known_hashes[Stream(seed, "known-content", key).randrange(0, len(self.known_hashes))]
            if known
            else hashlib.sha256(f"content-{seed}-{key}".encode()).hexdigest()
        )

        stages = [self._stage(f"{key}/0", country.code)]
        if stages[0].moved_to:
            stages.append(self._stage(f"{key}/1", stages[0].moved_to, may_move=False))
        host = f"c{hour}-{rank}.hosting-{country.code.lower()}-{provider}.{_TLDS[tld]}"
        return ReportPlan(
            key=key,
            at_h=at_h,
            origin=origin.node_id,
            url=f"https://{host}/gallery/{key}/{token:08x}.html",
            known=known,
            classification=classification,
            analyst_h=_draw(Stream(seed, "analyst", key), world.analyst_delay),
            content_sha256=digest,
            stages=tuple(stages),
            vanish_h=_vanish(Stream(seed, "vanish", key), country),
        )

    def _stage(self, stage_key: str, code: str, *, may_move: bool = True) -> Stage:
        """One assignee's behaviour; each purpose reads its own stream, whatever the other draws decide."""
        seed, world = self.scenario.simulation.seed, self.scenario.world
        country = self._countries[code]
        moved_to = ""
        move = Stream(seed, "move", stage_key)
        move_u = move.random()
        others = self._move_targets[code]
        if may_move and move_u < world.move_probability and others:
            moved_to = others[move.choose([c.hosting_share for c in others])].code
        response = Stream(seed, "response", stage_key)
        unresponsive = response.random() < country.unresponsive_share
        provider_h = _draw(response, country.provider)
        ignored_from_abroad = response.random() < country.abroad_ignored_share
        resend = Stream(seed, "resend", stage_key)
        answered_resend = _first_success(resend.random(), country.resend_response_share)
        resend_h = _draw(resend, country.provider)
        escalation = Stream(seed, "escalation", stage_key)
        answers_escalation = escalation.random() < country.escalation_response_share
        escalation_h = _draw(escalation, country.provider)
        hold = Stream(seed, "hold", stage_key)
        held = hold.random() < world.lea_hold_probability
        hold_h = _draw(hold, world.lea_hold)
        return Stage(
            hosting_country=code,
            agrees=Stream(seed, "reassess", stage_key).random() < world.reassess_agreement,
            lea_delay_h=_draw(Stream(seed, "lea", stage_key), world.lea_delay),
            hold_h=hold_h if held else 0.0,
            provider_h=None if unresponsive and not moved_to else provider_h,
            moved_to=moved_to,
            abroad_provider_h=(
                None
                if (unresponsive or ignored_from_abroad) and not moved_to
                else provider_h * country.abroad_delay_factor
            ),
            answered_resend=answered_resend,
            resend_h=resend_h,
            escalation_h=escalation_h if answers_escalation else None,
        )


def build_workload(scenario: Scenario) -> Workload:
    """The plan of reports for the scenario's arrival window, from its seed alone (generated lazily)."""
    seed = scenario.simulation.seed
    known_hashes = [hashlib.sha256(f"known-{seed}-{i}".encode()).hexdigest() for i in range(KNOWN_POOL)]
    return Workload(scenario, known_hashes)


def _vanish(stream: Stream, country: Country) -> float | None:
    """When content hosted in the country goes offline by itself, if it does (its own stream: no other draw moves)."""
    gone = stream.random() < country.vanish_share
    hours = _draw(stream, country.vanish)
    return hours if gone else None


def _first_success(u: float, chance: float) -> int:
    """The trial (1, 2, ...) of the first success at `chance` per trial, from one uniform draw; 0 = never."""
    if chance <= 0:
        return 0
    if chance >= 1:
        return 1
    return int(math.log1p(-u) / math.log1p(-chance)) + 1


def _draw(stream: Stream, delay: Delay) -> float:
    """A log-normal delay; always consumes the stream's normal draw, so later draws never shift."""
    z = stream.gauss()
    if delay.median_hours <= 0:
        return 0.0
    return delay.median_hours * math.exp(z * delay.sigma)


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
