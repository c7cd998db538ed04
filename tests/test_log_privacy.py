"""Logs name items by id; a reported URL never appears in full."""

from __future__ import annotations

import io
import logging

import structlog

from node.app import Node
from node.cases.model import Assessment, Classification
from node.cases.requests import NewReport, NewUrl
from node.logs import configure_logging, mask_urls
from tests.conftest import ANALYST, INTAKE


def test_the_masking_processor_keeps_the_host_and_drops_path_and_query() -> None:
    event = mask_urls(None, "info", {"event": "x", "note": "see https://nl.host.example/secret/path?id=7 now"})
    assert event["note"] == "see https://nl.host.example/… now"


def test_a_service_call_logs_ids_and_never_the_url(sqlite_url: str, make_node: object) -> None:
    out = io.StringIO()
    configure_logging("json", logging.INFO)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(out))
    try:
        node: Node = make_node(sqlite_url)  # type: ignore[operator]
        report = node.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/private/77?x=1"),)))
        node.cases.assess(ANALYST, report.items[0].item_id, Assessment(Classification.NATIONAL))
    finally:
        structlog.reset_defaults()
    text = out.getvalue()
    assert report.items[0].item_id in text
    assert "/private/77" not in text
