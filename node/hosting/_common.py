"""Helpers shared by the resolvers of node.hosting. Not part of the public API."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from node.errors import InvalidArgument
from node.hosting.facts import HostingFacts

if TYPE_CHECKING:
    from node.hosting.addresses import AddressResolver

__all__ = [
    "MAX_ADDRESSES",
    "country_code",
    "is_ip_literal",
    "normalise_host",
    "parse_ip",
    "resolve_through_addresses",
    "unknown_facts",
]

MAX_ADDRESSES = 8
"""At most this many of a host's addresses are looked up in an IP database."""


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


def resolve_through_addresses(
    host: str,
    addresses: AddressResolver,
    facts_for: Callable[[str], HostingFacts],
    source: str,
) -> HostingFacts:
    """Resolve `host` to addresses, then look them up in turn with `facts_for`.

    The facts of the first address whose country is known are returned. If no address has a known
    country, the facts of the first address are returned (with country None); if the host has no
    address at all, unknown facts with ip None.
    """
    key = normalise_host(host)
    found = addresses.addresses(key)
    first: HostingFacts | None = None
    for address in found[:MAX_ADDRESSES]:
        ip = parse_ip(address)
        if ip is None:
            continue
        facts = facts_for(ip)
        if facts.country is not None:
            return facts
        if first is None:
            first = facts
    return first if first is not None else unknown_facts(source)
