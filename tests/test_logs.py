"""Logs name items by id; the URL-masking processor keeps a reported URL's path and query out of every line."""

from __future__ import annotations

import io
import json
import logging
import string
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from node.app import Node
from node.cases.model import ActionType, Assessment, Classification
from node.cases.requests import NewAction, NewReport, NewUrl
from node.cases.urls import normalise_url
from node.clock import ManualClock
from node.logs import configure_logging, mask_urls
from tests.conftest import ANALYST, INTAKE, LEA

SECRET = "private-gallery-7731"


def masked(**values: Any) -> dict[str, Any]:
    return dict(mask_urls(None, "info", dict(values)))


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The node's real processor chain (configure_logging, JSON), writing to a buffer."""
    out = io.StringIO()
    configure_logging("json", logging.DEBUG)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(out))
    try:
        yield out
    finally:
        structlog.reset_defaults()


# ---------------------------------------------------------------------------------------------- the processor


def test_the_path_and_query_are_masked_and_the_host_stays() -> None:
    event = masked(event="x", note=f"see https://nl.host.example/{SECRET}/a.jpg?id=7&k=v now")
    assert event["note"] == "see https://nl.host.example/… now"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"HTTPS://NL.HOST.EXAMPLE/{SECRET}", "HTTPS://NL.HOST.EXAMPLE/…"),
        (f"http://nl.host.example:8080/{SECRET}", "http://nl.host.example:8080/…"),
        (f"https://nl.host.example?{SECRET}=1", "https://nl.host.example/…"),
        (f"https://nl.host.example#{SECRET}", "https://nl.host.example/…"),
        (f"https://192.0.2.10/{SECRET}", "https://192.0.2.10/…"),
        (f"https://[2001:db8::1]/{SECRET}", "https://[2001:db8::1]/…"),
        (
            f"a https://nl.host.example/{SECRET} and http://de.host.example/{SECRET}?q",
            "a https://nl.host.example/… and http://de.host.example/…",
        ),
        (f'{{"url": "https://nl.host.example/{SECRET}"}}', '{"url": "https://nl.host.example/…"}'),
    ],
)
def test_every_url_in_a_value_is_masked(value: str, expected: str) -> None:
    assert masked(detail=value)["detail"] == expected


def test_the_event_name_itself_is_masked_and_other_values_are_left_alone() -> None:
    event = masked(event=f"fetched https://nl.host.example/{SECRET}", count=3, item_id="01a2", flag=None)
    assert event == {"event": "fetched https://nl.host.example/…", "count": 3, "item_id": "01a2", "flag": None}


# Characters a normalised path or query may hold, apart from quotes (an apostrophe has its own test below).
PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&()*+,;=:@/%"


@settings(max_examples=200, deadline=None, database=None)
@given(
    path=st.text(alphabet=PATH_CHARS, min_size=1, max_size=40),
    query=st.text(alphabet=PATH_CHARS + "?", max_size=20),
    host=st.sampled_from(["nl.host.example", "de.host.example", "192.0.2.7"]),
)
def test_no_normalised_url_gets_through_whole(path: str, query: str, host: str) -> None:
    url = normalise_url(f"https://{host}/{SECRET}{path}" + (f"?{query}" if query else "")).url
    line = masked(event="x", detail=f"item 01a2 url={url} done")["detail"]
    assert SECRET not in line and url not in line
    assert line.startswith(f"item 01a2 url=https://{host}/")


def test_a_path_with_an_apostrophe_is_masked_whole() -> None:
    url = normalise_url(f"https://nl.host.example/it's/{SECRET}").url
    assert "'" in url  # the normaliser keeps it: the processor must cope
    assert SECRET not in masked(detail=url)["detail"]


def test_credentials_in_a_url_are_masked() -> None:
    assert "s3cret" not in masked(detail="https://alice:s3cret@nl.host.example/x")["detail"]


def test_urls_inside_lists_and_dicts_are_masked() -> None:
    event = masked(urls=[f"https://nl.host.example/{SECRET}"], request={"url": f"https://nl.host.example/{SECRET}"})
    assert SECRET not in json.dumps(event)


