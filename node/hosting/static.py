"""A resolver answering from a fixed table: for tests, the simulator, and hand-kept configuration."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from node.errors import InvalidArgument
from node.hosting.facts import HostingFacts
from node.hosting.hosts import country_code, is_ip_literal, normalise_host, parse_ip, unknown_facts

__all__ = ["StaticResolver"]


class StaticResolver:
    """Hosting facts looked up in a table of hosts.

    A host matches its own entry first, then the entry of its longest parent domain (an entry for
    "host-b.example" also answers for "cdn.host-b.example"), then the default. IP literals match only
    exactly. A host that matches nothing gets unknown facts (country None, source "static").
    """

    def __init__(self, entries: Mapping[str, HostingFacts], default: HostingFacts | None = None) -> None:
        table: dict[str, HostingFacts] = {}
        for host, facts in entries.items():
            if not host.strip():
                raise InvalidArgument("an entry has an empty host", field="entries")
            key = normalise_host(host)
            if key in table:
                raise InvalidArgument(f"two entries for the host {key!r}", field="entries")
            table[key] = facts
        self._entries = table
        self._default = default

    @classmethod
    def from_table(cls, rows: Iterable[Mapping[str, object]], *, default: HostingFacts | None = None) -> StaticResolver:
        """Build the resolver from rows as a TOML array of tables gives them (`[[hosting.static]]`).

        Each row has a `host` and optionally `country`, `asn`, `organisation`, `cdn` and `ip`; a missing
        key means unknown (cdn: False). A bad row raises InvalidArgument naming the field, counting rows
        from 0, e.g. field="hosting.static[2].country".
        """
        entries: dict[str, HostingFacts] = {}
        for index, row in enumerate(rows):
            host, facts = _parse_row(index, row)
            if host in entries:
                raise InvalidArgument(
                    f"the host {host!r} appears in more than one row", field=f"{_PREFIX}[{index}].host"
                )
            entries[host] = facts
        return cls(entries, default)

    def resolve(self, host: str) -> HostingFacts:
        key = normalise_host(host)
        found = self._entries.get(key)
        if found is not None:
            return found
        if not is_ip_literal(key):
            labels = key.split(".")
            for start in range(1, len(labels)):
                found = self._entries.get(".".join(labels[start:]))
                if found is not None:
                    return found
        return self._default if self._default is not None else unknown_facts(_SOURCE)


_SOURCE: Final = "static"
_PREFIX: Final = "hosting.static"
_ROW_KEYS: Final = ("host", "country", "asn", "organisation", "cdn", "ip")
_MAX_ASN: Final = 2**32 - 1
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def _parse_row(index: int, row: object) -> tuple[str, HostingFacts]:
    prefix = f"{_PREFIX}[{index}]"
    if not isinstance(row, Mapping):
        raise InvalidArgument("each entry must be a table with at least a host", field=prefix)
    for key in row:
        if key not in _ROW_KEYS:
            raise InvalidArgument(f"unknown key {key!r}; the keys are {', '.join(_ROW_KEYS)}", field=f"{prefix}.{key}")
    host = _parse_host(row.get("host"), f"{prefix}.host")
    country = _parse_country(row.get("country"), f"{prefix}.country")
    asn = _parse_asn(row.get("asn"), f"{prefix}.asn")
    organisation = _parse_organisation(row.get("organisation"), f"{prefix}.organisation")
    cdn = _parse_cdn(row.get("cdn"), f"{prefix}.cdn")
    ip = _parse_address(row.get("ip"), f"{prefix}.ip")
    facts = HostingFacts(ip=ip, country=country, asn=asn, organisation=organisation, cdn=cdn, source=_SOURCE)
    return host, facts


def _parse_host(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument("a host name or IP address is required", field=field)
    host = normalise_host(value)
    if is_ip_literal(host):
        return host
    if not host.isascii():
        raise InvalidArgument(f"{value!r} is not ASCII; give the punycode (xn--) form", field=field)
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidArgument(f"{value!r} is not a host name (no scheme, port or path)", field=field)
    return host


def _parse_country(value: object, field: str) -> str | None:
    if value is None:
        return None
    code = country_code(value)
    if code is None:
        raise InvalidArgument(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code (two letters); omit it if unknown",
            field=field,
        )
    return code


def _parse_asn(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ASN:
        raise InvalidArgument(f"{value!r} is not an AS number (an integer from 0 to {_MAX_ASN})", field=field)
    return value


def _parse_organisation(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument("the organisation must be a non-empty string; omit it if unknown", field=field)
    return value.strip()


def _parse_cdn(value: object, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"{value!r} is not true or false", field=field)
    return value


def _parse_address(value: object, field: str) -> str | None:
    if value is None:
        return None
    address = parse_ip(value) if isinstance(value, str) else None
    if address is None:
        raise InvalidArgument(f"{value!r} is not an IP address", field=field)
    return address
