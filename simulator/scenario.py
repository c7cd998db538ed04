"""Scenario files: the world a simulation runs in, as TOML, with every field checked and every default
filled in. A bad file gets a ScenarioError naming the field, for example `countries[3].hosting_share`.

The schema is documented in simulator/README.md; `hotline-sim show-config NAME` prints a fully resolved
scenario, which is also what a run writes to `scenario.resolved.toml`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

__all__ = [
    "ATTACKS",
    "FAULT_KINDS",
    "Country",
    "Delay",
    "Fault",
    "Hotline",
    "Hours",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "World",
    "bundled_scenarios",
    "load_scenario",
    "parse_scenario",
    "to_toml",
]

_T = TypeVar("_T")
_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
FAULT_KINDS = ("crash", "partition", "latency", "loss", "rotate_keys", "revoke", "suspend", "rogue", "join")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
PARTITION_MODES = ("isolate", "halves", "bridge")
ATTACKS = ("forged", "impersonating", "replayed", "misaddressed", "malformed", "expired", "future_dated")


class ScenarioError(ValueError):
    """A scenario file that cannot be run; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Delay:
    """A log-normal delay: `median_hours`, spread `sigma` (0 = always the median)."""

    median_hours: float
    sigma: float = 0.0


@dataclass(frozen=True, slots=True)
class Simulation:
    name: str
    seed: int = 1
    # Reports arrive for this long (simulated hours); then the run drains for `drain_hours`.
    duration_hours: float = 24.0
    drain_hours: float = 72.0
    # Simulated seconds per wall-clock second.
    clock_scale: float = 3600.0
    start: str = "2026-03-02T00:00:00Z"
    sample_minutes: float = 60.0
    # Network-wide reports per year. The default is the 2023 figure of content URLs exchanged between
    # INHOPE hotlines (785,322); set it lower for small runs.
    annual_reports: float = 785_322.0
    # Cap on reports (0 = none), so that a test-sized run stays small whatever the rates say.
    max_reports: int = 0
    # Wall-clock seconds the run may take to drain before the invariants are checked anyway.
    drain_timeout_seconds: float = 120.0
    post_quantum: bool = False
    # Deterministic mode only (live mode has real sockets): simulated one-way latency of every delivery
    # between nodes (the receipts pay it again on the way back), and of every integrator call of the case
    # systems. Faults add to the link latency.
    link_latency_ms: float = 40.0
    api_latency_ms: float = 5.0


@dataclass(frozen=True, slots=True)
class World:
    # Share of reports whose content is already known (matches a known hash): 12% (88% was new in 2023).
    known_share: float = 0.12
    # Share of new content the analyst judges illegal (539,836 of 785,322 in 2023: 68.7%).
    illegal_share: float = 0.687
    # Of illegal content, the share that is BASELINE (illegal everywhere) rather than only NATIONAL.
    baseline_share: float = 0.6
    analyst_delay: Delay = field(default_factory=lambda: Delay(2.0, 0.8))
    # How often the receiving hotline's re-assessment agrees with the originator (NATIONAL only;
    # BASELINE always stands).
    reassess_agreement: float = 0.95
    lea_delay: Delay = field(default_factory=lambda: Delay(1.0, 0.5))
    lea_hold_probability: float = 0.05
    lea_hold: Delay = field(default_factory=lambda: Delay(24.0, 0.5))
    # Share of content that moves to another host (and country) before removal.
    move_probability: float = 0.03
    # Countries without a member hotline: "direct" (the originator sends the NTD itself) or "refer"
    # (a designated member takes those items, named by fallback_node).
    fallback: str = "direct"
    fallback_node: str = ""
    # Repeated notices: while the provider has not answered, the notifying hotline sends the notice again
    # every `resend_hours` (0 = never; 24 = daily, as Project Arachnid does). Whether a re-sent notice gets
    # an answer is each country's `resend_response_share`.
    resend_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    name: str = ""
    # Share of the network's reports that arrive at this country's hotlines (0 for no member).
    report_share: float = 0.0
    # Share of reported content hosted in this country.
    hosting_share: float = 0.0
    # The hosting providers' response to a notice: time to removal, and the share that never respond
    # (left to the 72-hour escalation and, in the end, to a second notice).
    provider: Delay = field(default_factory=lambda: Delay(20.0, 1.0))
    unresponsive_share: float = 0.02
    # A notice from abroad (a hotline of another country: the no-member fallback, direct or referred):
    # the providers' time to respond is multiplied by `abroad_delay_factor`, and `abroad_ignored_share`
    # of such notices go unanswered on top of `unresponsive_share`.
    abroad_delay_factor: float = 1.0
    abroad_ignored_share: float = 0.0
    # A provider that has not answered yet answers each re-sent notice (world.resend_hours) with this
    # chance, and the node's escalation at the removal deadline with `escalation_response_share`; it then
    # takes its usual time (`provider`) from that notice.
    resend_response_share: float = 0.0
    escalation_response_share: float = 0.0
    # Content hosted here that goes offline by itself (the site closes, the file is deleted or moved out of
    # reach), whoever acts: the share of it, and the time from the report. 0 = content stays until removed.
    vanish_share: float = 0.0
    vanish: Delay = field(default_factory=lambda: Delay(24.0, 1.0))


