"""Node ids and ISO 3166-1 alpha-2 country codes, as the settings spell them."""

from __future__ import annotations

import difflib
import re
from typing import Any

from node.errors import InvalidArgument
from node.hosting.countries import ISO_3166_ALPHA_2

_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# Codes people write for a country that ISO 3166-1 spells otherwise.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


def _country(value: str, where: str) -> str:
    """`value` as an assigned ISO 3166-1 alpha-2 code (upper case), or InvalidArgument with a suggestion."""
    code = value.strip().upper()
    if code in ISO_3166_ALPHA_2:
        return code
    close = [_COUNTRY_ALIASES[code]] if code in _COUNTRY_ALIASES else []
    close = close or difflib.get_close_matches(code, sorted(ISO_3166_ALPHA_2), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else " (two letters, like NL, DE or GB)"
    raise InvalidArgument(f"{value!r} is not an ISO 3166-1 alpha-2 country code{hint}", field=where)


def _countries(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument("must be a list of ISO 3166-1 alpha-2 codes", field=where)
    return frozenset(_country(v, where) for v in value)
