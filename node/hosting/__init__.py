"""The hosting trace: where a reported host appears to be hosted, behind a resolver interface.

A resolver turns a host name (or IP literal) into HostingFacts: address, country, AS, organisation and
whether a CDN hides the real host. Only names and addresses are handled; the node never fetches a
reported URL. Resolvers:

- StaticResolver: a fixed table (tests, simulator, configuration).
- GeoIpResolver: DNS, then the geoip2fast data embedded in the package (offline default).
- MmdbResolver: DNS, then MaxMind .mmdb files.
"""

from __future__ import annotations

from node.hosting.addresses import AddressResolver, DnsAddressResolver
from node.hosting.cdn import CDN_AS_NAMES, CDN_ASNS, CDN_NAME_FRAGMENTS, is_cdn
from node.hosting.facts import FAILED_SOURCE, HostingFacts, HostingResolver, TraceOutcome, trace_outcome
from node.hosting.geoip import GeoIpResolver
from node.hosting.mmdb import MmdbResolver
from node.hosting.static import StaticResolver

__all__ = [
    "CDN_ASNS",
    "CDN_AS_NAMES",
    "CDN_NAME_FRAGMENTS",
    "FAILED_SOURCE",
    "AddressResolver",
    "DnsAddressResolver",
    "GeoIpResolver",
    "HostingFacts",
    "HostingResolver",
    "MmdbResolver",
    "StaticResolver",
    "TraceOutcome",
    "is_cdn",
    "trace_outcome",
]
