"""Health per service follows the roster (and the admin view shows it): once the trusted roster expires, the
exchange service turns NOT_SERVING on the node's health endpoint while the integrator services stay SERVING; a
renewed roster turns it SERVING again."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.api._gen.hotline.node.v1 import federation_admin_service_pb2 as fa
from node.api.client import NodeClient
from node.app import EXCHANGE_SERVICE
from node.cases.model import Role
from node.clock import ManualClock
from node.crypto import SigningKeyPair
from node.crypto.roster import sign_roster
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, build_exchange_node

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
INTAKE = "hotline.node.v1.IntakeService"


async def test_an_expired_roster_turns_only_the_exchange_not_serving(tmp_path: Path, clock: ManualClock) -> None:
    authority = [SigningKeyPair.generate() for _ in range(3)]
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock, authority=authority, expires=clock.now() + timedelta(hours=1))
    nl = build_exchange_node(tmp_path, "nl-hotline", NODES["nl-hotline"], ports["nl-hotline"], roster_file, clock)
    nl.health_probe_seconds = 0.05
    await nl.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{nl.port}")
    health = health_pb2_grpc.HealthStub(channel)

    async def status(service: str) -> int:
        return int((await health.Check(health_pb2.HealthCheckRequest(service=service))).status)

    async def until(service: str, wanted: int) -> None:
        for _ in range(200):
            if await status(service) == wanted:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{service} did not turn {wanted}")

    _, token = nl.access.create_token("test", "operator", [Role.ADMIN])
    try:
        async with NodeClient(f"127.0.0.1:{nl.port}", token) as admin:  # the admin view names the roster
            view = await admin.federation.GetFederationStatus(fa.GetFederationStatusRequest())
        assert (view.node_id, view.roster_version, [p.peer for p in view.peers]) == (
            "nl-hotline",
            1,
            ["de-hotline"],
        )
        assert view.roster_expires_at.ToDatetime(tzinfo=UTC) == clock.now() + timedelta(hours=1)
        assert EXCHANGE_SERVICE == "hotline.exchange.v1.ExchangeService"
        assert await status(EXCHANGE_SERVICE) == SERVING and await status(INTAKE) == SERVING
        clock.advance(timedelta(hours=2))
        await until(EXCHANGE_SERVICE, NOT_SERVING)
        assert await status(INTAKE) == SERVING and await status("") == SERVING
        listed = await health.List(health_pb2.HealthListRequest())
        assert listed.statuses[EXCHANGE_SERVICE].status == NOT_SERVING

        v1 = roster_pb2.Roster.FromString(roster_pb2.SignedRoster.FromString(roster_file.read_bytes()).roster)
        v2 = roster_pb2.Roster()
        v2.CopyFrom(v1)
        v2.version = 2
        v2.expires_at.FromDatetime(clock.now() + timedelta(days=90))
        assert nl.exchange is not None and nl.exchange.roster.install(sign_roster(v2, authority[1:]))
        await until(EXCHANGE_SERVICE, SERVING)
    finally:
        await channel.close()
        await nl.stop(grace=0)
