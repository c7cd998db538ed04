"""`hotline-node serve` with a [metrics] section: the endpoint answers over loopback, and its series move as
reports come in and calls are refused."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.error
from pathlib import Path

import grpc
import pytest

from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api.client import NodeClient
from node.app import build_node
from node.cases.model import Role
from node.config import load_config
from tests.exchange.test_two_nodes import _free_port
from tests.metrics.scrape import samples, scrape_text, scrape_until, value
from tests.serving import serving

SUBMIT = {"grpc_type": "unary", "grpc_service": "hotline.node.v1.IntakeService", "grpc_method": "SubmitReport"}


def _until_scraped(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited"
        try:
            return scrape_text(port)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("the metrics endpoint never answered")


def test_serve_exposes_metrics_that_move(tmp_path: Path) -> None:
    api, metrics = _free_port(), _free_port()
    config = tmp_path / "node.toml"
    config.write_text(
        f"""
[node]
id = "nl-hotline"
jurisdiction = "NL"
listen = "127.0.0.1:{api}"
database_url = "sqlite+pysqlite:///{tmp_path}/node.db"

[metrics]
listen = "127.0.0.1:{metrics}"
"""
    )
    setup = build_node(load_config(config, env={}))
    _, token = setup.access.create_token("test", "report-form", [Role.INTAKE])
    setup.executor.shutdown(wait=True)
    setup.engine.dispose()
    with serving(config, tmp_path / "serve.log") as process:
        first = samples(_until_scraped(metrics, process))
        assert value(first, "hx_store_up") == 1
        assert sum(v for (name, _), v in first.items() if name == "hx_items") == 0
        asyncio.run(_report_and_refused(api, token))
        after = scrape_until(
            metrics, lambda s: value(s, "grpc_server_handled_total", **SUBMIT, grpc_code="UNAUTHENTICATED") is not None
        )
        assert value(after, "grpc_server_handled_total", **SUBMIT, grpc_code="OK") == 1
        assert value(after, "grpc_server_handled_total", **SUBMIT, grpc_code="UNAUTHENTICATED") == 1
        assert sum(v for (name, _), v in after.items() if name == "hx_items") == 1
        assert "host.example" not in scrape_text(metrics)  # never a URL


async def _report_and_refused(api: int, token: str) -> None:
    """One report taken, and the same call refused without a token."""
    async with NodeClient(f"127.0.0.1:{api}", token) as client, NodeClient(f"127.0.0.1:{api}", None) as anonymous:
        request = intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://nl.host.example/s")])
        await client.intake.SubmitReport(request)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await anonymous.intake.SubmitReport(request)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
