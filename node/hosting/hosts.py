"""Host names and IP literals: a host's lookup key, canonical IP addresses, country codes, unknown facts.

Shared by the resolvers of node.hosting; not part of the package's public API.
"""

from __future__ import annotations

import ipaddress

from node.errors import InvalidArgument
from node.hosting.facts import HostingFacts

__all__ = ["country_code", "is_ip_literal", "normalise_host", "parse_ip", "unknown_facts"]


def normalise_host(host: str) -> str:
    """The lookup key of a host: a canonical IP literal, or the lower-case name without a trailing dot.

    Raises InvalidArgument(field="host") for an empty (or all-blank) host, and for nothing else.
    """
    text = host.strip()
    if not text:
        raise InvalidArgument("the host is empty", field="host")
    if text.startswith("[") and text.endswith("]"):
        bracketed = parse_ip(text[1:-1])
        if bracketed is not None:
            return bracketed
    literal = parse_ip(text)
    if literal is not None:
        return literal
    text = text.lower()
    if len(text) > 1 and text.endswith("."):
        text = text[:-1]
    return text


def parse_ip(text: str) -> str | None:
    """The canonical form of an IP literal, or None if `text` is not one.

    An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is given as its IPv4 address, which is what the IP
    databases index.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def is_ip_literal(text: str) -> bool:
    return parse_ip(text) is not None


def country_code(value: object) -> str | None:
    """An ISO 3166-1 alpha-2 code in upper case, or None if `value` is not two ASCII letters."""
    if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    return None


def unknown_facts(source: str, ip: str | None = None) -> HostingFacts:
    return HostingFacts(ip=ip, country=None, asn=None, organisation=None, cdn=False, source=source)
