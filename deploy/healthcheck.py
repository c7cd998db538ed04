"""The container's health check: exit 0 when the node's metrics endpoint answers and reports that the store
answered its reads (`hx_store_up 1`), 1 otherwise with one line saying why. Standard library only.

    python healthcheck.py [URL]      (default http://127.0.0.1:9464/metrics)
"""

from __future__ import annotations

import re
import sys
import urllib.error
import urllib.request

_STORE_UP = re.compile(r"^hx_store_up (\S+)$", re.MULTILINE)


def check(url: str, timeout: float = 4.0) -> str | None:
    """None when healthy, else the reason."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed local http URL
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        return f"the metrics endpoint {url} does not answer: {error}"
    found = _STORE_UP.search(text)
    if found is None:
        return f"{url} has no hx_store_up series: is it a hotline node's metrics endpoint?"
    if float(found.group(1)) != 1.0:
        return "the node's database is not answering (hx_store_up 0)"
    return None


def main(argv: list[str]) -> int:
    reason = check(argv[1] if len(argv) > 1 else "http://127.0.0.1:9464/metrics")
    if reason is None:
        return 0
    print(f"unhealthy: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
