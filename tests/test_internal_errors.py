"""An unexpected failure inside a call ends it with INTERNAL and a log reference, never the internal text."""

from __future__ import annotations

import grpc
import pytest

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from tests.api._boundary import call
from tests.conftest import Served

UNKNOWN_ITEM = "01890000-0000-7000-8000-000000000000"


async def test_an_unexpected_exception_becomes_internal_without_leaking_its_text(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_item_id: str) -> None:
        raise RuntimeError("database said something about https://nl.host.example/secret-path")

    monkeypatch.setattr(served.node.cases, "get_item", broken)
    outcome = await call(served, "/hotline.node.v1.CaseService/GetItem", case_pb.GetItemRequest(item_id=UNKNOWN_ITEM))
    assert outcome.code is grpc.StatusCode.INTERNAL
    assert outcome.reason == "INTERNAL_ERROR"
    assert outcome.reference and outcome.reference in outcome.message
    assert "secret-path" not in outcome.text and "database" not in outcome.text
