"""Recognising CDNs and reverse proxies from an address's autonomous system.

When a host sits behind a CDN or a reverse proxy, its address is the proxy's edge, so an IP database gives
the country of the edge node nearest to the resolver, not where the content is stored. Such facts get
`cdn=True` so that an analyst checks them (the CDN's abuse desk can name the origin host).

The lists below are deliberately short and conservative on names, but lean towards flagging on shared
networks: wrongly flagging costs an analyst a check, wrongly not flagging sends a referral to the wrong
country. Two networks are shared between a CDN and ordinary cloud hosting and cannot be told apart by
AS: Amazon AS16509 (CloudFront and EC2) and Microsoft AS8075 (Azure Front Door / Azure CDN and other
Azure services). Both are flagged. Akamai's cloud hosting (Linode, "Akamai Connected Cloud", AS63949)
is not a CDN and is not flagged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = ["CDN_ASNS", "CDN_AS_NAMES", "CDN_NAME_FRAGMENTS", "is_cdn"]

CDN_ASNS: Final[Mapping[int, str]] = {
    13335: "Cloudflare",
    209242: "Cloudflare (London)",
    12222: "Akamai",
    16625: "Akamai Technologies",
    20940: "Akamai International",
    32787: "Akamai Prolexic (DDoS protection)",
    54113: "Fastly",
    16509: "Amazon (CloudFront; shared with EC2)",
    15169: "Google (front ends of Blogger, Sites, Firebase Hosting, Cloud CDN)",
    8075: "Microsoft (Azure Front Door / Azure CDN; shared with other Azure services)",
    15133: "Edgecast (Edgio)",
    22822: "Limelight Networks (Edgio)",
    19551: "Imperva Incapsula",
    30148: "Sucuri",
    57724: "DDoS-Guard",
    199524: "G-Core Labs",
    60068: "CDN77 (Datacamp Limited)",
    200325: "bunny.net (BunnyWay)",
    36408: "CDNetworks",
}
"""Autonomous systems of well-known CDNs and reverse proxies, with the operator's name."""

CDN_AS_NAMES: Final[frozenset[str]] = frozenset(
    {
        # Registry handles (as in whois, MaxMind GeoLite2-ASN and geoip2fast) of networks whose operator
        # name alone would be too broad to match as a fragment.
        "google",  # AS15169; not GOOGLE-CLOUD-PLATFORM (VMs) nor GOOGLE-FIBER (an ISP)
        "amazon-02",  # AS16509
        "microsoft-corp-msn-as-block",  # AS8075
        "akamai",  # AS12222
        "akamai-as",  # AS16625
        "llnw",  # Limelight Networks
    }
)
"""Whole AS organisation names (compared case-insensitively) that mark a CDN."""

CDN_NAME_FRAGMENTS: Final[tuple[str, ...]] = (
    "cloudflare",
    "akamai international",
    "akamai technologies",
    "prolexic",
    "fastly",
    "cloudfront",
    "azure front door",
    "azure cdn",
    "edgecast",
    "edgio",
    "limelight",
    "incapsula",
    "imperva",
    "sucuri",
    "stackpath",
    "highwinds",
    "ddos-guard",
    "g-core labs",
    "gcore",
    "cdn77",
    "datacamp limited",
    "bunnyway",
    "cdnetworks",
    "keycdn",
    "cachefly",
)
"""Fragments of an AS organisation name (compared case-insensitively) that mark a CDN."""

_NOT_CDN_FRAGMENTS: Final[tuple[str, ...]] = ("akamai connected cloud",)  # Linode: VM hosting
_SPACES = re.compile(r"\s+")


def is_cdn(asn: int | None, organisation: str | None) -> bool:
    """Whether an address in this autonomous system is (probably) a CDN or reverse-proxy edge.

    The AS number decides when it is known and listed in CDN_ASNS. Otherwise the organisation name is
    matched: whole against CDN_AS_NAMES, or by a fragment in CDN_NAME_FRAGMENTS.
    """
    if asn is not None and asn in CDN_ASNS:
        return True
    if not organisation:
        return False
    name = _SPACES.sub(" ", organisation).strip().casefold()
    if any(fragment in name for fragment in _NOT_CDN_FRAGMENTS):
        return False
    if name in CDN_AS_NAMES:
        return True
    return any(fragment in name for fragment in CDN_NAME_FRAGMENTS)
