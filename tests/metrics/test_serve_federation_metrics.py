"""Two `hotline-node serve` processes federated over mutual TLS on loopback, each with its metrics endpoint:
the documented series move as a report is taken, referred and received, and as a call is refused; and the
Dutch node's health turns NOT_SERVING while its (PostgreSQL) database is away, and SERVING when it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.app import build_node
from node.cases.model import Role
from node.clock import ManualClock
from node.config import load_config
from tests.exchange.test_two_nodes import NODES, _free_port, _roster
from tests.metrics.scrape import Scraped, samples, scrape_text, value
from tests.serving import serving

NL, DE = "nl-hotline", "de-hotline"


def _config(tmp: Path, node_id: str, ports: dict[str, int], database_url: str, roster: Path) -> Path:
    path = tmp / f"{node_id}.toml"
    path.write_text(
        f'[node]\nid = "{node_id}"\njurisdiction = "{NODES[node_id]}"\nlisten = "127.0.0.1:{ports["api"]}"\n'
        f'database_url = "{database_url}"\n'
        '[hosting]\nresolver = "static"\n[[hosting.static]]\n'
        'host = "de.host.example"\nip = "198.51.100.20"\ncountry = "DE"\nasn = 64501\n'
        f'[exchange]\nlisten = "127.0.0.1:{ports["exchange"]}"\nroster_file = "{roster}"\n'
        f'key_dir = "{tmp / node_id}/keys"\n'
        f'[metrics]\nlisten = "127.0.0.1:{ports["metrics"]}"\n'
    )
    return path


def _until(check: Callable[[], bool], what: str, seconds: float = 40.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:  # the endpoint is not up yet
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _scrape(port: int) -> Scraped:
    return samples(scrape_text(port))


async def _refer(api: int, token: str) -> None:
    async with NodeClient(f"127.0.0.1:{api}", token) as client, NodeClient(f"127.0.0.1:{api}", None) as anonymous:
        request = intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://de.host.example/m/1")])
        reply = await client.intake.SubmitReport(request)
        assessment = pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL)
        item_id = reply.report.items[0].item_id
        await client.cases.AssessItem(case_pb.AssessItemRequest(item_id=item_id, assessment=assessment))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await anonymous.intake.SubmitReport(request)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def _health(api: int) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{api}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        return int(answer.status)


def _allow_connections(admin_url: str, database: str, allowed: bool) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": database},
                )
    finally:
        admin.dispose()


def test_served_nodes_show_referrals_rejections_and_a_database_outage(
    tmp_path: Path, postgres_server: str, postgres_url: str
) -> None:
    ports = {node_id: {kind: _free_port() for kind in ("api", "exchange", "metrics")} for node_id in NODES}
    roster = _roster(tmp_path, {n: p["exchange"] for n, p in ports.items()}, ManualClock(datetime.now(UTC)))
    databases = {NL: postgres_url, DE: f"sqlite+pysqlite:///{tmp_path / DE}/node.db"}
    configs = {n: _config(tmp_path, n, ports[n], databases[n], roster) for n in NODES}
    setup = build_node(load_config(configs[NL], env={}))
    _, token = setup.access.create_token("test", "case-system", [Role.INTAKE, Role.ANALYST])
    setup.executor.shutdown(wait=True)
    setup.engine.dispose()
    nl_metrics, de_metrics = ports[NL]["metrics"], ports[DE]["metrics"]
    with serving(configs[NL], tmp_path / "nl.log"), serving(configs[DE], tmp_path / "de.log"):
        _until(lambda: value(_scrape(nl_metrics), "hx_store_up") == 1, "NL's metrics")
        _until(lambda: value(_scrape(de_metrics), "hx_store_up") == 1, "DE's metrics")
        asyncio.run(_refer(ports[NL]["api"], token))

        def delivered() -> bool:
            nl = _scrape(nl_metrics)
            return value(nl, "hx_exchange_messages_delivered_total", peer=DE, result="accepted") == 1

        _until(delivered, "the referral delivered")
        de = _scrape(de_metrics)
        assert value(de, "hx_exchange_messages_received_total", peer=NL, result="accepted", reason="") == 1
        assert value(de, "hx_items", state="AWAITING_ASSESSMENT") == 1  # DE assesses the referral itself
        nl = _scrape(nl_metrics)
        assert value(nl, "hx_items", state="REFERRED") == 1
        submit = {"grpc_type": "unary", "grpc_service": "hotline.node.v1.IntakeService", "grpc_method": "SubmitReport"}
        assert value(nl, "grpc_server_handled_total", **submit, grpc_code="OK") == 1
        assert value(nl, "grpc_server_handled_total", **submit, grpc_code="UNAUTHENTICATED") == 1

        serving_status, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
        assert asyncio.run(_health(ports[NL]["api"])) == serving_status
        database = str(make_url(postgres_url).database)
        _allow_connections(postgres_server, database, False)
        try:
            _until(lambda: asyncio.run(_health(ports[NL]["api"])) == not_serving, "NL's health to turn NOT_SERVING")
            _until(lambda: value(_scrape(nl_metrics), "hx_store_up") == 0, "hx_store_up to turn 0")
        finally:
            _allow_connections(postgres_server, database, True)
        _until(lambda: asyncio.run(_health(ports[NL]["api"])) == serving_status, "NL's health to recover")
        assert asyncio.run(_health(ports[DE]["api"])) == serving_status  # the other node was never affected
