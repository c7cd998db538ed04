"""Gauges of what expires: the node's TLS certificates and its keys as the trusted roster lists them, in
seconds from the scrape (negative once expired). Read at each scrape from what the node holds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from node.clock import Clock

__all__ = ["CertificateExpiry", "ExpiryGauges", "KeyExpiry"]


class CertificateExpiry(NamedTuple):
    endpoint: str  # "api" (the integrator API's certificate) or "exchange" (the node-to-node one)
    expires_at: datetime


class KeyExpiry(NamedTuple):
    use: str  # "signing" or "hpke"
    key_id: str
    expires_at: datetime


class ExpiryGauges(Collector):
    """`certificates` and `keys` are read at each scrape (a rotated key or a new roster shows at once)."""

    def __init__(
        self,
        clock: Clock,
        certificates: Callable[[], Iterable[CertificateExpiry]],
        keys: Callable[[], Iterable[KeyExpiry]],
    ) -> None:
        self._clock, self._certificates, self._keys = clock, certificates, keys

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now = self._clock.now()
        certificates = GaugeMetricFamily(
            "hx_tls_certificate_expiry_seconds",
            "Seconds until the node's TLS certificate expires (negative once it has), by endpoint: api (the "
            "integrator API, when it serves TLS) or exchange (node to node).",
            labels=["endpoint"],
        )
        for certificate in self._certificates():
            certificates.add_metric([certificate.endpoint], (certificate.expires_at - now).total_seconds())
        keys = GaugeMetricFamily(
            "hx_key_expiry_seconds",
            "Seconds until the node's current key expires as the trusted roster lists it (its not_after; "
            "negative once past), by use (signing or hpke) and key id. A key the roster gives no end is absent.",
            labels=["use", "key_id"],
        )
        for key in self._keys():
            keys.add_metric([key.use, key.key_id], (key.expires_at - now).total_seconds())
        return [certificates, keys]
