"""Each kind of typed event details survives its stored JSON form unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.cases.event_details import (
    ActionDetails,
    AssessmentDetails,
    DeadlineDetails,
    EventDetails,
    HoldDetails,
    HostingDetails,
    KnownHashDetails,
    MessageDetails,
    NoticeDetails,
    OpinionDetails,
    RosterDetails,
    RoutingDetails,
    details_from_json,
    details_to_json,
)
from node.cases.model import ActionType, Classification, Route

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "details",
    [
        ActionDetails(ActionType.MOVED, "analyst-1", "DE"),
        AssessmentDetails(Classification.BASELINE, True),
        RoutingDetails(Route.REFERRAL, "DE", "de-hotline"),
        HoldDetails("0193a0a0-0000-7000-8000-000000000001", AT),
        HoldDetails("0193a0a0-0000-7000-8000-000000000002", None),
        DeadlineDetails(AT, 3600),
        MessageDetails("de-hotline", "0193a0a0-0000-7000-8000-000000000003", "status_update", "NOT_ASSIGNEE", 4),
        NoticeDetails("0193a0a0-0000-7000-8000-000000000004", "NTD", "smtp", 2, "SMTP 451: try later"),
        HostingDetails("", False),
        KnownHashDetails(12, "sha256", "shared list", Classification.BASELINE, 2, 0),
        KnownHashDetails(source="peer:de-hotline", count=3),
        RosterDetails("NOT_NEXT", 3, "https://authority.example/roster.signed"),
        OpinionDetails("de-hotline", False, Classification.NOT_ILLEGAL),
    ],
)
def test_details_round_trip_through_their_stored_form(details: EventDetails) -> None:
    assert details_from_json(details_to_json(details)) == details


def test_no_details_is_stored_as_nothing() -> None:
    assert details_to_json(None) is None and details_from_json(None) is None
