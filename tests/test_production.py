"""README "Running in production", step by step where a test can: check the config, migrate a PostgreSQL
database, create a token, serve the API over TLS, scrape the metrics, and pass the container's health check."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api.client import NodeClient
from node.crypto.tls import make_tls_identity
from tests.exchange.test_two_nodes import _free_port
from tests.metrics.scrape import samples, scrape_text, scrape_until, value
from tests.metrics.test_serve_metrics import SUBMIT, _until_scraped
from tests.serving import serving

DEPLOY = Path(__file__).parent.parent / "deploy"
REQUEST = intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://nl.host.example/p")])


def hotline_node(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.postgres
def test_the_production_steps_on_postgresql_with_tls(tmp_path: Path, postgres_url: str) -> None:
    identity = make_tls_identity("localhost", datetime.now(UTC))
    (tmp_path / "tls").mkdir(mode=0o700)
    (tmp_path / "tls" / "api.crt").write_bytes(identity.cert_pem)
    (tmp_path / "tls" / "api.key").write_bytes(identity.key_pem)
    api, metrics = _free_port(), _free_port()
    config = tmp_path / "node.toml"
    config.write_text(
        f"""
[node]
id = "nl-hotline"
jurisdiction = "NL"
listen = "127.0.0.1:{api}"
database_url = "{postgres_url}"
tls_cert = "tls/api.crt"
tls_key = "tls/api.key"
log_format = "json"

[hosting]
resolver = "static"

[metrics]
listen = "127.0.0.1:{metrics}"
"""
    )
    checked = hotline_node("check-config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert f'tls_cert = "{tmp_path}/tls/api.crt"' in checked.stdout  # resolved beside the config
    migrated = hotline_node("migrate", "-c", str(config))
    assert migrated.returncode == 0 and "schema is current" in migrated.stdout, migrated.stderr
    created = hotline_node("create-token", "-c", str(config), "--name", "report-form", "--role", "intake")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]

    with serving(config, tmp_path / "serve.log") as process:
        assert value(samples(_until_scraped(metrics, process)), "hx_store_up") == 1
        asyncio.run(_report_over_tls(f"localhost:{api}", token, identity.cert_pem))
        scraped = scrape_until(metrics, lambda s: value(s, "grpc_server_handled_total", **SUBMIT, grpc_code="OK") == 1)
        assert value(scraped, "grpc_server_handled_total", **SUBMIT, grpc_code="OK") == 1
        assert sum(v for (name, _), v in scraped.items() if name == "hx_items") == 1
        assert "host.example" not in scrape_text(metrics)
        health = subprocess.run(
            [sys.executable, str(DEPLOY / "healthcheck.py"), f"http://127.0.0.1:{metrics}/metrics"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert health.returncode == 0, health.stderr


async def _report_over_tls(target: str, token: str, server_cert: bytes) -> None:
    """A report over TLS is taken; the same port refuses a plaintext client."""
    credentials = grpc.ssl_channel_credentials(root_certificates=server_cert)
    async with NodeClient(target, token, credentials=credentials) as client:
        reply = await client.intake.SubmitReport(REQUEST, timeout=30)
        assert reply.report.report_id
    async with NodeClient(target, token) as plaintext:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await plaintext.intake.SubmitReport(REQUEST, timeout=10)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
