from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import pytest

from node.errors import InvalidArgument
from node.hosting import GeoIpResolver, HostingFacts
from node.hosting import geoip as geoip_module

from .fakes import FakeAddresses, FakeLookup

# --- against the real embedded database (documentation addresses only) --------------------------------


@pytest.mark.parametrize(
    ("address", "ip"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("198.51.100.7", "198.51.100.7"),
        ("203.0.113.200", "203.0.113.200"),
        ("2001:db8::10", "2001:db8::10"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
    ],
)
def test_documentation_addresses_have_no_country(address: str, ip: str) -> None:
    resolver = GeoIpResolver(FakeAddresses({"host-b.example": [address]}))
    assert resolver.resolve("host-b.example") == HostingFacts(
        ip=ip, country=None, asn=None, organisation=None, cdn=False, source="geoip"
    )


def test_real_database_handles_an_ip_literal_host() -> None:
    resolver = GeoIpResolver(FakeAddresses({}))
    facts = resolver.resolve("192.0.2.44")
    assert facts.ip == "192.0.2.44"
    assert facts.country is None


# --- the record mapping, with an injected lookup -------------------------------------------------------

CLOUDFLARE: Mapping[str, object] = {"country_code": "NL", "asn_name": "Cloudflare, Inc.", "is_private": False}


def test_maps_country_and_organisation_and_detects_a_cdn() -> None:
    lookup = FakeLookup({"198.51.100.7": CLOUDFLARE})
    resolver = GeoIpResolver(FakeAddresses({"host-b.example": ["198.51.100.7"]}), lookup=lookup)
    assert resolver.resolve("host-b.example") == HostingFacts(
        ip="198.51.100.7", country="NL", asn=None, organisation="Cloudflare, Inc.", cdn=True, source="geoip"
    )
    assert lookup.asked == ["198.51.100.7"]


def test_ordinary_hosting_is_not_a_cdn_and_country_is_upper_cased() -> None:
    lookup = FakeLookup({"198.51.100.7": {"country_code": "de", "asn_name": "Example Hosting GmbH"}})
    facts = GeoIpResolver(FakeAddresses({"host-b.example": ["198.51.100.7"]}), lookup=lookup).resolve("host-b.example")
    assert (facts.country, facts.organisation, facts.cdn) == ("DE", "Example Hosting GmbH", False)


def test_an_integer_asn_in_the_record_is_used() -> None:
    lookup = FakeLookup({"198.51.100.7": {"country_code": "US", "asn": 54113, "asn_name": "Example"}})
    facts = GeoIpResolver(FakeAddresses({"h.test": ["198.51.100.7"]}), lookup=lookup).resolve("h.test")
    assert (facts.asn, facts.cdn) == (54113, True)


@pytest.mark.parametrize(
    "record",
    [
        {"country_code": "--", "asn_name": "", "is_private": False},
        {"country_code": "--", "asn_name": "IANA.ORG", "is_private": True},
        {"country_code": "NL", "asn_name": "Cloudflare, Inc.", "is_private": True},
        {"country_code": "", "asn_name": "<unknown>"},
        {"country_code": None, "asn": True},
        {},
    ],
)
def test_unknown_private_and_malformed_records_give_no_facts(record: Mapping[str, object]) -> None:
    lookup = FakeLookup({"192.0.2.1": record})
    facts = GeoIpResolver(FakeAddresses({"h.test": ["192.0.2.1"]}), lookup=lookup).resolve("h.test")
    assert facts == HostingFacts(ip="192.0.2.1", country=None, asn=None, organisation=None, cdn=False, source="geoip")


def test_first_address_with_a_known_country_wins() -> None:
    lookup = FakeLookup({"198.51.100.7": {"country_code": "SE", "asn_name": "Example AB"}})
    addresses = FakeAddresses({"h.test": ["2001:db8::1", "198.51.100.7", "203.0.113.1"]})
    facts = GeoIpResolver(addresses, lookup=lookup).resolve("h.test")
    assert (facts.ip, facts.country) == ("198.51.100.7", "SE")
    assert lookup.asked == ["2001:db8::1", "198.51.100.7"]


def test_without_any_known_country_the_first_address_is_reported() -> None:
    lookup = FakeLookup({"203.0.113.1": {"country_code": "--", "asn_name": "Example AS"}})
    addresses = FakeAddresses({"h.test": ["203.0.113.1", "203.0.113.2"]})
    facts = GeoIpResolver(addresses, lookup=lookup).resolve("h.test")
    assert (facts.ip, facts.country, facts.organisation) == ("203.0.113.1", None, "Example AS")


def test_addresses_that_are_not_ip_addresses_are_skipped() -> None:
    lookup = FakeLookup({"203.0.113.9": {"country_code": "FI"}})
    addresses = FakeAddresses({"h.test": ["not-an-address", "203.0.113.9"]})
    facts = GeoIpResolver(addresses, lookup=lookup).resolve("h.test")
    assert (facts.ip, facts.country) == ("203.0.113.9", "FI")
    assert lookup.asked == ["203.0.113.9"]


def test_unresolved_host_gives_unknown_facts() -> None:
    lookup = FakeLookup({})
    facts = GeoIpResolver(FakeAddresses({}), lookup=lookup).resolve("nowhere.invalid")
    assert facts == HostingFacts(ip=None, country=None, asn=None, organisation=None, cdn=False, source="geoip")
    assert lookup.asked == []


def test_lookup_value_error_gives_unknown_facts() -> None:
    def failing(ip: str) -> Mapping[str, object]:
        raise ValueError(f"bad address {ip}")

    facts = GeoIpResolver(FakeAddresses({"h.test": ["192.0.2.1"]}), lookup=failing).resolve("h.test")
    assert (facts.ip, facts.country) == ("192.0.2.1", None)


def test_host_is_normalised_before_resolution() -> None:
    addresses = FakeAddresses({"2001:db8::5": ["2001:db8::5"], "host-b.example": []})
    resolver = GeoIpResolver(addresses, lookup=FakeLookup({}))
    resolver.resolve("[2001:DB8::5]")
    resolver.resolve("Host-B.Example.")
    assert addresses.asked == ["2001:db8::5", "host-b.example"]


def test_empty_host_is_invalid_and_not_resolved() -> None:
    addresses = FakeAddresses({})
    with pytest.raises(InvalidArgument) as caught:
        GeoIpResolver(addresses, lookup=FakeLookup({})).resolve("")
    assert caught.value.field == "host"
    assert addresses.asked == []


# --- loading the database -------------------------------------------------------------------------------


def test_database_is_loaded_once_even_when_threads_race(monkeypatch: pytest.MonkeyPatch) -> None:
    import geoip2fast

    loads: list[str] = []

    class SlowDatabase:
        def __init__(self, geoip2fast_data_file: str) -> None:
            loads.append(geoip2fast_data_file)
            time.sleep(0.05)

        def lookup(self, ip: str) -> object:
            class Detail:
                def to_dict(self) -> dict[str, object]:
                    return {"country_code": "NL", "asn_name": "", "is_private": False}

            return Detail()

    monkeypatch.setattr(geoip2fast, "GeoIP2Fast", SlowDatabase)
    database = geoip_module._SharedDatabase("some-file.dat.gz")
    results: list[Mapping[str, object]] = []
    threads = [threading.Thread(target=lambda: results.append(database.lookup("192.0.2.1"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result["country_code"] == "NL" for result in results)
    assert len(loads) == 1
    assert loads[0].endswith("/geoip2fast/some-file.dat.gz")  # the package's own file, by absolute path
