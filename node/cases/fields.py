"""The rules for text that comes from outside the node, written once: the integrator API checks every string
field of every request with them at its boundary, and the case domain and the exchange check what they take in
with the same functions, so a value is refused with the same code, reason and words wherever it enters.

Each refusal is an InvalidArgument naming the field, with a stable reason (google.rpc.ErrorInfo.reason). Its
message never repeats the value: it may be long, binary, or someone else's data.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from node.errors import InvalidArgument, Reason

__all__ = [
    "FORBIDDEN_CHARACTER",
    "LIMIT_EXCEEDED",
    "MALFORMED_ID",
    "MAX_COUNTER",
    "MAX_NOTE_CHARS",
    "MAX_SEQUENCE",
    "MAX_TEXT_CHARS",
    "MAX_TOKEN_CHARS",
    "MAX_VERSION",
    "check_counter",
    "check_country",
    "check_field",
    "check_integer",
    "check_node_id",
    "check_note",
    "check_request_id",
    "check_text",
    "check_time",
    "check_token_id",
    "check_uuid",
    "check_uuid7",
]

# Reasons (google.rpc.ErrorInfo.reason) of the refusals below.
FORBIDDEN_CHARACTER = Reason.FORBIDDEN_CHARACTER
"""A NUL, another control character, or text that is not valid UTF-8 (an unpaired surrogate)."""
LIMIT_EXCEEDED = Reason.LIMIT_EXCEEDED
"""Longer than the field's limit."""
MALFORMED_ID = Reason.MALFORMED_ID
"""Not in the format of the id, request id, country code or cursor the field holds."""

