from __future__ import annotations

import pytest

from node.hosting import CDN_AS_NAMES, CDN_ASNS, CDN_NAME_FRAGMENTS, is_cdn


@pytest.mark.parametrize("asn", [13335, 20940, 54113, 16509, 15169, 8075, 19551])
def test_known_cdn_asns(asn: int) -> None:
    assert is_cdn(asn, None)


@pytest.mark.parametrize(
    "organisation",
    [
        "Cloudflare, Inc.",
        "CLOUDFLARENET",
        "Akamai International B.V.",
        "FASTLY",
        "Amazon CloudFront",
        "GOOGLE",
        "google",
        "AMAZON-02",
        "MICROSOFT-CORP-MSN-AS-BLOCK",
        "Microsoft Azure  Front Door",
        "INCAPSULA",
        "Ddos-guard Ltd",
        "BUNNYWAY, informacijske storitve d.o.o.",
    ],
)
def test_known_cdn_organisations(organisation: str) -> None:
    assert is_cdn(None, organisation)


@pytest.mark.parametrize(
    "organisation",
    [
        "Example Hosting B.V.",
        "GOOGLE-FIBER",  # an ISP: only Google's front-end AS is a CDN
        "GOOGLE-CLOUD-PLATFORM",  # virtual machines
        "AMAZONAS TRIBUNAL DE JUSTICA",
        "Akamai Connected Cloud",  # Linode virtual machines
        "",
    ],
)
def test_ordinary_hosting_is_not_a_cdn(organisation: str) -> None:
    assert not is_cdn(None, organisation)


def test_nothing_known_is_not_a_cdn() -> None:
    assert not is_cdn(None, None)
    assert not is_cdn(64500, None)  # a documentation ASN
    assert not is_cdn(64500, "Example Hosting B.V.")


def test_a_listed_asn_decides_whatever_the_name() -> None:
    assert is_cdn(13335, "Akamai Connected Cloud")


def test_lists_are_lower_case_so_matching_is_case_insensitive() -> None:
    assert all(name == name.casefold() for name in CDN_AS_NAMES)
    assert all(fragment == fragment.casefold() for fragment in CDN_NAME_FRAGMENTS)
    assert all(isinstance(asn, int) and asn > 0 for asn in CDN_ASNS)
