"""The metrics of one node, assembled on a registry of its own, and the HTTP endpoint Prometheus scrapes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import CollectorRegistry, generate_latest, start_http_server

from node.clock import Clock
from node.errors import InvalidArgument
from node.metrics.auth import AuthFailureCounter
from node.metrics.exchange import DeliveryCounters
from node.metrics.expiry import CertificateExpiry, ExpiryGauges, KeyExpiry
from node.metrics.grpc_server import GrpcServerMetrics
from node.metrics.notices import NoticeCounters
from node.metrics.ports import MetricsStore
from node.metrics.store_gauges import RosterView, StoreGauges
from node.metrics.upkeep import UpkeepMetrics

__all__ = ["NodeMetrics"]

_log = structlog.get_logger(__name__)


class NodeMetrics:
    """Everything one node exposes: `grpc` goes on both servers' interceptors, `deliveries` observes the
    exchange, `notices` the notice dispatcher, `auth` counts failed authentications, and the store gauges are
    read at each scrape. `serve(listen)` starts the HTTP endpoint."""

    def __init__(
        self,
        store: MetricsStore,
        clock: Clock,
        roster: Callable[[], RosterView] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=False)  # per node: a process may run many nodes
        self.grpc = GrpcServerMetrics(self.registry)
        self.deliveries = DeliveryCounters(self.registry)
        self.notices = NoticeCounters(self.registry)
        self.auth = AuthFailureCounter(self.registry)
        self.registry.register(StoreGauges(store, clock, roster))
        self.upkeep = UpkeepMetrics(self.registry)
        self._clock = clock
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def watch_expiry(
        self, certificates: Callable[[], Iterable[CertificateExpiry]], keys: Callable[[], Iterable[KeyExpiry]]
    ) -> None:
        """Expose the expiry of the node's certificates and keys, read at each scrape."""
        self.registry.register(ExpiryGauges(self._clock, certificates, keys))

    def exposition(self) -> bytes:
        """The current metrics in Prometheus' text format, as a scrape gets them."""
        return generate_latest(self.registry)

    def serve(self, listen: str) -> int:
        """Serve GET /metrics (any path) on `listen` (host:port; [v6]:port) from a thread. The bound port."""
        host, _, port = listen.rpartition(":")
        try:
            self._server, self._thread = start_http_server(int(port), host.strip("[]"), self.registry)
        except OSError as error:
            raise InvalidArgument(
                f"cannot listen on {listen}: {error.strerror or error} (in use by another node?)",
                field="metrics.listen",
            ) from None
        self.port = int(self._server.server_port)
        _log.info("metrics.serving", port=self.port)
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
