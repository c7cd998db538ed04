from __future__ import annotations

from collections.abc import Mapping

import pytest

from node.errors import InvalidArgument
from node.hosting import HostingFacts, HostingResolver, StaticResolver


def facts(country: str | None, *, organisation: str | None = None, cdn: bool = False) -> HostingFacts:
    return HostingFacts(ip=None, country=country, asn=None, organisation=organisation, cdn=cdn, source="static")


NL = facts("NL", organisation="Host B")
DE = facts("DE")
FR = facts("FR")


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver({"host-b.example": NL, "example": DE, "192.0.2.10": FR, "2001:db8::7": FR})


def test_is_a_hosting_resolver(resolver: StaticResolver) -> None:
    typed: HostingResolver = resolver
    assert typed.resolve("host-b.example") is NL


def test_exact_match(resolver: StaticResolver) -> None:
    assert resolver.resolve("host-b.example") is NL


def test_subdomain_matches_the_longest_parent_entry(resolver: StaticResolver) -> None:
    assert resolver.resolve("cdn.host-b.example") is NL
    assert resolver.resolve("a.b.cdn.host-b.example") is NL
    assert resolver.resolve("host-c.example") is DE


def test_suffix_match_respects_label_boundaries() -> None:
    resolver = StaticResolver({"host-b.example": NL})
    assert resolver.resolve("other-host-b.example").country is None
    assert resolver.resolve("host-b.example.test").country is None


def test_host_is_matched_case_insensitively_and_without_trailing_dot(resolver: StaticResolver) -> None:
    assert resolver.resolve("CDN.Host-B.Example.") is NL


def test_ip_literals_match_exactly_with_or_without_brackets(resolver: StaticResolver) -> None:
    assert resolver.resolve("192.0.2.10") is FR
    assert resolver.resolve("[2001:db8::7]") is FR
    assert resolver.resolve("2001:DB8:0::7") is FR
    assert resolver.resolve("192.0.2.11").country is None


def test_ip_literals_do_not_match_parent_suffixes() -> None:
    resolver = StaticResolver({"2.10": NL})
    assert resolver.resolve("192.0.2.10").country is None


def test_unknown_host_without_default_gives_unknown_facts() -> None:
    assert StaticResolver({"host-b.example": NL}).resolve("host-a.test") == HostingFacts(
        ip=None, country=None, asn=None, organisation=None, cdn=False, source="static"
    )


def test_unknown_host_gets_the_default() -> None:
    resolver = StaticResolver({"host-b.example": NL}, default=FR)
    assert resolver.resolve("host-a.test") is FR
    assert resolver.resolve("host-b.example") is NL


def test_garbage_host_is_unknown_not_an_error() -> None:
    resolver = StaticResolver({"host-b.example": NL})
    assert resolver.resolve("not a host/at all").country is None
    assert resolver.resolve("[not-an-ip]").country is None


@pytest.mark.parametrize("host", ["", "   "])
def test_empty_host_is_invalid(host: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        StaticResolver({"host-b.example": NL}).resolve(host)
    assert caught.value.field == "host"


def test_entries_are_normalised_and_duplicates_rejected() -> None:
    assert StaticResolver({"Host-B.Example.": NL}).resolve("host-b.example") is NL
    with pytest.raises(InvalidArgument) as caught:
        StaticResolver({"host-b.example": NL, "HOST-B.example": DE})
    assert caught.value.field == "entries"
    with pytest.raises(InvalidArgument):
        StaticResolver({"": NL})


def test_from_table_builds_facts() -> None:
    resolver = StaticResolver.from_table(
        [
            {
                "host": "host-b.example",
                "country": "nl",
                "asn": 64500,
                "organisation": " Host B ",
                "ip": "192.0.2.1",
            },
            {"host": "cdn.test", "country": "US", "cdn": True, "ip": "2001:DB8::1"},
            {"host": "bare.test"},
        ]
    )
    assert resolver.resolve("www.host-b.example") == HostingFacts(
        ip="192.0.2.1", country="NL", asn=64500, organisation="Host B", cdn=False, source="static"
    )
    assert resolver.resolve("cdn.test") == HostingFacts(
        ip="2001:db8::1", country="US", asn=None, organisation=None, cdn=True, source="static"
    )
    assert resolver.resolve("bare.test") == HostingFacts(
        ip=None, country=None, asn=None, organisation=None, cdn=False, source="static"
    )


def test_from_table_accepts_a_default() -> None:
    resolver = StaticResolver.from_table([{"host": "host-b.example", "country": "NL"}], default=FR)
    assert resolver.resolve("elsewhere.test") is FR


GOOD: dict[str, object] = {"host": "good.example", "country": "NL"}


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"host": "x.example", "country": "NLD"}, "country"),
        ({"host": "x.example", "country": "N1"}, "country"),
        ({"host": "x.example", "country": ""}, "country"),
        ({"host": "x.example", "country": 31}, "country"),
        ({"host": "x.example", "country": "ÑL"}, "country"),
        ({"host": "x.example", "asn": -1}, "asn"),
        ({"host": "x.example", "asn": "13335"}, "asn"),
        ({"host": "x.example", "asn": True}, "asn"),
        ({"host": "x.example", "asn": 2**32}, "asn"),
        ({"host": "x.example", "asn": 1.5}, "asn"),
        ({"country": "NL"}, "host"),
        ({"host": ""}, "host"),
        ({"host": 7}, "host"),
        ({"host": "https://x.example/"}, "host"),
        ({"host": "x.example:8080"}, "host"),
        ({"host": "bücher.example"}, "host"),
        ({"host": "x.example", "ip": "192.0.2.300"}, "ip"),
        ({"host": "x.example", "ip": 3221225985}, "ip"),
        ({"host": "x.example", "cdn": "yes"}, "cdn"),
        ({"host": "x.example", "organisation": "  "}, "organisation"),
        ({"host": "x.example", "organisation": 5}, "organisation"),
        ({"host": "x.example", "contry": "NL"}, "contry"),
    ],
)
def test_from_table_names_the_bad_field(row: Mapping[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        StaticResolver.from_table([GOOD, GOOD | {"host": "good2.example"}, row])
    assert caught.value.field == f"hosting.static[2].{field}"
    assert f"hosting.static[2].{field}" in str(caught.value)


def test_from_table_rejects_a_row_that_is_not_a_table() -> None:
    with pytest.raises(InvalidArgument) as caught:
        StaticResolver.from_table([GOOD, "host-b.example"])  # type: ignore[list-item]
    assert caught.value.field == "hosting.static[1]"


def test_from_table_rejects_the_same_host_twice() -> None:
    with pytest.raises(InvalidArgument) as caught:
        StaticResolver.from_table([GOOD, {"host": "GOOD.example.", "country": "DE"}])
    assert caught.value.field == "hosting.static[1].host"
