"""The result of a hosting trace, and the interface every resolver implements."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["FAILED_SOURCE", "HostingFacts", "HostingResolver", "TraceOutcome", "trace_outcome"]

FAILED_SOURCE = "failed"
"""The source of the facts of a trace whose resolver raised an error (the node's log has it)."""


class TraceOutcome(StrEnum):
    """What a hosting trace found, or why it found no country."""

    LOCATED = "LOCATED"
    """The host resolved and its address has a country."""
    NOT_RESOLVED = "NOT_RESOLVED"
    """DNS gave no address: no such name, no answer within the DNS timeout, or not a DNS name."""
    COUNTRY_UNKNOWN = "COUNTRY_UNKNOWN"
    """The host resolved, but the address has no country (a private or reserved range, or not in the IP data)."""
    FAILED = "FAILED"
    """The resolver failed with an error; the node's log has it (event hosting.trace_failed)."""


@dataclass(frozen=True, slots=True)
class HostingFacts:
    """Where a host appears to be hosted, as one resolver saw it.

    All facts are derived from the host *name* (DNS, then an IP database). Nothing here comes from
    contacting the host: the node never fetches a reported URL.
    """

    ip: str | None
    """The resolved address the other facts are about; None if the host did not resolve."""
    country: str | None
    """ISO 3166-1 alpha-2, upper case; None if unknown (unresolved, private or reserved address, ...)."""
    asn: int | None
    """Autonomous system number, if the resolver knows it."""
    organisation: str | None
    """Name of the network operator (the AS organisation), if known."""
    cdn: bool
    """Behind a known CDN or reverse proxy: the country is then the edge's, and an analyst should check."""
    source: str
    """Which resolver produced the facts: "static", "geoip", "mmdb", "override", ..."""


class HostingResolver(Protocol):
    def resolve(self, host: str) -> HostingFacts:
        """The hosting facts of one host.

        `host` is an already-normalised hostname (lower case, punycode) or an IP literal; an IPv6
        literal may come with or without brackets. An unknown or unresolvable host gives facts with
        country None; the only error is node.errors.InvalidArgument(field="host") for an empty host.
        """
        ...


def trace_outcome(facts: HostingFacts) -> TraceOutcome:
    if facts.source == FAILED_SOURCE:
        return TraceOutcome.FAILED
    if facts.ip is None:
        return TraceOutcome.NOT_RESOLVED
    return TraceOutcome.LOCATED if facts.country else TraceOutcome.COUNTRY_UNKNOWN
