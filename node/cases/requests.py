"""Validated inputs of the case service. The API's serde builds them; every field is checked here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from node.cases.model import ActionType, Reporter
from node.errors import InvalidArgument
from node.hosting import HostingFacts

__all__ = [
    "MAX_NOTE_CHARS",
    "MAX_TEXT_CHARS",
    "NewReport",
    "NewUrl",
    "RawHash",
    "check_country",
    "check_request_id",
    "check_text",
]

MAX_TEXT_CHARS = 200
MAX_NOTE_CHARS = 2000
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class RawHash:
    algorithm: str
    value: str


@dataclass(frozen=True, slots=True)
class NewUrl:
    url: str
    hashes: tuple[RawHash, ...] = ()


@dataclass(frozen=True, slots=True)
class NewReport:
    urls: tuple[NewUrl, ...]
    referrer_url: str = ""
    reporter: Reporter = field(default_factory=Reporter)
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewAction:
    type: ActionType
    note: str = ""
    moved_to_country: str = ""


@dataclass(frozen=True, slots=True)
class HostingOverride:
    facts: HostingFacts
    reason: str


def check_country(value: str, *, field: str) -> str:
    country = value.strip().upper()
    if not _COUNTRY.match(country):
        raise InvalidArgument(f"must be an ISO 3166-1 alpha-2 country code, got {value!r}", field=field)
    return country


def check_request_id(value: str, *, field: str = "request_id") -> str:
    if value and not _REQUEST_ID.match(value):
        raise InvalidArgument("must be 1-128 characters of A-Z a-z 0-9 . _ : -", field=field)
    return value


def check_text(value: str, *, field: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(value) > limit:
        raise InvalidArgument(f"must be at most {limit} characters, got {len(value)}", field=field)
    return value
