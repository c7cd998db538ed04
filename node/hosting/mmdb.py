"""Hosting facts from MaxMind DB files (GeoLite2 / GeoIP2 Country or City, and optionally ASN)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

import maxminddb

from node.errors import InvalidArgument
from node.hosting.addresses import AddressResolver, resolve_through_addresses
from node.hosting.cdn import is_cdn
from node.hosting.facts import HostingFacts
from node.hosting.hosts import country_code

__all__ = ["MmdbResolver"]


class MmdbResolver:
    """Country from a Country or City database, AS number and organisation from an optional ASN database.

    The country is the record's `country.iso_code`, else its `registered_country.iso_code`. `cdn` is
    set for a known CDN's AS (node.hosting.cdn.is_cdn) and for addresses the database marks anycast.
    The host is resolved to addresses with `addresses`; the facts of the first address with a known
    country are returned, else those of the first address.

    Both files must exist when the resolver is made: a missing or unreadable file raises
    InvalidArgument (field "hosting.mmdb_path" for the country database, "hosting.mmdb_asn_path" for
    the ASN database). The readers are memory-mapped and safe to share between threads.

    `country_lookup` and `asn_lookup` replace the readers of the files (for tests): each takes an IP
    address and returns the database record, or None where the database has none. The files must still
    exist, but are then not opened.
    """

    def __init__(
        self,
        addresses: AddressResolver,
        country_db: Path,
        asn_db: Path | None = None,
        *,
        country_lookup: Callable[[str], Mapping[str, object] | None] | None = None,
        asn_lookup: Callable[[str], Mapping[str, object] | None] | None = None,
    ) -> None:
        self._addresses = addresses
        self._readers: list[maxminddb.Reader] = []
        country_path = _existing_file(Path(country_db), "country", _COUNTRY_FIELD)
        asn_path = _existing_file(Path(asn_db), "ASN", _ASN_FIELD) if asn_db is not None else None
        try:
            if country_lookup is None:
                reader = self._open(country_path, _COUNTRY_FIELD)
                _check_not_asn_only(reader, country_path)
                country_lookup = _record_lookup(reader)
            if asn_lookup is None and asn_path is not None:
                asn_lookup = _record_lookup(self._open(asn_path, _ASN_FIELD))
        except BaseException:
            self.close()
            raise
        self._country_lookup = country_lookup
        self._asn_lookup = asn_lookup

    def resolve(self, host: str) -> HostingFacts:
        return resolve_through_addresses(host, self._addresses, self._facts_for, _SOURCE)

    def close(self) -> None:
        """Close the database files (the resolver cannot be used afterwards)."""
        for reader in self._readers:
            reader.close()
        self._readers.clear()

    def _open(self, path: Path, field: str) -> maxminddb.Reader:
        try:
            reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise InvalidArgument(f"cannot read {path} as a MaxMind DB file: {exc}", field=field) from exc
        self._readers.append(reader)
        return reader

    def _facts_for(self, ip: str) -> HostingFacts:
        country_record = _get(self._country_lookup, ip)
        asn_record = _get(self._asn_lookup, ip) if self._asn_lookup is not None else None
        return _facts_from_records(ip, country_record, asn_record)


_SOURCE: Final = "mmdb"
_COUNTRY_FIELD: Final = "hosting.mmdb_path"
_ASN_FIELD: Final = "hosting.mmdb_asn_path"
_MAX_ASN: Final = 2**32 - 1

_Lookup = Callable[[str], Mapping[str, object] | None]


def _existing_file(path: Path, kind: str, field: str) -> Path:
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise InvalidArgument(
            f"the MaxMind {kind} database {path} {problem}; give the path of a .mmdb file", field=field
        )
    return path


def _check_not_asn_only(reader: maxminddb.Reader, path: Path) -> None:
    database_type = reader.metadata().database_type.casefold()
    if "asn" in database_type and "country" not in database_type and "city" not in database_type:
        raise InvalidArgument(
            f"{path} is an ASN database ({reader.metadata().database_type}), which has no countries; "
            "give a Country or City database here and the ASN database as the ASN database",
            field=_COUNTRY_FIELD,
        )


def _record_lookup(reader: maxminddb.Reader) -> _Lookup:
    def lookup(ip: str) -> Mapping[str, object] | None:
        record = reader.get(ip)
        return record if isinstance(record, dict) else None

    return lookup


def _get(lookup: _Lookup, ip: str) -> Mapping[str, object] | None:
    try:
        return lookup(ip)
    except ValueError:  # e.g. an IPv6 address looked up in an IPv4-only database
        return None


def _facts_from_records(
    ip: str, country_record: Mapping[str, object] | None, asn_record: Mapping[str, object] | None
) -> HostingFacts:
    country = None
    anycast = False
    if country_record is not None:
        country = _iso_code(country_record, "country") or _iso_code(country_record, "registered_country")
        traits = country_record.get("traits")
        anycast = isinstance(traits, Mapping) and traits.get("is_anycast") is True
    asn = None
    organisation = None
    if asn_record is not None:
        number = asn_record.get("autonomous_system_number")
        if isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= _MAX_ASN:
            asn = number
        name = asn_record.get("autonomous_system_organization")
        if isinstance(name, str) and name.strip():
            organisation = name.strip()
    return HostingFacts(
        ip=ip,
        country=country,
        asn=asn,
        organisation=organisation,
        cdn=anycast or is_cdn(asn, organisation),
        source=_SOURCE,
    )


def _iso_code(record: Mapping[str, object], key: str) -> str | None:
    section = record.get(key)
    return country_code(section.get("iso_code")) if isinstance(section, Mapping) else None
