"""How long until each TLS certificate the node serves expires, read at each scrape:
`hx_tls_certificate_expiry_seconds{certificate="api"|"exchange"}`, negative once it has."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cryptography import x509
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from node.clock import Clock

__all__ = ["CertificateExpiry"]


class CertificateExpiry(Collector):
    """One gauge sample per watched certificate; a certificate is read through a callable at each scrape, so a
    rotated one is seen as soon as the node serves it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._certificates: dict[str, Callable[[], bytes]] = {}

    def watch(self, name: str, pem: Callable[[], bytes]) -> None:
        self._certificates[name] = pem

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "hx_tls_certificate_expiry_seconds",
            "Seconds until the TLS certificate the node serves expires (negative once it has).",
            labels=["certificate"],
        )
        now = self._clock.now()
        for name, pem in sorted(self._certificates.items()):
            not_after = x509.load_pem_x509_certificate(pem()).not_valid_after_utc
            gauge.add_metric([name], (not_after - now).total_seconds())
        yield gauge
