"""Scraping a node's metrics endpoint over loopback, as Prometheus would."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families


def scrape_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return bytes(response.read()).decode()


Scraped = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Scraped:
    """Every sample: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(port: int) -> Scraped:
    """Scrape from a thread: the event loop keeps serving the node while the endpoint reads its store."""
    return samples(await asyncio.to_thread(scrape_text, port))


def value(scraped: Scraped, name: str, **labels: str) -> float | None:
    return scraped.get((name, frozenset(labels.items())))


def scrape_until(port: int, ready: Callable[[Scraped], bool], seconds: float = 10.0) -> Scraped:
    """Scrape until `ready` holds (or the time is up, and the caller's assertions say what is missing). A server
    counts a call once its answer is on the way, so a client that has its answer may scrape a moment too early."""
    deadline = time.monotonic() + seconds
    while True:
        scraped = samples(scrape_text(port))
        if ready(scraped) or time.monotonic() > deadline:
            return scraped
        time.sleep(0.05)
