"""Callers kept apart: a report is readable by the token that submitted it, by the tokens of its group, and by
analysts; anyone else gets NOT_FOUND, exactly as for a report that does not exist (no existence oracle).
SubmitReport answers with ids only: not the item's state, known content, or whether it was already reported."""

from __future__ import annotations

import grpc

from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.cases.model import Role
from tests.api._support import refused, report
from tests.conftest import Served

UNKNOWN_REPORT = "01900000-0000-7000-8000-000000000000"


async def _client(served: Served, name: str, group: str = "", role: Role = Role.INTAKE) -> NodeClient:
    _, presented = served.node.access.create_token("test", name, [role], group=group)
    return NodeClient(served.target, presented)


async def test_another_integrators_report_is_not_found_like_a_missing_one(served: Served) -> None:
    submitted = (await served.intake.intake.SubmitReport(report("https://nl.host.example/own/1"))).report
    other = await _client(served, "second-integrator")
    try:
        theirs = await refused(other.intake.GetReport(intake_pb.GetReportRequest(report_id=submitted.report_id)))
        missing = await refused(other.intake.GetReport(intake_pb.GetReportRequest(report_id=UNKNOWN_REPORT)))
    finally:
        await other.close()
    assert theirs.code is grpc.StatusCode.NOT_FOUND
    # The same answer, but for the id itself: nothing tells an existing report from a missing one.
    assert theirs.message.replace(submitted.report_id, "ID") == missing.message.replace(UNKNOWN_REPORT, "ID")
    assert (theirs.field, theirs.detail) == (missing.field, missing.detail)
    mine = await served.intake.intake.GetReport(intake_pb.GetReportRequest(report_id=submitted.report_id))
    assert mine.report.report_id == submitted.report_id


async def test_tokens_of_one_group_read_each_others_reports(served: Served) -> None:
    first = await _client(served, "form-a", group="integration-x")
    second = await _client(served, "form-b", group="integration-x")
    outsider = await _client(served, "form-c", group="integration-y")
    try:
        submitted = (await first.intake.SubmitReport(report("https://nl.host.example/group/1"))).report
        got = await second.intake.GetReport(intake_pb.GetReportRequest(report_id=submitted.report_id))
        assert got.report.report_id == submitted.report_id
        denied = await refused(outsider.intake.GetReport(intake_pb.GetReportRequest(report_id=submitted.report_id)))
        assert denied.code is grpc.StatusCode.NOT_FOUND
        # An ungrouped token's reports are its own: the empty group joins nobody.
        loner = (await served.intake.intake.SubmitReport(report("https://nl.host.example/group/2"))).report
        alone = await refused(first.intake.GetReport(intake_pb.GetReportRequest(report_id=loner.report_id)))
        assert alone.code is grpc.StatusCode.NOT_FOUND
    finally:
        for client in (first, second, outsider):
            await client.close()


async def test_analysts_read_every_report_and_lea_none(served: Served) -> None:
    submitted = (await served.intake.intake.SubmitReport(report("https://nl.host.example/any/1"))).report
    got = await served.analyst.intake.GetReport(intake_pb.GetReportRequest(report_id=submitted.report_id))
    assert got.report.report_id == submitted.report_id and got.report.items[0].new_item
    lea = await refused(served.lea.intake.GetReport(intake_pb.GetReportRequest(report_id=submitted.report_id)))
    assert lea.code is grpc.StatusCode.PERMISSION_DENIED


async def test_submit_report_answers_ids_only(served: Served) -> None:
    first = (await served.intake.intake.SubmitReport(report("https://nl.host.example/ids/1"))).report
    other = await _client(served, "second-integrator")
    try:
        again = (await other.intake.SubmitReport(report("https://nl.host.example/ids/1"))).report
    finally:
        await other.close()
    for answer in (first, again):
        (item,) = answer.items
        assert (item.new_item, item.known_content, item.state) == (False, False, pb.ITEM_STATE_UNSPECIFIED)
    assert again.items[0].item_id == first.items[0].item_id