@dataclass(frozen=True, slots=True)
class Hours:
    """When a hotline works (its analysts, its contact with the police, its notices to providers): from
    `open` to `close` local time on `days`, in the time zone `zone`. The default is always open."""

    zone: str = "UTC"
    open: str = "00:00"
    close: str = "24:00"
    days: tuple[str, ...] = WEEKDAYS


@dataclass(frozen=True, slots=True)
class Hotline:
    node_id: str
    country: str
    organisation: str = ""
    # Where a country has several hotlines: one is the designated receiver of referrals, and reports
    # split between them by `intake_share`.
    designated: bool = False
    intake_share: float = 1.0
    # A misbehaving member: listed in the roster, takes no reports, and attacks when a `rogue` fault says.
    rogue: bool = False
    # Deterministic mode: this hotline's own network latency (simulated ms, 0 = simulation.link_latency_ms).
    # A link's one-way latency is the mean of its two ends'.
    link_latency_ms: float = 0.0
    # Working hours: work that falls due outside them waits for the next opening.
    hours: Hours = field(default_factory=Hours)
    # Exchange cadence: this hotline's node holds its referrals and sends them in batches, every
    # `referral_batch_hours` (since midnight UTC) or at `referral_batch_times` (local times in hours.zone);
    # neither set = at once. The node's [exchange] referral_batch_seconds / referral_batch_times.
    referral_batch_hours: float = 0.0
    referral_batch_times: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    at_hours: float
    # How long it lasts (crash: until restart; partition, latency, loss: until healed); 0 = instantaneous.
    duration_hours: float = 0.0
    nodes: tuple[str, ...] = ()
    # partition: "isolate" (cut `nodes` off from the rest), "halves" (split the network in two),
    # "bridge" (two halves that only `nodes` connect).
    mode: str = "isolate"
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    # rogue: which attacks, against which targets (empty = every other member).
    attacks: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    simulation: Simulation
    world: World
    countries: tuple[Country, ...]
    hotlines: tuple[Hotline, ...]
    faults: tuple[Fault, ...] = ()

    @property
    def members(self) -> tuple[Hotline, ...]:
        return tuple(h for h in self.hotlines if not h.rogue)

    def joins_at(self, node_id: str) -> float | None:
        """The simulated hour a hotline joins the network (a `join` fault), or None for a founding member."""
        return next((f.at_hours for f in self.faults if f.kind == "join" and node_id in f.nodes), None)

    def country(self, code: str) -> Country:
        return next(c for c in self.countries if c.code == code)

    def receiver_for(self, code: str) -> str | None:
        hotlines = [h for h in self.members if h.country == code]
        if len(hotlines) == 1:
            return hotlines[0].node_id
        designated = [h for h in hotlines if h.designated]
        return designated[0].node_id if designated else None

    @property
    def start(self) -> datetime:
        return _parse_start(self.simulation.start, "simulation.start")


# ---------------------------------------------------------------------------------------------- loading


