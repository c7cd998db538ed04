"""An unexpected failure inside a call ends it with INTERNAL and a log reference, never the internal text."""

from __future__ import annotations

import grpc
import pytest

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from tests.conftest import Served


async def test_an_unexpected_exception_becomes_internal_without_leaking_its_text(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_item_id: str) -> None:
        raise RuntimeError("database said something about https://nl.host.example/secret-path")

    monkeypatch.setattr(served.node.cases, "get_item", broken)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.analyst.cases.GetItem(case_pb.GetItemRequest(item_id="x"))
    assert caught.value.code() is grpc.StatusCode.INTERNAL
    details = caught.value.details() or ""
    assert "reference" in details
    assert "secret-path" not in details and "database" not in details
