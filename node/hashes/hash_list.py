"""Parsing of bulk known-hash lists (CSV) for import.

Format: a header line naming the columns ``algorithm,hash,classification`` and optionally ``source``,
in any order, then one hash per line. Blank lines and lines starting with ``#`` are skipped. Every row
is validated before anything is returned: the first bad row raises InvalidArgument naming its line
(1-based, the header being line 1 when it is the first line), so a caller imports all or nothing.
A hash listed twice (same algorithm and digest) is kept once, as first listed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from node.errors import InvalidArgument
from node.hashes.content_hash import ContentHash, HashAlgorithm, parse_hash

__all__ = [
    "KNOWN_HASH_CLASSIFICATIONS",
    "MAX_SOURCE_LENGTH",
    "KnownHashEntry",
    "parse_hash_list_csv",
]

KNOWN_HASH_CLASSIFICATIONS: tuple[str, ...] = ("BASELINE", "NATIONAL", "DOUBTFUL", "NOT_ILLEGAL")
"""Classifications a known hash may carry."""

MAX_SOURCE_LENGTH = 200
"""Most characters in a ``source``."""


@dataclass(frozen=True, slots=True)
class KnownHashEntry:
    """One row of a known-hash list."""

    hash: ContentHash
    classification: str  # one of KNOWN_HASH_CLASSIFICATIONS
    source: str  # where the list came from, free text, at most MAX_SOURCE_LENGTH characters


def parse_hash_list_csv(lines: Iterable[str], *, default_source: str) -> list[KnownHashEntry]:
    """Parse and validate a CSV known-hash list; raise InvalidArgument at the first bad line.

    ``lines`` is any iterable of lines (an open text file, a list); a single string is split into
    lines. Classifications are matched case-insensitively and returned upper-case. ``default_source``
    is used for rows without a ``source`` column or with an empty one.
    """
    fallback_source = _check_source(default_source, field="default_source", required=True)
    numbered = _content_lines(lines)
    header = next(numbered, None)
    if header is None:
        raise InvalidArgument(f"the list is empty; it needs a header line: {_HEADER_HINT}", field=_LIST_FIELD)
    header_line, header_text = header
    columns = _parse_header(header_text, line=header_line)

    entries: list[KnownHashEntry] = []
    seen: set[tuple[HashAlgorithm, bytes]] = set()
    for line, text in numbered:
        entry = _parse_row(text, columns, line=line, fallback_source=fallback_source)
        key = (entry.hash.algorithm, entry.hash.digest)
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    return entries


_LIST_FIELD = "hash_list"
_REQUIRED_COLUMNS = ("algorithm", "hash", "classification")
_OPTIONAL_COLUMNS = ("source",)
_HEADER_HINT = "algorithm,hash,classification[,source]"
_CLASSIFICATION_SET = frozenset(KNOWN_HASH_CLASSIFICATIONS)


def _line_field(line: int) -> str:
    return f"{_LIST_FIELD}[line {line}]"


def _content_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) of each line that is neither blank nor a comment."""
    source = lines.splitlines() if isinstance(lines, str) else lines
    for number, raw in enumerate(source, start=1):
        text = raw.rstrip("\r\n")
        if number == 1:
            text = text.removeprefix("\ufeff")  # byte-order mark left by some spreadsheet exports
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        yield number, text


def _split(text: str, *, line: int) -> list[str]:
    if "\n" in text or "\r" in text:
        raise InvalidArgument("a line break inside a field is not allowed", field=_line_field(line))
    try:
        rows = list(csv.reader([text], skipinitialspace=True, strict=True))
    except csv.Error as exc:
        raise InvalidArgument(f"malformed CSV: {exc}", field=_line_field(line)) from None
    return [cell.strip() for cell in rows[0]] if rows else []


def _parse_header(text: str, *, line: int) -> list[str]:
    field = f"{_line_field(line)}.header"
    columns = [name.lower() for name in _split(text, line=line)]
    known = set(_REQUIRED_COLUMNS) | set(_OPTIONAL_COLUMNS)
    for name in columns:
        if name not in known:
            raise InvalidArgument(f"unknown column {name!r}; expected {_HEADER_HINT}", field=field)
        if columns.count(name) > 1:
            raise InvalidArgument(f"column {name!r} appears more than once", field=field)
    missing = [name for name in _REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InvalidArgument(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"the first line must be a header: {_HEADER_HINT}",
            field=field,
        )
    return columns


def _parse_row(text: str, columns: list[str], *, line: int, fallback_source: str) -> KnownHashEntry:
    prefix = _line_field(line)
    cells = _split(text, line=line)
    if len(cells) != len(columns):
        raise InvalidArgument(f"expected {len(columns)} fields ({','.join(columns)}), got {len(cells)}", field=prefix)
    row = dict(zip(columns, cells, strict=True))
    content_hash = parse_hash(row["algorithm"], row["hash"], field=f"{prefix}.hash")
    classification = row["classification"].upper()
    if classification not in _CLASSIFICATION_SET:
        shown = repr(row["classification"]) if row["classification"] else "empty"
        raise InvalidArgument(
            f"unknown classification {shown}; accepted: {', '.join(KNOWN_HASH_CLASSIFICATIONS)}",
            field=f"{prefix}.classification",
        )
    source = _check_source(row.get("source", ""), field=f"{prefix}.source", required=False)
    return KnownHashEntry(hash=content_hash, classification=classification, source=source or fallback_source)


def _check_source(value: str, *, field: str, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"source must be text, got {type(value).__name__}", field=field)
    source = value.strip()
    if required and not source:
        raise InvalidArgument("source must not be empty", field=field)
    if len(source) > MAX_SOURCE_LENGTH:
        raise InvalidArgument(f"source must be at most {MAX_SOURCE_LENGTH} characters, got {len(source)}", field=field)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in source):
        raise InvalidArgument("source must not contain control characters", field=field)
    return source
