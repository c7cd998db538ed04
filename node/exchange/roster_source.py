"""A roster location the node polls besides its roster file (issue 8): an HTTPS URL where the network
authority publishes each new signed version. What it serves is only a claim: it is installed, as `roster apply`
installs a file, only if it verifies against the trusted chain and the pinned authority, and is the next version.
The transport's TLS protects only against a stale or withheld copy, not against a forged one."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from typing import Any

import structlog

from node.exchange.roster_state import RosterState

__all__ = ["MAX_ROSTER_BYTES", "RosterFetchError", "fetch_roster", "poll_roster_url"]

_log = structlog.get_logger(__name__)

MAX_ROSTER_BYTES = 4 * 1024 * 1024


class RosterFetchError(Exception):
    """The location did not give a roster (unreachable, refused, too large); the next check tries again."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an error: the operator configured this exact location


def fetch_roster(url: str, ca_file: str = "", *, timeout: float = 10.0) -> bytes:
    """The bytes at `url` (https://, or http:// to a loopback address: node.config checks), at most
    MAX_ROSTER_BYTES. `ca_file` (PEM) verifies the server instead of the system's CAs."""
    context = ssl.create_default_context(cafile=ca_file or None)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect)
    request = urllib.request.Request(url, headers={"Accept": "application/octet-stream"})  # noqa: S310 (checked)
    try:
        with opener.open(request, timeout=timeout) as response:
            data: bytes = response.read(MAX_ROSTER_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise RosterFetchError(f"HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise RosterFetchError(str(error.reason)) from None
    except (OSError, TimeoutError) as error:
        raise RosterFetchError(str(error)) from None
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterFetchError(f"larger than {MAX_ROSTER_BYTES} bytes")
    return data


def poll_roster_url(roster: RosterState, url: str, ca_file: str = "") -> bool:
    """Fetch the roster at `url` and install it if it is the next verified version. Whether one was installed;
    a fetch that fails is logged and tried again at the next check, a roster that does not verify is refused
    with an event (RosterState.install_newer), once per version and reason."""
    try:
        signed = fetch_roster(url, ca_file)
    except RosterFetchError as error:
        _log.warning("roster.fetch_failed", source=url, error=str(error))
        return False
    return roster.install_newer(signed, url)
