from __future__ import annotations

from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from tests.conftest import Served


async def test_a_served_node_takes_a_report(served: Served) -> None:
    response = await served.intake.intake.SubmitReport(
        intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://nl.host.example/a")])
    )
    assert len(response.report.items) == 1
    assert response.report.items[0].item_id