def bundled_scenarios() -> dict[str, str]:
    """Bundled scenario names and their one-line descriptions."""
    found: dict[str, str] = {}
    for entry in sorted(resources.files("simulator.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            text = entry.read_text()
            raw = tomllib.loads(text)
            found[entry.name.removesuffix(".toml")] = str(raw.get("simulation", {}).get("description", ""))
    return found


def load_scenario(name_or_path: str) -> Scenario:
    """A bundled scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise ScenarioError("scenario", f"no scenario file at {path}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ScenarioError("scenario", f"cannot read {path}: {error}") from None
    else:
        bundled = resources.files("simulator.scenarios").joinpath(f"{name_or_path}.toml")
        if not bundled.is_file():
            names = ", ".join(bundled_scenarios())
            raise ScenarioError("scenario", f"no bundled scenario {name_or_path!r} (bundled: {names})")
        text = bundled.read_text()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError("scenario", f"not valid TOML: {error}") from None
    return parse_scenario(raw)


def parse_scenario(raw: Mapping[str, Any]) -> Scenario:
    _known_keys(raw, "", {"simulation", "world", "countries", "hotlines", "faults"})
    sim_raw = _table(raw.get("simulation", {}), "simulation")
    simulation = _dataclass(Simulation, sim_raw, "simulation", extra={"description"})
    if not simulation.name:
        raise ScenarioError("simulation.name", "is required")
    _check(simulation.clock_scale > 0, "simulation.clock_scale", "must be positive")
    _check(simulation.duration_hours > 0, "simulation.duration_hours", "must be positive")
    _check(simulation.drain_hours >= 0, "simulation.drain_hours", "must not be negative")
    _check(simulation.sample_minutes > 0, "simulation.sample_minutes", "must be positive")
    _check(simulation.annual_reports >= 0, "simulation.annual_reports", "must not be negative")
    _check(simulation.max_reports >= 0, "simulation.max_reports", "must not be negative")
    _check(simulation.drain_timeout_seconds > 0, "simulation.drain_timeout_seconds", "must be positive")
    _check(simulation.link_latency_ms >= 0, "simulation.link_latency_ms", "must not be negative")
    _check(simulation.api_latency_ms >= 0, "simulation.api_latency_ms", "must not be negative")
    _parse_start(simulation.start, "simulation.start")
    world = _dataclass(World, _table(raw.get("world", {}), "world"), "world")
    for name in ("known_share", "illegal_share", "baseline_share", "reassess_agreement"):
        _share(getattr(world, name), f"world.{name}")
    for name in ("lea_hold_probability", "move_probability"):
        _share(getattr(world, name), f"world.{name}")
    _check(world.fallback in ("direct", "refer"), "world.fallback", "must be 'direct' or 'refer'")
    _check(world.resend_hours >= 0, "world.resend_hours", "must not be negative (0 = no repeated notices)")

    countries = _tables(raw, "countries", lambda table, where: _dataclass(Country, table, where))
    _check(bool(countries), "countries", "at least one country is needed")
    codes: set[str] = set()
    for i, country in enumerate(countries):
        where = f"countries[{i}]"
        _check(bool(_COUNTRY.match(country.code)), f"{where}.code", "must be an ISO 3166-1 alpha-2 code (upper case)")
        _unique(country.code, codes, f"{where}.code")
        _check(country.report_share >= 0, f"{where}.report_share", "must not be negative")
        _check(country.hosting_share >= 0, f"{where}.hosting_share", "must not be negative")
        for name in (
            "unresponsive_share",
            "abroad_ignored_share",
            "resend_response_share",
            "escalation_response_share",
            "vanish_share",
        ):
            _share(getattr(country, name), f"{where}.{name}")
        _check(country.abroad_delay_factor > 0, f"{where}.abroad_delay_factor", "must be positive")
    _check(sum(c.hosting_share for c in countries) > 0, "countries", "some country must host content")

    hotlines = _tables(raw, "hotlines", lambda table, where: _dataclass(Hotline, table, where))
    _check(any(not h.rogue for h in hotlines), "hotlines", "at least one member hotline is needed")
    node_ids: set[str] = set()
    for i, hotline in enumerate(hotlines):
        where = f"hotlines[{i}]"
        _check(bool(_NODE_ID.match(hotline.node_id)), f"{where}.node_id", "must be 2-63 characters of a-z, 0-9, '-'")
        _unique(hotline.node_id, node_ids, f"{where}.node_id")
        _check(hotline.country in codes, f"{where}.country", f"{hotline.country!r} is not in [[countries]]")
        _check(hotline.intake_share >= 0, f"{where}.intake_share", "must not be negative")
        _check(hotline.link_latency_ms >= 0, f"{where}.link_latency_ms", "must not be negative")
        _batches(hotline, where)
    for i, country in enumerate(countries):
        members = [h for h in hotlines if h.country == country.code and not h.rogue]
        if country.report_share > 0:
            _check(bool(members), f"countries[{i}].report_share", f"{country.code} has no hotline to take reports")
        if len(members) > 1:
            _check(
                sum(h.designated for h in members) == 1,
                f"countries[{i}]",
                f"{country.code} has {len(members)} hotlines; exactly one needs designated = true",
            )
    if world.fallback == "refer":
        _check(world.fallback_node in node_ids, "world.fallback_node", "must name a hotline")

    faults = _tables(raw, "faults", lambda table, where: _fault(table, where, node_ids, hotlines))
    joining: set[str] = set()
    for i, fault in enumerate(faults):
        if fault.kind != "join":
            continue
        for node in fault.nodes:
            _check(node not in joining, f"faults[{i}].nodes", f"{node!r} joins twice")
            _check(node != world.fallback_node, f"faults[{i}].nodes", f"{node!r} is world.fallback_node, a founder")
            joining.add(node)
    _check(
        any(not h.rogue and h.node_id not in joining for h in hotlines),
        "faults",
        "every member joins later; at least one hotline must be a founding member",
    )
    return Scenario(simulation, world, countries, hotlines, faults)


def _fault(raw: dict[str, Any], where: str, node_ids: set[str], hotlines: tuple[Hotline, ...]) -> Fault:
    fault = _dataclass(Fault, raw, where)
    _check(fault.kind in FAULT_KINDS, f"{where}.kind", f"must be one of {', '.join(FAULT_KINDS)}")
    _check(fault.at_hours >= 0, f"{where}.at_hours", "must not be negative")
    _check(fault.duration_hours >= 0, f"{where}.duration_hours", "must not be negative")
    for node in fault.nodes:
        _check(node in node_ids, f"{where}.nodes", f"{node!r} is not a hotline")
    for node in fault.targets:
        _check(node in node_ids, f"{where}.targets", f"{node!r} is not a hotline")
    _check(fault.mode in PARTITION_MODES, f"{where}.mode", f"must be one of {', '.join(PARTITION_MODES)}")
    _check(fault.latency_ms >= 0 and fault.jitter_ms >= 0, f"{where}.latency_ms", "must not be negative")
    _share(fault.loss, f"{where}.loss")
    needs_nodes = {"crash", "rotate_keys", "revoke", "suspend", "rogue", "join"}
    if fault.kind in needs_nodes or (fault.kind == "partition" and fault.mode != "halves"):
        _check(bool(fault.nodes), f"{where}.nodes", f"a {fault.kind} fault names its nodes")
    if fault.kind in ("crash", "partition", "latency", "loss"):
        _check(fault.duration_hours > 0, f"{where}.duration_hours", f"a {fault.kind} fault needs a duration")
    if fault.kind == "rogue":
        rogue_ids = {h.node_id for h in hotlines if h.rogue}
        for node in fault.nodes:
            _check(node in rogue_ids, f"{where}.nodes", f"{node!r} is not a hotline with rogue = true")
        _check(bool(fault.attacks), f"{where}.attacks", f"names at least one of {', '.join(ATTACKS)}")
        for attack in fault.attacks:
            _check(attack in ATTACKS, f"{where}.attacks", f"{attack!r} is not one of {', '.join(ATTACKS)}")
    if fault.kind == "join":
        for node in fault.nodes:
            rogue = next(h.rogue for h in hotlines if h.node_id == node)
            _check(not rogue, f"{where}.nodes", f"{node!r} is a rogue hotline; only members join")
    return fault


def to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML (every default written out)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    data = clean(asdict(scenario))
    return tomli_w.dumps(data)


# ---------------------------------------------------------------------------------------------- helpers


def _parse_start(value: str, where: str) -> datetime:
    try:
        start = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ScenarioError(where, f"must be an ISO 8601 time, got {value!r}") from None
    if start.tzinfo is None:
        raise ScenarioError(where, "needs a time zone, for example 2026-03-02T00:00:00Z")
    return start.astimezone(UTC)


def _hours(hours: Hours, where: str) -> Hours:
    try:
        ZoneInfo(hours.zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScenarioError(
            f"{where}.zone", f"unknown time zone {hours.zone!r} (an IANA name, e.g. Europe/Berlin)"
        ) from None
    opening = _clock_minutes(hours.open, f"{where}.open")
    closing = _clock_minutes(hours.close, f"{where}.close")
    _check(opening < closing, f"{where}.close", f"must be after open ({hours.open}); hours cannot span midnight")
    _check(bool(hours.days), f"{where}.days", "names at least one day")
    for day in hours.days:
        _check(day in WEEKDAYS, f"{where}.days", f"{day!r} is not one of {', '.join(WEEKDAYS)}")
    _check(len(set(hours.days)) == len(hours.days), f"{where}.days", "names a day twice")
    return hours


def _batches(hotline: Hotline, where: str) -> None:
    every = hotline.referral_batch_hours
    _check(
        every == 0 or 1 / 60 <= every <= 168,
        f"{where}.referral_batch_hours",
        f"must be 0 (referrals leave at once) or from one minute (0.0167) to 168 hours, got {every}",
    )
    for value in hotline.referral_batch_times:
        minutes = _clock_minutes(value, f"{where}.referral_batch_times")
        _check(minutes < 24 * 60, f"{where}.referral_batch_times", "24:00 is not a time of day; use 00:00")
    times = hotline.referral_batch_times
    _check(len(set(times)) == len(times), f"{where}.referral_batch_times", "names a time twice")
    _check(
        not (every and times),
        f"{where}.referral_batch_times",
        "set referral_batch_hours or referral_batch_times, not both",
    )


def _clock_minutes(value: str, where: str) -> int:
    """Minutes since midnight of an "HH:MM" time (24:00 is the end of the day)."""
    match = _CLOCK_TIME.match(value)
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise ScenarioError(where, f"must be a time of day HH:MM between 00:00 and 24:00, got {value!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _check(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise ScenarioError(where, message)


def _share(value: float, where: str) -> None:
    _check(0.0 <= value <= 1.0, where, f"must be between 0 and 1, got {value}")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(where, "must be a table")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScenarioError(where, "must be an array of tables")
    return value


def _tables(raw: Mapping[str, Any], key: str, build: Callable[[dict[str, Any], str], _T]) -> tuple[_T, ...]:
    """The array of tables `raw[key]` (empty when absent), each one made by `build(table, "key[i]")`."""
    return tuple(build(_table(t, f"{key}[{i}]"), f"{key}[{i}]") for i, t in enumerate(_list(raw.get(key, []), key)))


def _unique(value: str, seen: set[str], where: str) -> None:
    """`value` has not been seen before; it is seen now."""
    _check(value not in seen, where, f"{value} is listed twice")
    seen.add(value)


def _known_keys(raw: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise ScenarioError(name, f"unknown field (expected one of {', '.join(sorted(allowed))})")


def _dataclass(cls: type[_T], raw: dict[str, Any], where: str, extra: set[str] | None = None) -> _T:
    """Build `cls` from `raw`, checking each field's type; unknown fields are errors."""
    specs = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    _known_keys(raw, where, set(specs) | (extra or set()))
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        if name not in raw:
            continue
        values[name] = _convert(raw[name], str(spec.type), f"{where}.{name}")
    try:
        return cls(**values)
    except TypeError as error:  # a required field is missing
        missing = next((n for n in specs if n not in values), "?")
        raise ScenarioError(f"{where}.{missing}", f"is required ({error})") from None


def _convert(value: Any, type_name: str, where: str) -> Any:
    if type_name == "str":
        if not isinstance(value, str):
            raise ScenarioError(where, "must be a string")
        return value
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ScenarioError(where, "must be true or false")
        return value
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(where, "must be a whole number")
        return value
    if type_name == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(where, "must be a number")
        return float(value)
    if type_name == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScenarioError(where, "must be a list of strings")
        return tuple(value)
    if type_name == "Hours":
        return _hours(_dataclass(Hours, _table(value, where), where), where)
    if type_name == "Delay":
        delay = _dataclass(Delay, _table(value, where), where)
        _check(delay.median_hours >= 0, f"{where}.median_hours", "must not be negative")
        _check(delay.sigma >= 0, f"{where}.sigma", "must not be negative")
        return delay
    raise AssertionError(f"no conversion for {type_name}")
