"""Test doubles shared by the hosting tests. No test ever makes a real DNS query."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence


class FakeAddresses:
    """An AddressResolver answering from a table, and remembering which hosts it was asked about.

    Like DnsAddressResolver, an IP literal that is not in the table is its own address.
    """

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = table
        self.asked: list[str] = []

    def addresses(self, host: str) -> list[str]:
        self.asked.append(host)
        if host in self._table:
            return list(self._table[host])
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            return []


class FakeLookup:
    """A record lookup answering from a table of IP -> record, remembering the addresses asked."""

    def __init__(self, records: Mapping[str, Mapping[str, object]]) -> None:
        self._records = records
        self.asked: list[str] = []

    def __call__(self, ip: str) -> Mapping[str, object] | None:
        self.asked.append(ip)
        return self._records.get(ip)
