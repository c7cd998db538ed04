"""Binding a gRPC server to its listen address: exclusively, and with an error that names the setting.

Both servers of a node (the integrator API and the exchange) bind through here. gRPC's default,
SO_REUSEPORT, lets a second process bind the same port silently and take a share of the callers; the
servers turn it off (`EXCLUSIVE_PORT`), so a port already in use fails the start instead.
"""

from __future__ import annotations

import grpc
from grpc import aio

from node.errors import InvalidArgument

__all__ = ["EXCLUSIVE_PORT", "bind_port"]

EXCLUSIVE_PORT = ("grpc.so_reuseport", 0)


def bind_port(server: aio.Server, listen: str, setting: str, credentials: grpc.ServerCredentials | None) -> int:
    """The port `server` is bound to at `listen` (TLS with `credentials`, plaintext without). A taken or
    unusable address raises InvalidArgument naming `setting`."""
    try:
        if credentials is None:
            return server.add_insecure_port(listen)
        return server.add_secure_port(listen, credentials)
    except RuntimeError:
        raise InvalidArgument(
            f"cannot listen on {listen}: the address is in use (another node?) or not available here",
            field=setting,
        ) from None
