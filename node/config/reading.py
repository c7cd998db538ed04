"""A typed reader of the TOML tables: strings, tables, numbers and flags, each refused naming its key; the keys
the parser never asked for (`_refuse_unknown`); and path settings resolved against the config file's folder."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class _Paths:
    """Resolves a path setting against the config file's folder."""

    base: Path | None

    def __call__(self, value: str) -> str:
        if not value or self.base is None or Path(value).is_absolute():
            return value
        return str(self.base / value)


class _Read(dict[str, Any]):
    """A TOML table that remembers which keys the parser asked for, present or not: whatever it never asked
    for is a setting the node does not know."""

    asked: set[str]

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> _Read:
        read = cls({key: _wrap(value) for key, value in table.items()})
        read.asked = set()
        return read

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return _Read.of(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _refuse_unknown(table: _Read, where: str) -> None:
    """Refuse the first key of `table`, or of a table below it that the parser consulted, that it never asked
    for. A table nobody consulted (the static resolver's entries, read when the resolver is built) is left to
    its reader."""
    for key, value in table.items():
        path = f"{where}.{key}" if where else key
        if key not in table.asked:
            close = difflib.get_close_matches(key, sorted(table.asked), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known here: {', '.join(sorted(table.asked))}"
            raise InvalidArgument(f"unknown setting{hint}", field=path)
        children = value if isinstance(value, list) else [value]
        for i, child in enumerate(children):
            if isinstance(child, _Read) and child.asked:
                _refuse_unknown(child, f"{path}[{i}]" if isinstance(value, list) else path)


def _str(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise InvalidArgument("must be a string", field=where)
    if required and not value:
        raise InvalidArgument("is required", field=where)
    return value


def _table(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value: dict[str, Any] = raw.get(key, {})
    if not isinstance(value, dict):
        raise InvalidArgument(f"must be a table ([{where}])", field=where)
    return value


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, *, section: str = "node") -> int:
    """A count: a whole number (a fraction is refused, not truncated)."""
    value = _num(raw, key, default, low, high, section=section)
    if not value.is_integer():
        raise InvalidArgument(f"must be a whole number, got {value:g}", field=f"{section}.{key}")
    return int(value)


def _num(raw: Mapping[str, Any], key: str, default: float, low: float, high: float, *, section: str = "node") -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument("must be a number", field=f"{section}.{key}")
    if not low <= value <= high:
        raise InvalidArgument(f"must be between {low:g} and {high:g}", field=f"{section}.{key}")
    return float(value)


def _flag(node: Mapping[str, Any], key: str) -> bool:
    value = node.get(key, False)
    if not isinstance(value, bool):
        raise InvalidArgument("must be true or false", field=f"node.{key}")
    return value