MAX_TEXT_CHARS = 200
"""Names, emails, references, sources, organisations: one line of at most 200 characters."""
MAX_NOTE_CHARS = 2000
"""Free text (notes and reasons): at most 2,000 characters; line breaks (LF, CR) and tabs allowed."""
MAX_TOKEN_CHARS = 400
"""A page token or event cursor, as issued by the node (base64)."""
MAX_COUNTER = 2**63 - 1
"""The largest sequence number a cursor may name (a signed 64-bit integer)."""
MAX_SEQUENCE = 2**31 - 1
"""The largest per-item status sequence number: the column holding it is a signed 32-bit INTEGER."""
MAX_VERSION = 2**63 - 1
"""The largest roster version: a signed 64-bit BIGINT column (the wire field is a uint64)."""
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""No time a peer tells of (a report, an action) lies before this."""
MAX_TIME_AHEAD = timedelta(days=1)
"""How far ahead of this node's clock a peer's time of an event may lie (a clock ahead, not an invention)."""

# C0 controls, DEL, C1 controls and surrogates (which no UTF-8 text holds). Free text keeps tab, LF and CR.
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_NOTE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_COUNTRY = re.compile(r"[A-Z]{2}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_NODE_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_UUID7 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TOKEN_ID = re.compile(r"[0-9a-f]{16}")
_COUNTER = re.compile(r"[0-9]{1,19}")


def check_text(value: str, *, field: str, limit: int | None = MAX_TEXT_CHARS, multiline: bool = False) -> str:
    """One line of text (or, `multiline`, free text) of at most `limit` characters, valid UTF-8, with no NUL
    and no other control character. `limit=None`: the caller bounds the length (a URL's, in UTF-8 bytes)."""
    if limit is not None and len(value) > limit:
        raise InvalidArgument(
            f"must be at most {limit} characters, got {len(value)}",
            field=field,
            reason=LIMIT_EXCEEDED,
            metadata={"limit": str(limit), "unit": "characters"},
        )
    bad = (_FORBIDDEN_IN_NOTE if multiline else _FORBIDDEN_IN_LINE).search(value)
    if bad is not None:
        code = ord(bad.group())
        what = "valid UTF-8 text" if 0xD800 <= code <= 0xDFFF else "free of control characters"
        raise InvalidArgument(
            f"must be {what}: U+{code:04X} at character {bad.start()}", field=field, reason=FORBIDDEN_CHARACTER
        )
    return value


def check_note(value: str, *, field: str) -> str:
    """Free text: a note or a reason."""
    return check_text(value, field=field, limit=MAX_NOTE_CHARS, multiline=True)


def check_country(value: str, *, field: str) -> str:
    """An ISO 3166-1 alpha-2 code, in any case and surrounding space; returned in upper case."""
    check_text(value, field=field)
    country = value.strip().upper()
    if not _COUNTRY.fullmatch(country):
        raise InvalidArgument("must be an ISO 3166-1 alpha-2 country code", field=field, reason=MALFORMED_ID)
    return country


def check_request_id(value: str, *, field: str = "request_id") -> str:
    """A caller's idempotency key: empty (none), or 1-128 characters of A-Z a-z 0-9 . _ : -."""
    if value and not _REQUEST_ID.fullmatch(value):
        raise InvalidArgument("must be 1-128 characters of A-Z a-z 0-9 . _ : -", field=field, reason=MALFORMED_ID)
    return value


def check_node_id(value: str, *, field: str) -> str:
    if not _NODE_ID.fullmatch(value):
        raise InvalidArgument(
            "must be a node id: 2-63 characters of a-z, 0-9 and '-'", field=field, reason=MALFORMED_ID
        )
    return value


def check_uuid(value: str, *, field: str) -> str:
    """An item or report id: the node issues UUIDs (8-4-4-4-12 hexadecimal digits)."""
    if not _UUID.fullmatch(value):
        raise InvalidArgument("must be an id this node issued (a UUID)", field=field, reason=MALFORMED_ID)
    return value


def check_uuid7(value: str, *, field: str) -> str:
    """A message id: a UUIDv7 (RFC 9562: 8-4-4-4-12 hexadecimal digits, version 7, the RFC variant)."""
    if not _UUID7.fullmatch(value):
        raise InvalidArgument("must be a UUIDv7 (RFC 9562)", field=field, reason=MALFORMED_ID)
    return value


def check_integer(value: int, *, field: str, minimum: int = 0, maximum: int = MAX_COUNTER) -> int:
    """A count, sequence number or version within the column that stores it. The message names the bounds,
    never the value."""
    if not minimum <= value <= maximum:
        raise InvalidArgument(f"must be from {minimum} to {maximum}", field=field, reason=LIMIT_EXCEEDED)
    return value


def check_time(value: datetime, *, field: str, now: datetime | None) -> datetime:
    """A time a peer or caller tells of: not before EARLIEST_TIME, nor (given the node's clock `now`) more
    than MAX_TIME_AHEAD ahead of it."""
    if value < EARLIEST_TIME or (now is not None and value > now + MAX_TIME_AHEAD):
        raise InvalidArgument(
            f"must lie between {EARLIEST_TIME.date().isoformat()} and a day ahead of this node's clock",
            field=field,
            reason=LIMIT_EXCEEDED,
        )
    return value


def check_token_id(value: str, *, field: str = "token_id") -> str:
    if not _TOKEN_ID.fullmatch(value):
        raise InvalidArgument("must be a token id: 16 lower-case hexadecimal digits", field=field, reason=MALFORMED_ID)
    return value


def check_counter(value: str, *, field: str) -> int:
    """A sequence number written in ASCII digits, from 0 to MAX_COUNTER (never `str.isdigit`, which takes
    '²' and other Unicode digits that int() refuses)."""
    if not _COUNTER.fullmatch(value) or int(value) > MAX_COUNTER:
        raise InvalidArgument("is not a cursor this node issued", field=field, reason=MALFORMED_ID)
    return int(value)


# The rule of each request field, by its name; any other string field is one line of MAX_TEXT_CHARS.
_RULES: dict[str, Callable[..., object]] = {
    "url": functools.partial(check_text, limit=None),  # normalise_url caps it at MAX_URL_BYTES
    "referrer_url": functools.partial(check_text, limit=None),
    "page_token": functools.partial(check_text, limit=MAX_TOKEN_CHARS),
    "after_cursor": functools.partial(check_text, limit=MAX_TOKEN_CHARS),
    "note": check_note,
    "reason": check_note,
    "override_reason": check_note,
    "item_id": check_uuid,
    "report_id": check_uuid,
    "token_id": check_token_id,
    "request_id": check_request_id,
}


def check_field(name: str, value: str, *, field: str) -> None:
    """Check a non-empty string field called `name` (at the path `field`) by the rule for its name. Whether
    an empty value is allowed, and the rules that need more than the text (a URL's form, a country list), are
    for the use case."""
    _RULES.get(name, check_text)(value, field=field)
