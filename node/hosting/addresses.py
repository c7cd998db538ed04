"""Resolving a host name to IP addresses, and looking a host up through them. DNS only resolves the name: the
host itself is never contacted."""

from __future__ import annotations

import concurrent.futures
import socket
from collections.abc import Callable
from typing import Protocol

from node.errors import InvalidArgument
from node.hosting.facts import HostingFacts
from node.hosting.hosts import normalise_host, parse_ip, unknown_facts

__all__ = ["MAX_ADDRESSES", "AddressResolver", "DnsAddressResolver", "resolve_through_addresses"]

MAX_ADDRESSES = 8
"""At most this many of a host's addresses are looked up in an IP database."""


class AddressResolver(Protocol):
    def addresses(self, host: str) -> list[str]:
        """The IP addresses of `host`, in the resolver's order of preference; [] if it does not resolve.

        An IP literal (IPv6 with or without brackets) is its own single address.
        """
        ...


class DnsAddressResolver:
    """Addresses from the system resolver (socket.getaddrinfo), with a time limit.

    getaddrinfo cannot be interrupted, so it runs on a small pool of worker threads and the caller waits
    at most `timeout_s` (time spent queueing for a worker included). A lookup that fails or times out
    gives []. An IP literal is returned as it is, without any query.
    """

    def __init__(self, timeout_s: float = 2.0, *, max_workers: int = 4) -> None:
        if not timeout_s > 0:
            raise InvalidArgument(f"the DNS timeout must be positive, not {timeout_s!r}", field="timeout_s")
        if max_workers < 1:
            raise InvalidArgument(f"at least one worker is needed, not {max_workers!r}", field="max_workers")
        self._timeout_s = timeout_s
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="hosting-dns"
        )

    def addresses(self, host: str) -> list[str]:
        key = normalise_host(host)
        literal = parse_ip(key)
        if literal is not None:
            return [literal]
        if not _is_dns_name(key):
            return []
        future = self._executor.submit(_getaddrinfo, key)
        try:
            return future.result(timeout=self._timeout_s)
        except TimeoutError:
            future.cancel()
            return []
        except (OSError, ValueError):  # socket.gaierror, or a label IDNA cannot encode
            return []


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


def _getaddrinfo(host: str) -> list[str]:
    found: list[str] = []
    for family, _type, _proto, _canonname, sockaddr in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = parse_ip(str(sockaddr[0]))
        if address is not None and address not in found:
            found.append(address)
    return found


def _is_dns_name(host: str) -> bool:
    """Whether `host` is worth a DNS query.

    A name whose last label is numeric ("127.1", "0x7f.1") is not a domain name: getaddrinfo would
    read it as a shorthand IPv4 address, and a URL parser has already turned such hosts into addresses.
    """
    if any(char.isspace() or char in "/\\?#@[]:" for char in host):
        return False
    last = host.rsplit(".", 1)[-1]
    if last.isdigit():
        return False
    return not (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:]))
