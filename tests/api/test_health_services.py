"""NodeHealth per service, driven directly: the store's outage turns every service NOT_SERVING, the exchange's
included; an expired roster turns only the exchange NOT_SERVING; each recovers on its own."""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health_pb2

from node.api.health import NodeHealth

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
API, EXCHANGE = "hotline.node.v1.IntakeService", "hotline.exchange.v1.ExchangeService"


async def _until(health: NodeHealth, wanted: dict[str, int]) -> None:
    for _ in range(400):
        if all(health._server_status.get(name) == status for name, status in wanted.items()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{dict(health._server_status)} never became {wanted}")


async def test_store_outage_and_roster_expiry_per_service() -> None:
    store_up, roster_expired = True, False

    async def probe() -> None:
        if not store_up:
            raise ConnectionError("down")

    health = NodeHealth([API], probe, 0.01, exchange=(EXCHANGE, lambda: roster_expired))
    await health.serving()
    try:
        await _until(health, {"": SERVING, API: SERVING, EXCHANGE: SERVING})
        roster_expired = True
        await _until(health, {"": SERVING, API: SERVING, EXCHANGE: NOT_SERVING})
        store_up = False
        health.store_unavailable()
        await _until(health, {"": NOT_SERVING, API: NOT_SERVING, EXCHANGE: NOT_SERVING})
        roster_expired = False
        await asyncio.sleep(0.05)  # the roster is current again, but the store is still down
        assert health._server_status[EXCHANGE] == NOT_SERVING
        store_up = True
        await _until(health, {"": SERVING, API: SERVING, EXCHANGE: SERVING})
    finally:
        await health.stop()


async def test_without_the_exchange_its_service_is_not_listed() -> None:
    async def probe() -> None:
        return None

    health = NodeHealth([API], probe, 0.01)
    await health.serving()
    await health.stop()
    assert set(health._server_status) == {"", API}
