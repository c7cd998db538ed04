from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from node.errors import InvalidArgument
from node.hosting import DnsAddressResolver

_AddrInfo = tuple[int, int, int, str, tuple[str, int] | tuple[str, int, int, int]]


class FakeGetaddrinfo:
    """Stands in for socket.getaddrinfo: no test makes a real DNS query."""

    def __init__(self, answers: dict[str, list[_AddrInfo]] | None = None, *, error: Exception | None = None):
        self.answers = answers or {}
        self.error = error
        self.calls: list[str] = []

    def __call__(self, host: str, port: object, *args: object, **kwargs: object) -> list[_AddrInfo]:
        self.calls.append(host)
        if self.error is not None:
            raise self.error
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeGetaddrinfo:
    fake = FakeGetaddrinfo()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def v4(address: str) -> _AddrInfo:
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 0))


def v6(address: str) -> _AddrInfo:
    return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 0, 0, 0))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("2001:db8::10", "2001:db8::10"),
        ("[2001:db8::10]", "2001:db8::10"),
        ("2001:DB8:0:0::10", "2001:db8::10"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
    ],
)
def test_ip_literal_is_returned_without_a_query(fake_dns: FakeGetaddrinfo, host: str, expected: str) -> None:
    assert DnsAddressResolver().addresses(host) == [expected]
    assert fake_dns.calls == []


def test_name_is_resolved_in_order_without_duplicates(fake_dns: FakeGetaddrinfo) -> None:
    fake_dns.answers["host-b.example"] = [
        v6("2001:db8::1"),
        v4("192.0.2.1"),
        v4("192.0.2.1"),
        v6("2001:DB8::1"),
        v4("198.51.100.2"),
    ]
    resolver = DnsAddressResolver()
    assert resolver.addresses("Host-B.Example.") == ["2001:db8::1", "192.0.2.1", "198.51.100.2"]
    assert fake_dns.calls == ["host-b.example"]


def test_unresolvable_name_gives_no_addresses(fake_dns: FakeGetaddrinfo) -> None:
    assert DnsAddressResolver().addresses("nowhere.invalid") == []
    assert fake_dns.calls == ["nowhere.invalid"]


@pytest.mark.parametrize("error", [OSError("network unreachable"), UnicodeError("label too long")])
def test_resolver_errors_give_no_addresses(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", FakeGetaddrinfo(error=error))
    assert DnsAddressResolver().addresses("host-b.example") == []


@pytest.mark.parametrize("host", ["127.1", "192.0.2", "0x7f.1", "a b.example", "host-b.example:80", "x/y.test"])
def test_hosts_that_are_not_domain_names_are_not_queried(fake_dns: FakeGetaddrinfo, host: str) -> None:
    assert DnsAddressResolver().addresses(host) == []
    assert fake_dns.calls == []


@pytest.fixture
def hanging_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    release = threading.Event()

    def hang(host: str, *args: object, **kwargs: object) -> list[_AddrInfo]:
        release.wait(10)
        return [v4("192.0.2.99")]

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    yield release
    release.set()


def test_slow_resolution_times_out(hanging_dns: threading.Event) -> None:
    resolver = DnsAddressResolver(timeout_s=0.05)
    started = time.monotonic()
    assert resolver.addresses("slow.test") == []
    assert time.monotonic() - started < 2


def test_hung_workers_do_not_block_callers_beyond_the_timeout(hanging_dns: threading.Event) -> None:
    resolver = DnsAddressResolver(timeout_s=0.05, max_workers=1)
    started = time.monotonic()
    assert [resolver.addresses(f"slow{i}.test") for i in range(3)] == [[], [], []]
    assert time.monotonic() - started < 2
    assert resolver.addresses("192.0.2.5") == ["192.0.2.5"]  # literals need no worker


@pytest.mark.parametrize("host", ["", "  "])
def test_empty_host_is_invalid(fake_dns: FakeGetaddrinfo, host: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        DnsAddressResolver().addresses(host)
    assert caught.value.field == "host"


@pytest.mark.parametrize("timeout_s", [0, -1.0, float("nan")])
def test_timeout_must_be_positive(timeout_s: float) -> None:
    with pytest.raises(InvalidArgument) as caught:
        DnsAddressResolver(timeout_s=timeout_s)
    assert caught.value.field == "timeout_s"
