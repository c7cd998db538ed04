"""The one error boundary, over real gRPC on SQLite and PostgreSQL: a database that goes away mid-call is
UNAVAILABLE with no host name, health turns NOT_SERVING and recovers by itself; a report the database refuses
fails alone, while a second integrator's reports in the same intake batch are all stored; no answer carries
another caller's data or an exception's text."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.app import Node
from node.cases.model import Role
from node.store.sql_store import SqlTransaction
from tests.api._boundary import Outcome, call, fail_in_database
from tests.api._support import report, submit
from tests.conftest import Served

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


# ------------------------------------------------------------------------------ the database goes away


@contextmanager
def database_down(node: Node, request: pytest.FixtureRequest) -> Iterator[None]:
    """Take the node's database away: PostgreSQL refuses connections to it and drops the open ones; SQLite's
    file cannot be opened. Back when the block ends."""
    engine = node.engine
    if engine.dialect.name == "sqlite":
        import sqlite3

        def refuse(*_args: Any) -> None:
            raise sqlite3.OperationalError("unable to open database file")

        event.listen(engine, "do_connect", refuse)
        engine.dispose()
        try:
            yield
        finally:
            event.remove(engine, "do_connect", refuse)
        return
    admin = create_engine(request.getfixturevalue("postgres_server"), isolation_level="AUTOCOMMIT")
    name = engine.url.database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def secrets_of(node: Node) -> list[str]:
    """What an answer must never name: where the database is."""
    url = make_url(node.engine.url)
    found = [str(url.database), "sqlite", "psycopg", "OperationalError", "Traceback", "FATAL"]
    if url.host:
        found += [url.host, str(url.port or 5432)]
    return found


def assert_unavailable(outcome: Outcome, node: Node, label: str) -> None:
    assert outcome.code is UNAVAILABLE, f"{label}: {outcome}"
    assert outcome.reason == "STORE_UNAVAILABLE" and outcome.reference, label
    assert "google.rpc.RetryInfo" in outcome.details, label
    for secret in secrets_of(node):
        assert secret not in outcome.text, f"{label} names {secret!r}: {outcome.text!r}"


async def health_of(served: Served, service: str = "") -> Any:
    stub = health_pb2_grpc.HealthStub(served.anonymous.channel)
    return (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status


async def wait_for_health(served: Served, status: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while await health_of(served) != status:
        assert time.monotonic() < deadline, f"health did not turn {status}"
        await asyncio.sleep(0.2)


async def test_a_database_outage_is_unavailable_without_its_address_and_health_follows(
    served_each: Served, request: pytest.FixtureRequest
) -> None:
    served = served_each
    node = served.node
    item_id = (await submit(served, "https://nl.host.example/outage/before")).item_id
    # A token never used yet: its first call must read it from the database, in the auth interceptor.
    _, fresh = node.access.create_token("test", "fresh-form", [Role.INTAKE])
    stream = served.analyst.events.StreamEvents(event_pb.StreamEventsRequest())
    await stream.read()  # the stream is open and has delivered the first event: a call in progress
    assert await health_of(served) == SERVING
    watch = health_pb2_grpc.HealthStub(served.anonymous.channel).Watch(health_pb2.HealthCheckRequest(service=""))
    assert (await watch.read()).status == SERVING

    with database_down(node, request):
        got = await call(served, "/hotline.node.v1.CaseService/GetItem", case_pb.GetItemRequest(item_id=item_id))
        assert_unavailable(got, node, "GetItem")
        async with NodeClient(served.target, fresh) as client:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await client.intake.SubmitReport(report("https://nl.host.example/outage/during"))
        assert caught.value.code() is UNAVAILABLE
        for secret in secrets_of(node):
            assert secret not in (caught.value.details() or ""), secret
        # The open stream ends with the same status, not a hang and not INTERNAL.
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            async with asyncio.timeout(10):
                while True:
                    await stream.read()
        assert ended.value.code() is UNAVAILABLE
        for service in ("", "hotline.node.v1.IntakeService", "hotline.node.v1.EventService"):
            assert await health_of(served, service) == NOT_SERVING, service
        listed = await health_pb2_grpc.HealthStub(served.anonymous.channel).List(health_pb2.HealthListRequest())
        assert listed.statuses["hotline.node.v1.CaseService"].status == NOT_SERVING
        assert (await watch.read()).status == NOT_SERVING

    await wait_for_health(served, SERVING)
    assert (await watch.read()).status == SERVING
    watch.cancel()
    assert (await served.analyst.cases.GetItem(case_pb.GetItemRequest(item_id=item_id))).item.item_id == item_id
    async with NodeClient(served.target, fresh) as client:
        await client.intake.SubmitReport(report("https://nl.host.example/outage/after"))


# ------------------------------------------------------------------------------ one poisoned report in a batch

POISON = "poison-ref"


@contextmanager
def batches_recorded(node: Node) -> Iterator[list[list[str]]]:
    """The reporter references of each intake batch. The first batch is held a moment, so that the calls made
    meanwhile queue up and go together in the next one."""
    seen: list[list[str]] = []
    original = node.cases.submit_reports

    def recording(batch: Any) -> Any:
        seen.append([r.reporter.reference for _, r, _ in batch])
        if len(seen) == 1:
            time.sleep(0.5)
        return original(batch)

    node.cases.submit_reports = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        node.cases.submit_reports = original  # type: ignore[method-assign]


def poison_intake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refuses any bulk intake that holds the poisoned report, quoting all of its reporters."""
    original = SqlTransaction.insert_intake_bulk

    def insert(self: SqlTransaction, reports: Any, items: Any, links: Any) -> None:
        if any(r.reporter.reference == POISON for r, _, _ in reports):
            fail_in_database(
                self, **{f"p{i}": f"{r.reporter.name} {r.reporter.email}" for i, (r, _, _) in enumerate(reports)}
            )
        original(self, reports, items, links)

    monkeypatch.setattr(SqlTransaction, "insert_intake_bulk", insert)


