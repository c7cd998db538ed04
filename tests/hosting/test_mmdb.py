from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from node.errors import InvalidArgument
from node.hosting import HostingFacts, MmdbResolver

from .fakes import FakeAddresses, FakeLookup
from .mmdb_writer import write_mmdb

# --- configuration errors ------------------------------------------------------------------------------


def test_missing_country_database_is_rejected_at_construction(tmp_path: Path) -> None:
    missing = tmp_path / "GeoLite2-Country.mmdb"
    with pytest.raises(InvalidArgument) as caught:
        MmdbResolver(FakeAddresses({}), missing)
    assert caught.value.field == "hosting.mmdb_path"
    assert str(missing) in caught.value.message
    assert "does not exist" in caught.value.message


def test_missing_asn_database_is_rejected_at_construction(tmp_path: Path) -> None:
    country = write_mmdb(tmp_path / "country.mmdb", [])
    missing = tmp_path / "GeoLite2-ASN.mmdb"
    with pytest.raises(InvalidArgument) as caught:
        MmdbResolver(FakeAddresses({}), country, missing)
    assert caught.value.field == "hosting.mmdb_asn_path"
    assert str(missing) in caught.value.message


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as caught:
        MmdbResolver(FakeAddresses({}), tmp_path)
    assert caught.value.field == "hosting.mmdb_path"
    assert "is not a file" in caught.value.message


def test_a_file_that_is_not_a_maxmind_database_is_rejected(tmp_path: Path) -> None:
    bogus = tmp_path / "country.mmdb"
    bogus.write_bytes(b"this is not a MaxMind DB file\n" * 10)
    with pytest.raises(InvalidArgument) as caught:
        MmdbResolver(FakeAddresses({}), bogus)
    assert caught.value.field == "hosting.mmdb_path"
    assert "cannot read" in caught.value.message


def test_an_asn_database_in_place_of_the_country_database_is_rejected(tmp_path: Path) -> None:
    asn_only = write_mmdb(tmp_path / "asn.mmdb", [], database_type="GeoLite2-ASN")
    with pytest.raises(InvalidArgument) as caught:
        MmdbResolver(FakeAddresses({}), asn_only)
    assert caught.value.field == "hosting.mmdb_path"
    assert "ASN database" in caught.value.message


# --- real (tiny, synthetic) .mmdb files -----------------------------------------------------------------


@pytest.fixture
def databases(tmp_path: Path) -> tuple[Path, Path]:
    country = write_mmdb(
        tmp_path / "country.mmdb",
        [
            ("203.0.113.0/24", {"country": {"iso_code": "NL", "names": {"en": "Netherlands"}}}),
            ("198.51.100.0/24", {"registered_country": {"iso_code": "DE"}}),
            ("192.0.2.128/25", {"country": {"iso_code": "US"}, "traits": {"is_anycast": True}}),
            ("2001:db8:1::/48", {"country": {"iso_code": "SE"}}),
        ],
        database_type="GeoLite2-Country",
    )
    asn = write_mmdb(
        tmp_path / "asn.mmdb",
        [
            (
                "203.0.113.0/25",
                {"autonomous_system_number": 13335, "autonomous_system_organization": "CLOUDFLARENET"},
            ),
            (
                "203.0.113.128/25",
                {"autonomous_system_number": 64500, "autonomous_system_organization": "Example B.V."},
            ),
        ],
        database_type="GeoLite2-ASN",
    )
    return country, asn


def test_reads_country_asn_and_organisation_from_files(databases: tuple[Path, Path]) -> None:
    country, asn = databases
    resolver = MmdbResolver(FakeAddresses({"host-b.example": ["203.0.113.200"]}), country, asn)
    assert resolver.resolve("host-b.example") == HostingFacts(
        ip="203.0.113.200", country="NL", asn=64500, organisation="Example B.V.", cdn=False, source="mmdb"
    )
    resolver.close()


def test_cdn_from_the_asn_database(databases: tuple[Path, Path]) -> None:
    country, asn = databases
    resolver = MmdbResolver(FakeAddresses({"cdn.test": ["203.0.113.7"]}), country, asn)
    facts = resolver.resolve("cdn.test")
    assert (facts.country, facts.asn, facts.organisation, facts.cdn) == ("NL", 13335, "CLOUDFLARENET", True)


def test_registered_country_is_the_fallback(databases: tuple[Path, Path]) -> None:
    country, _ = databases
    facts = MmdbResolver(FakeAddresses({"h.test": ["198.51.100.9"]}), country).resolve("h.test")
    assert (facts.country, facts.asn, facts.organisation) == ("DE", None, None)


