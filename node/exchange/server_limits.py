"""How long the exchange server lets a connection or a call hold its resources, and how many calls a peer may
have open at once. A connection stalled in the TLS handshake, one that never answers a ping, one idle with no
call, and any connection older than its maximum age are closed by gRPC itself within these bounds; a Deliver
call is answered within `deliver_deadline` whatever deadline its caller set (or none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["ServerLimits", "server_options"]


def _ms(value: timedelta) -> int:
    return max(1, round(value.total_seconds() * 1000))


@dataclass(frozen=True, slots=True)
class ServerLimits:
    # A TCP connection that has not finished its TLS handshake (and HTTP/2 preface) within this is closed.
    handshake_timeout: timedelta = timedelta(seconds=10)
    # The server pings a connection this often, and closes it when a ping is not answered within the timeout.
    keepalive_time: timedelta = timedelta(seconds=20)
    keepalive_timeout: timedelta = timedelta(seconds=10)
    # A connection with no call open for this long is closed.
    max_connection_idle: timedelta = timedelta(seconds=30)
    # Every connection is closed after this age, its open calls given `max_connection_age_grace` to finish:
    # the hard bound on any connection, including one whose call never sends its request.
    max_connection_age: timedelta = timedelta(seconds=30)
    max_connection_age_grace: timedelta = timedelta(seconds=20)
    # The server answers a Deliver call (DEADLINE_EXCEEDED) once it has worked on it this long.
    deliver_deadline: timedelta = timedelta(seconds=20)
    # Calls open at once: on one HTTP/2 connection, and by one peer over all its connections (beyond it,
    # RESOURCE_EXHAUSTED).
    max_concurrent_streams: int = 16
    max_calls_per_peer: int = 8

    def bound(self) -> timedelta:
        """The longest any connection stays open."""
        return self.max_connection_age + self.max_connection_age_grace


def server_options(limits: ServerLimits) -> list[tuple[str, Any]]:
    """grpc core's server arguments for `limits`."""
    return [
        ("grpc.server_handshake_timeout_ms", _ms(limits.handshake_timeout)),
        ("grpc.keepalive_time_ms", _ms(limits.keepalive_time)),
        ("grpc.keepalive_timeout_ms", _ms(limits.keepalive_timeout)),
        ("grpc.keepalive_permit_without_calls", 1),
        # Peers' own keepalive pings: at most one per 10 s without data (the gRPC default is 5 minutes, which
        # would tear down the connection of a peer pinging as gRPC recommends); then GOAWAY.
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_connection_idle_ms", _ms(limits.max_connection_idle)),
        ("grpc.max_connection_age_ms", _ms(limits.max_connection_age)),
        ("grpc.max_connection_age_grace_ms", _ms(limits.max_connection_age_grace)),
        ("grpc.max_concurrent_streams", limits.max_concurrent_streams),
    ]