def test_a_logged_exception_does_not_carry_the_url(json_log: io.StringIO) -> None:
    log = structlog.get_logger("node.api.servicers")
    try:  # what a database error looks like: SQLAlchemy renders the statement's parameters
        raise ValueError(f"[parameters: {{'url': 'https://nl.host.example/{SECRET}/a.jpg'}}]")
    except ValueError:
        log.exception("rpc.internal_error", reference="ref-1")
    text = json_log.getvalue()
    assert "rpc.internal_error" in text
    assert SECRET not in text


# ---------------------------------------------------------------------------------------------- the node's logs


def _work(node: Node, clock: ManualClock) -> tuple[list[str], list[str]]:
    urls = [f"https://nl.host.example/{SECRET}/{n}.jpg?session=abc{n}" for n in range(2)]
    report = node.cases.submit_report(INTAKE, NewReport(tuple(NewUrl(u) for u in urls)))
    item_ids = [i.item_id for i in report.items]
    for item_id in item_ids:
        node.cases.assess(ANALYST, item_id, Assessment(Classification.NATIONAL))
        node.cases.record_action(ANALYST, item_id, NewAction(ActionType.LEA_NOTIFIED))
    node.cases.place_hold(LEA, item_ids[1], None, "LEA-9")
    node.cases.record_action(ANALYST, item_ids[0], NewAction(ActionType.HP_NOTIFIED))
    clock.advance(timedelta(hours=73))
    assert node.cases.escalate_overdue() == [item_ids[0]]
    return urls, item_ids


def test_the_services_log_ids_and_never_a_url_even_before_masking(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock
) -> None:
    node = make_node(sqlite_url)
    with structlog.testing.capture_logs() as entries:  # raw events: no processor has run
        urls, item_ids = _work(node, clock)
    text = json.dumps(entries, default=str)
    assert {e["event"] for e in entries} >= {"reports.received", "item.assessed", "action.recorded"}
    assert all(item_id in text for item_id in item_ids)
    assert "://" not in text and SECRET not in text
    assert not any(url in text for url in urls)


def test_the_rendered_log_names_items_and_never_the_reported_urls(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock, json_log: io.StringIO
) -> None:
    node = make_node(sqlite_url)
    urls, item_ids = _work(node, clock)
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    assert any(line["event"] == "deadline.escalated" and line["level"] == "warning" for line in lines)
    text = json_log.getvalue()
    assert all(item_id in text for item_id in item_ids)
    assert SECRET not in text and "session=abc" not in text
    assert not any(url in text for url in urls)


# ------------------------------------------------------------------------------------- format and routing


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "is_json"), [(io.StringIO(), True), (_Terminal(), False)], ids=["file", "tty"])
def test_auto_is_json_off_a_terminal_and_console_on_one(stream: io.StringIO, is_json: bool) -> None:
    configure_logging("auto", logging.INFO, stream=stream)
    try:
        structlog.get_logger("t").info("node.started", node_id="nl-hotline")
    finally:
        structlog.reset_defaults()
    line = stream.getvalue().splitlines()[0]
    assert line.startswith("{") is is_json
    assert "node.started" in line


def test_standard_logging_goes_into_the_same_json_stream_masked_from_warning_up() -> None:
    out = io.StringIO()
    configure_logging("json", logging.INFO, stream=out)
    try:
        # A library's logger of its own (the simulator's CLI, run in this process by other tests, quiets
        # APScheduler's, so that one is not used here).
        library = logging.getLogger("tests.some_library.executors")
        library.info("Running job %s", "below warning: left out")
        library.warning("Run time of job %s was missed", f"https://nl.host.example/{SECRET}")
    finally:
        structlog.reset_defaults()
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert line["level"] == "warning" and line["logger"] == "tests.some_library.executors"
    assert line["event"] == "Run time of job https://nl.host.example/… was missed"
    assert SECRET not in out.getvalue()
