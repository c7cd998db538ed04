"""The embedded offline default: country and AS name from the geoip2fast package's own data files."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from node.hosting.addresses import AddressResolver, resolve_through_addresses
from node.hosting.cdn import is_cdn
from node.hosting.facts import HostingFacts
from node.hosting.hosts import country_code

__all__ = ["GeoIpResolver"]


class GeoIpResolver:
    """Hosting facts from the geoip2fast data shipped with the package: no download, no network.

    The host is resolved to addresses with `addresses`; the facts of the first address with a known
    country are returned, else those of the first address. The data gives a country and an
    AS *name* but no AS number, so `asn` is None. Private and reserved addresses (documentation
    ranges included) have no country and no organisation.

    `lookup` replaces the database (for tests): it takes an IP address and returns a record with the
    keys of geoip2fast's GeoIPDetail.to_dict() (country_code, asn_name, is_private, and optionally an
    integer asn), or None if it knows nothing of the address. By default the database (IPv4 and IPv6,
    with AS names) is loaded on first use, once per process, and shared by all instances; loading
    takes a fraction of a second and about 100 MB of memory.
    """

    def __init__(
        self,
        addresses: AddressResolver,
        *,
        lookup: Callable[[str], Mapping[str, object] | None] | None = None,
    ) -> None:
        self._addresses = addresses
        self._lookup = lookup if lookup is not None else _SHARED_DATABASE.lookup

    def resolve(self, host: str) -> HostingFacts:
        return resolve_through_addresses(host, self._addresses, self._facts_for, _SOURCE)

    def _facts_for(self, ip: str) -> HostingFacts:
        try:
            record = self._lookup(ip)
        except ValueError:
            record = None
        return _facts_from_record(ip, record or {})


_SOURCE: Final = "geoip"
_DATA_FILE: Final = "geoip2fast-asn-ipv6.dat.gz"
_NO_NAME: Final = frozenset({"", "<unknown>", "iana.org"})


class _SharedDatabase:
    """geoip2fast keeps its data in module globals, so one database per process, loaded once."""

    def __init__(self, data_file: str) -> None:
        self._data_file = data_file
        self._lock = threading.Lock()
        self._database: Any = None

    def lookup(self, ip: str) -> Mapping[str, object]:
        detail = self._load().lookup(ip)
        record = detail.to_dict()
        return record if isinstance(record, dict) else {}

    def _load(self) -> Any:
        database = self._database
        if database is None:
            with self._lock:
                if self._database is None:
                    # Imported here: importing geoip2fast changes os.environ (PYTHONWARNINGS), so only
                    # a process that uses it pays for that.
                    import geoip2fast

                    # An absolute path: given a bare file name, geoip2fast would prefer a file of that
                    # name in the current directory over its own.
                    path = Path(geoip2fast.__file__).resolve().parent / self._data_file
                    self._database = geoip2fast.GeoIP2Fast(geoip2fast_data_file=str(path))
                database = self._database
        return database


_SHARED_DATABASE: Final = _SharedDatabase(_DATA_FILE)


def _facts_from_record(ip: str, record: Mapping[str, object]) -> HostingFacts:
    if record.get("is_private") is True:
        return HostingFacts(ip=ip, country=None, asn=None, organisation=None, cdn=False, source=_SOURCE)
    country = country_code(record.get("country_code"))
    organisation = _organisation(record.get("asn_name"))
    asn = _asn(record.get("asn"))
    return HostingFacts(
        ip=ip,
        country=country,
        asn=asn,
        organisation=organisation,
        cdn=is_cdn(asn, organisation),
        source=_SOURCE,
    )


def _organisation(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip()
    return None if name.casefold() in _NO_NAME or name.startswith("<") else name


def _asn(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
