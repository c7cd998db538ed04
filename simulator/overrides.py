"""`--set KEY=VALUE`: a change to one field of a scenario, by a dotted path into its TOML.

    simulation.seed=3                       a field of [simulation] or [world]
    world.analyst_delay.median_hours=4      a field of a nested table
    countries.PA.provider.median_hours=12   a country, by its code
    hotlines.de-hotline.link_latency_ms=80  a hotline, by its node id
    faults.0.at_hours=6                     a fault, by its position (from 0)

A value is read as a TOML value (`3`, `0.4`, `true`, `"text"`, `["a", "b"]`, `{ median_hours = 2 }`); anything
that is not one is taken as a string (`world.fallback=refer`). The changed scenario is checked by
`parse_scenario` as a file would be, so a value of the wrong type or out of range is refused the same way.
Every refusal is an `OverrideError`: one line naming the setting and, for a path, the valid choices.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulator.scenario import Scenario, ScenarioError, parse_scenario, to_toml

__all__ = ["Override", "OverrideError", "apply_overrides", "parse_override", "split_values"]

# The arrays of tables, and the field that names an entry of each on a path (None: by position).
_ENTRY_KEYS = {"countries": "code", "hotlines": "node_id", "faults": None}


class OverrideError(ScenarioError):
    """A `--set` that cannot apply: the message is one line naming the setting (a ScenarioError, so whoever
    reports a bad scenario reports it)."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)
        self.field = "--set"
        self.message = message


@dataclass(frozen=True, slots=True)
class Override:
    key: str
    value: Any
    # As given on the command line (the value's text after `=`), for tables and directory names.
    text: str

    def __str__(self) -> str:
        return f"{self.key}={self.text}"


def parse_override(given: str) -> Override:
    """`KEY=VALUE` as typed: the key checked for shape only (the scenario checks the rest)."""
    key, value = _split_assignment(given)
    return Override(key, _value(value), value)


def split_values(given: str) -> tuple[str, list[Override]]:
    """`KEY=V1,V2,...` (a sweep's axis): the key and one Override per value. Commas inside brackets, braces or
    quotes do not split (`faults.0.nodes=["a","b"],["c"]` has two values)."""
    key, values = _split_assignment(given)
    parts = _top_level_commas(values)
    if any(not part.strip() for part in parts):
        raise OverrideError(f"--set {given}: an empty value (write KEY=V1,V2,...)")
    seen: set[str] = set()
    for part in parts:
        if part.strip() in seen:
            raise OverrideError(f"--set {given}: {part.strip()} is given twice")
        seen.add(part.strip())
    return key, [Override(key, _value(part.strip()), part.strip()) for part in parts]


def apply_overrides(scenario: Scenario, overrides: Sequence[Override]) -> Scenario:
    """The scenario with each override applied in order, checked as a scenario file is."""
    if not overrides:
        return scenario
    raw: dict[str, Any] = tomllib.loads(to_toml(scenario))
    for override in overrides:
        _assign(raw, override)
    try:
        return parse_scenario(raw)
    except ScenarioError as error:
        given = ", ".join(f"--set {o}" for o in overrides)
        raise OverrideError(f"{given}: {error}") from None


# ---------------------------------------------------------------------------------------------- helpers


def _split_assignment(given: str) -> tuple[str, str]:
    key, sep, value = given.partition("=")
    key = key.strip()
    if not sep or not key:
        raise OverrideError(f"--set {given}: expected KEY=VALUE, for example simulation.seed=3")
    if any(not part for part in key.split(".")) or " " in key:
        raise OverrideError(f"--set {given}: {key!r} is not a dotted path, for example world.known_share")
    if not value.strip():
        raise OverrideError(f"--set {given}: no value after '='")
    return key, value.strip()


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _top_level_commas(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _assign(raw: dict[str, Any], override: Override) -> None:
    """Walk raw (the resolved scenario, every default written out) along the key and set the last field. A
    field the resolved table lacks is still set: parse_scenario then names the fields it knows."""
    path = override.key.split(".")
    node: dict[str, Any] = raw
    walked: list[str] = []
    i = 0
    while i < len(path) - 1:
        part = path[i]
        if part not in node:
            here = ".".join(walked) or "the scenario"
            raise OverrideError(f"--set {override}: {here} has no {part!r} (choices: {_choices(node)})")
        child = node[part]
        walked.append(part)
        if node is raw and part in _ENTRY_KEYS:
            if i + 2 >= len(path):
                example = f"{part}.{_first(child, part)}.FIELD"
                raise OverrideError(f"--set {override}: name a field of one entry, for example {example}")
            i += 1
            child = _entry(child, part, path[i], override)
            walked.append(path[i])
        if not isinstance(child, dict):
            raise OverrideError(f"--set {override}: {'.'.join(walked)} is a value, not a table")
        node = child
        i += 1
    if node is raw and path[-1] in _ENTRY_KEYS:
        example = f"{path[-1]}.{_first(raw.get(path[-1], []), path[-1])}.FIELD"
        raise OverrideError(f"--set {override}: {path[-1]} cannot be replaced whole; set a field, as {example}")
    node[path[-1]] = override.value


def _entry(entries: list[dict[str, Any]], table: str, name: str, override: Override) -> dict[str, Any]:
    """The entry of an array of tables that the name picks (changed in place by the caller)."""
    key = _ENTRY_KEYS[table]
    if key is None:
        if name.isdigit() and int(name) < len(entries):
            return entries[int(name)]
        choices = f"0 to {len(entries) - 1}" if entries else f"none: the scenario has no {table}"
        raise OverrideError(f"--set {override}: {table} has no entry {name!r} (choices: {choices})")
    for entry in entries:
        if entry.get(key) == name:
            return entry
    names = ", ".join(sorted(str(e.get(key)) for e in entries))
    raise OverrideError(f"--set {override}: {table} has no {name!r} (choices: {names})")


def _first(entries: list[dict[str, Any]], table: str) -> str:
    key = _ENTRY_KEYS[table]
    if key is None or not entries:
        return "0"
    return str(entries[0].get(key))


def _choices(node: dict[str, Any]) -> str:
    return ", ".join(sorted(node)) or "none"