def test_anycast_addresses_are_flagged(databases: tuple[Path, Path]) -> None:
    country, _ = databases
    facts = MmdbResolver(FakeAddresses({"h.test": ["192.0.2.200"]}), country).resolve("h.test")
    assert (facts.country, facts.cdn) == ("US", True)


def test_ipv6_and_unknown_addresses(databases: tuple[Path, Path]) -> None:
    country, asn = databases
    resolver = MmdbResolver(FakeAddresses({"v6.test": ["2001:db8:1::80"]}), country, asn)
    assert resolver.resolve("v6.test").country == "SE"
    assert resolver.resolve("[2001:db8:2::1]") == HostingFacts(
        ip="2001:db8:2::1", country=None, asn=None, organisation=None, cdn=False, source="mmdb"
    )


def test_ipv6_address_in_an_ipv4_only_database_is_unknown(tmp_path: Path) -> None:
    country = write_mmdb(tmp_path / "v4.mmdb", [("203.0.113.0/24", {"country": {"iso_code": "NL"}})], ip_version=4)
    resolver = MmdbResolver(FakeAddresses({"h.test": ["2001:db8::1", "203.0.113.1"]}), country)
    assert resolver.resolve("2001:db8::1") == HostingFacts(
        ip="2001:db8::1", country=None, asn=None, organisation=None, cdn=False, source="mmdb"
    )
    facts = resolver.resolve("h.test")
    assert (facts.ip, facts.country) == ("203.0.113.1", "NL")


def test_unresolved_host_and_empty_host(databases: tuple[Path, Path]) -> None:
    country, asn = databases
    resolver = MmdbResolver(FakeAddresses({}), country, asn)
    assert resolver.resolve("nowhere.invalid") == HostingFacts(
        ip=None, country=None, asn=None, organisation=None, cdn=False, source="mmdb"
    )
    with pytest.raises(InvalidArgument) as caught:
        resolver.resolve("")
    assert caught.value.field == "host"


# --- the record mapping, with injected lookups ----------------------------------------------------------


def make(
    tmp_path: Path,
    country_records: Mapping[str, Mapping[str, object]],
    asn_records: Mapping[str, Mapping[str, object]] | None = None,
) -> MmdbResolver:
    # Injected lookups replace the readers, but the files must still exist (they are not opened).
    country_db = tmp_path / "country.mmdb"
    country_db.write_bytes(b"")
    asn_db = None
    if asn_records is not None:
        asn_db = tmp_path / "asn.mmdb"
        asn_db.write_bytes(b"")
    return MmdbResolver(
        FakeAddresses({"h.test": ["192.0.2.1"]}),
        country_db,
        asn_db,
        country_lookup=FakeLookup(country_records),
        asn_lookup=FakeLookup(asn_records) if asn_records is not None else None,
    )


def test_mapping_of_complete_records(tmp_path: Path) -> None:
    resolver = make(
        tmp_path,
        {"192.0.2.1": {"country": {"iso_code": "nl"}, "registered_country": {"iso_code": "DE"}}},
        {"192.0.2.1": {"autonomous_system_number": 20940, "autonomous_system_organization": " Akamai "}},
    )
    assert resolver.resolve("h.test") == HostingFacts(
        ip="192.0.2.1", country="NL", asn=20940, organisation="Akamai", cdn=True, source="mmdb"
    )


@pytest.mark.parametrize(
    ("country_record", "asn_record"),
    [
        ({}, {}),
        ({"country": {"iso_code": "XXX"}}, {"autonomous_system_number": -5}),
        ({"country": "NL"}, {"autonomous_system_number": "13335", "autonomous_system_organization": ""}),
        ({"country": {"names": {"en": "Netherlands"}}}, {"autonomous_system_number": True}),
        ({"traits": {"is_anycast": "yes"}}, {"autonomous_system_organization": 7}),
    ],
)
def test_mapping_of_malformed_records(
    tmp_path: Path, country_record: Mapping[str, object], asn_record: Mapping[str, object]
) -> None:
    resolver = make(tmp_path, {"192.0.2.1": country_record}, {"192.0.2.1": asn_record})
    assert resolver.resolve("h.test") == HostingFacts(
        ip="192.0.2.1", country=None, asn=None, organisation=None, cdn=False, source="mmdb"
    )


def test_mapping_without_an_asn_database(tmp_path: Path) -> None:
    resolver = make(tmp_path, {"192.0.2.1": {"registered_country": {"iso_code": "FR"}}})
    assert resolver.resolve("h.test") == HostingFacts(
        ip="192.0.2.1", country="FR", asn=None, organisation=None, cdn=False, source="mmdb"
    )
