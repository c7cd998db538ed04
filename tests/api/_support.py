"""Helpers shared by the integrator API tests: building requests, reading refusals and taking stock of the node.

Every URL is synthetic, under reserved domains; the hosts resolve through the static table of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.cases.model import Role
from tests.conftest import Served

__all__ = [
    "Refusal",
    "Snapshot",
    "action",
    "all_events",
    "all_items",
    "assess",
    "get_item",
    "known",
    "refused",
    "report",
    "sha256",
    "snapshot",
    "submit",
    "submit_hashed",
    "timeline_kinds",
    "ts",
]


@dataclass(frozen=True)
class Refusal:
    """What a failed call told the caller: the code, the message and the google.rpc details."""

    code: grpc.StatusCode
    message: str
    field: str  # BadRequest field_violations[0].field, PreconditionFailure violations[0].subject, ResourceInfo name
    detail: str  # the details' message type, e.g. "google.rpc.BadRequest"


async def refused(call: Awaitable[Any]) -> Refusal:
    """Await a call that must fail and return what it said."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = caught.value
    field, detail = "", ""
    status = rpc_status.from_call(error)
    if status is not None and status.details:
        any_detail = status.details[0]
        detail = any_detail.TypeName()
        if any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_detail.Unpack(bad)
            field = bad.field_violations[0].field
        elif any_detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            any_detail.Unpack(failure)
            field = failure.violations[0].subject
        elif any_detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            info = error_details_pb2.ResourceInfo()
            any_detail.Unpack(info)
            field = info.resource_name
    return Refusal(error.code(), error.details() or "", field, detail)


def ts(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def sha256(n: int) -> str:
    """A synthetic SHA-256 digest (hex), distinct for each n. Not the hash of anything."""
    return f"{n:064x}"


def report(
    *urls: str,
    hashes: list[pb.ContentHash] | None = None,
    request_id: str = "",
    **kwargs: Any,
) -> intake_pb.SubmitReportRequest:
    return intake_pb.SubmitReportRequest(
        request_id=request_id,
        urls=[intake_pb.ReportedUrl(url=u, hashes=hashes or []) for u in urls],
        **kwargs,
    )


async def submit(served: Served, url: str, hashes: list[pb.ContentHash] | None = None) -> pb.ReportedItem:
    """Report one URL; its ReportedItem."""
    response = await served.intake.intake.SubmitReport(report(url, hashes=hashes))
    assert len(response.report.items) == 1
    return response.report.items[0]


async def submit_hashed(served: Served, url: str, hashes: list[pb.ContentHash]) -> pb.Item:
    """Report one URL through the hotline's own hashing tool (a token with the hasher role, whose hashes the
    node trusts); the item, as an analyst sees it (the intake reply says nothing about known content)."""
    response = await served.clients[Role.HASHER].intake.SubmitReport(report(url, hashes=hashes))
    assert len(response.report.items) == 1
    return await get_item(served, response.report.items[0].item_id)


async def assess(served: Served, item_id: str, classification: int, request_id: str = "") -> pb.Item:
    response = await served.analyst.cases.AssessItem(
        case_pb.AssessItemRequest(
            request_id=request_id,
            item_id=item_id,
            assessment=pb.Assessment(classification=classification),  # type: ignore[arg-type]
        )
    )
    return response.item


async def action(served: Served, item_id: str, action_type: int, **kwargs: Any) -> pb.Item:
    response = await served.analyst.cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_id, type=action_type, **kwargs)  # type: ignore[arg-type]
    )
    assert response.action.type == action_type
    return response.item


async def get_item(served: Served, item_id: str) -> pb.Item:
    return (await served.analyst.cases.GetItem(case_pb.GetItemRequest(item_id=item_id))).item


async def timeline_kinds(served: Served, item_id: str) -> list[str]:
    response = await served.analyst.cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=item_id))
    return [e.kind for e in response.events]


def known(algorithm: int, value: str, classification: int) -> admin_pb.KnownHash:
    return admin_pb.KnownHash(
        hash=pb.ContentHash(algorithm=algorithm, value=value),  # type: ignore[arg-type]
        classification=classification,  # type: ignore[arg-type]
    )


async def all_events(served: Served) -> list[pb.Event]:
    """Every event on the node, oldest first, paging through ListEvents until the token comes back empty."""
    events: list[pb.Event] = []
    token = ""
    while True:
        page = await served.analyst.events.ListEvents(event_pb.ListEventsRequest(page_size=1000, page_token=token))
        events += page.events
        token = page.next_page_token
        if not token:
            return events


async def all_items(served: Served) -> list[pb.Item]:
    items: list[pb.Item] = []
    token = ""
    while True:
        page = await served.analyst.cases.ListItems(case_pb.ListItemsRequest(page_size=500, page_token=token))
        items += page.items
        token = page.next_page_token
        if not token:
            return items


@dataclass(frozen=True)
class Snapshot:
    """What a refused request must leave unchanged."""

    event_ids: tuple[str, ...]
    items: tuple[bytes, ...]
    item_count: int


async def snapshot(served: Served) -> Snapshot:
    events = await all_events(served)
    items = await all_items(served)
    stats = await served.analyst.events.GetStatistics(event_pb.GetStatisticsRequest())
    return Snapshot(
        tuple(e.event_id for e in events),
        tuple(i.SerializeToString(deterministic=True) for i in items),
        stats.overall.item_count,
    )
