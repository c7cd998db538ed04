"""Network addresses in the settings: host:port, whether a listen address is loopback only or a wildcard, and
the URLs allowed to cross a network."""

from __future__ import annotations

import ipaddress
import re

from node.errors import InvalidArgument

_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")


def _is_local(listen: str) -> bool:
    """Whether a gRPC listen address can be reached from this machine only (loopback, or a Unix socket)."""
    if listen.startswith("unix:"):
        return True
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it resolves to whatever the network says


def _is_wildcard(address: str) -> bool:
    """Whether host:port names every address of the machine (0.0.0.0, ::, or no host), not one a peer dials."""
    host = address.rpartition(":")[0].strip("[]")
    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _https_url(url: str, where: str) -> str:
    """`url` if it is https://, or http:// to a loopback address (nothing else crosses a network in clear); ""
    stays "" (not set)."""
    if not url:
        return url
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2]
    if scheme != "https" and not (scheme == "http" and _is_local(host if ":" in host else f"{host}:80")):
        raise InvalidArgument("must be an https:// URL (http:// only to a loopback address)", field=where)
    return url
