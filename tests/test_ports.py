"""A node binds its port exclusively: a second node started on a port in use fails to start, naming the
setting, instead of silently sharing the callers (gRPC's default SO_REUSEPORT)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.app import Node
from node.errors import InvalidArgument
from tests.conftest import Served


async def test_a_second_node_on_a_port_in_use_is_refused_naming_the_setting(
    served: Served, make_node: Callable[..., Node], tmp_path: Path
) -> None:
    second = make_node(f"sqlite+pysqlite:///{tmp_path}/second.db", listen=served.target)
    try:
        with pytest.raises(InvalidArgument) as refused:
            await second.start()
    finally:
        if second.server is not None:  # it bound after all: do not leave it serving
            await second.server.stop(0)
    assert refused.value.field == "node.listen"
    assert "in use" in str(refused.value)
    # Every call still reaches the first node (with a shared port, about half went to the second).
    for i in range(12):
        response = await served.intake.intake.SubmitReport(
            intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url=f"https://nl.host.example/{i}")])
        )
        assert served.node.cases.get_report(response.report.report_id).report_id == response.report.report_id
