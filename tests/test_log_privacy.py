"""Logs name items by id; a reported URL never appears in full; an error logs no reporter, note or token name."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.app import Node
from node.cases.exchange_messages import Referral, dump_body
from node.cases.model import Assessment, Classification, OutboxMessage
from node.cases.requests import NewReport, NewUrl
from node.clock import ManualClock
from node.logs import configure_logging, mask_urls
from node.store.sql_store import SqlTransaction
from tests.api._boundary import fail_in_database
from tests.api._support import assess, submit
from tests.conftest import ANALYST, INTAKE, Served
from tests.exchange.federation import Federation


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


# ------------------------------------------------------------------------------ error paths

REPORTER = pb.Reporter(name="Private Reporter Name", email="private.reporter@mail.example", reference="case-ref-991")
NOTE = "analyst note: private observation 7731"
TOKEN_NAME = "secret-token-name-42"
PRIVATE = [REPORTER.name, REPORTER.email, REPORTER.reference, NOTE, TOKEN_NAME, "/private/secret-path"]


def _fail_with_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refuses the writes that carry a reporter, a note and a token name; SQLAlchemy's error
    would quote them as parameters (before the engine hid them)."""

    def intake(self: SqlTransaction, reports: Any, *_args: Any) -> None:
        report, _, _ = reports[0]
        fail_in_database(self, name=report.reporter.name, email=report.reporter.email, ref=report.reporter.reference)

    monkeypatch.setattr(SqlTransaction, "insert_intake_bulk", intake)
    monkeypatch.setattr(SqlTransaction, "insert_action", lambda self, action: fail_in_database(self, note=action.note))
    monkeypatch.setattr(SqlTransaction, "insert_token", lambda self, token: fail_in_database(self, name=token.name))


async def test_an_internal_error_logs_no_reporter_note_or_token_name(
    served_each: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = served_each
    item_id = (await submit(served, "https://nl.host.example/privacy/item")).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    out = io.StringIO()
    configure_logging("json", logging.INFO)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(out))
    _fail_with_values(monkeypatch)
    try:
        calls = [
            served.intake.intake.SubmitReport(
                intake_pb.SubmitReportRequest(
                    urls=[intake_pb.ReportedUrl(url="https://nl.host.example/private/secret-path")], reporter=REPORTER
                )
            ),
            served.analyst.cases.RecordAction(
                case_pb.RecordActionRequest(item_id=item_id, type=pb.ACTION_TYPE_LEA_NOTIFIED, note=NOTE)
            ),
            served.admin.admin.CreateToken(admin_pb.CreateTokenRequest(name=TOKEN_NAME, roles=[pb.ROLE_LEA])),
        ]
        for one in calls:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await one
            assert caught.value.code() is grpc.StatusCode.INTERNAL
            told = f"{caught.value.details()} {caught.value.trailing_metadata()}"
            assert not [p for p in PRIVATE if p in told], told
    finally:
        structlog.reset_defaults()
    text = out.getvalue()
    assert text.count("rpc.internal_error") == 3, text
    assert "no_such_table" in text  # the statement is logged, for the operator ...
    leaked = [p for p in PRIVATE if p in text]
    assert leaked == [], f"the log holds {leaked}"  # ... and none of its values


# ------------------------------------------------------------------------------ the exchange's log lines


def test_delivery_receipt_and_rejection_lines_name_ids_never_the_url(tmp_path: Path, clock: ManualClock) -> None:
    """A delivered referral (the sender's `exchange.delivered` with its receipt, the receiver's
    `exchange.accepted`) and one refused for good (`exchange.delivery_rejected`, `exchange.rejected`)."""
    fed = Federation(tmp_path, clock)
    out = io.StringIO()
    configure_logging("json", logging.INFO, stream=out)
    try:
        nl = fed.members["nl-hotline"].node
        report = nl.cases.submit_report(INTAKE, NewReport((NewUrl("https://de.host.example/private/88?k=v"),)))
        origin_id = report.items[0].item_id
        nl.cases.assess(ANALYST, origin_id, Assessment(Classification.NATIONAL))
        assert fed.deliver_all() == 1
        forged = Referral(  # in fr's name: refused for good
            "fr-hotline", ROGUE_ITEM, "https://de.host.example/private/99", (), None, None, clock.now()
        )
        with nl.store.transaction() as tx:
            tx.enqueue_outbox(
                OutboxMessage(
                    ROGUE_MESSAGE, "de-hotline", "referral", "no-item", dump_body(forged.to_json()), clock.now()
                )
            )
        assert fed.deliver_all() == 1
    finally:
        structlog.reset_defaults()
        fed.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    by_event = {line["event"]: line for line in lines}
    delivered, accepted = by_event["exchange.delivered"], by_event["exchange.accepted"]
    assert (delivered["peer"], delivered["item_id"]) == ("de-hotline", origin_id) and delivered["message_id"]
    assert (accepted["peer"], accepted["message_id"]) == ("nl-hotline", delivered["message_id"])
    assert by_event["exchange.delivery_rejected"]["message_id"] == ROGUE_MESSAGE
    assert by_event["exchange.rejected"]["message_id"] == ROGUE_MESSAGE
    assert "/private/" not in out.getvalue()


ROGUE_ITEM = "01a2cccc-0000-7000-8000-000000000000"
ROGUE_MESSAGE = "01a2dddd-0000-7000-8000-000000000000"