def second_reporter(i: int) -> pb.Reporter:
    return pb.Reporter(name=f"Second Reporter {i}", email=f"second{i}@mail.example", reference=f"second-{i}")


async def test_a_poisoned_report_fails_alone_and_a_second_integrators_batch_mates_are_stored(
    served_each: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = served_each
    _, token = served.node.access.create_token("test", "second-form", [Role.INTAKE])
    poison_intake(monkeypatch)
    async with NodeClient(served.target, token) as second:
        with batches_recorded(served.node) as batches:
            first = asyncio.ensure_future(submit(served, "https://nl.host.example/batch/first"))
            await asyncio.sleep(0.1)  # the first batch is being written; the next calls queue behind it
            poisoned = served.intake.intake.SubmitReport(
                report("https://nl.host.example/batch/poisoned", reporter=pb.Reporter(name="P", reference=POISON))
            )
            nul = served.intake.intake.SubmitReport(
                report("https://nl.host.example/batch/nul", reporter=pb.Reporter(name="N\x00"))
            )
            clean = [
                second.intake.SubmitReport(
                    report(f"https://nl.host.example/batch/clean/{i}", reporter=second_reporter(i))
                )
                for i in range(12)
            ]
            results = await asyncio.gather(poisoned, nul, *clean, return_exceptions=True)
            await first
        together = [b for b in batches if POISON in b]
        assert together and len(together[0]) > 1, f"the poisoned report was not batched with others: {batches}"
        poisoned_error, nul_error, *stored = results
        assert isinstance(poisoned_error, grpc.aio.AioRpcError)
        assert poisoned_error.code() is grpc.StatusCode.INTERNAL
        assert "reference" in (poisoned_error.details() or "")
        assert isinstance(nul_error, grpc.aio.AioRpcError)
        assert nul_error.code() is grpc.StatusCode.INVALID_ARGUMENT
        told = " ".join(f"{e.details()} {e.trailing_metadata()}" for e in (poisoned_error, nul_error))
        for i in range(12):
            assert f"Second Reporter {i}" not in told and f"second{i}@" not in told
        assert all(isinstance(r, intake_pb.SubmitReportResponse) for r in stored), stored
        for response in stored:
            assert isinstance(response, intake_pb.SubmitReportResponse)
            got = await second.intake.GetReport(intake_pb.GetReportRequest(report_id=response.report.report_id))
            assert got.report.report_id == response.report.report_id
