"""Backup, restore and reconciliation as an operator runs them, through the command line: two nodes federated
over mutual TLS on loopback; the Germans back up, receive more referrals, restore the backup, and reconcile
with the Dutch node, which sends the lost referrals again, each applied once. And every bad input's error."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.app import Node, build_node
from node.cases.model import ActionType, Assessment, Classification
from node.cases.requests import NewAction
from node.cli import app
from node.cli.peers import format_peer
from node.clock import ManualClock
from node.config import load_config
from node.crypto.tls import make_tls_identity
from node.exchange.delivery import TransportError
from node.exchange.grpc_transport import ExchangeServicer, GrpcTransport
from node.exchange.ports import PeerState, ReconcileState
from node.store import schema as t
from tests.conftest import ANALYST
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, refer

runner = CliRunner()
NL, DE = "nl-hotline", "de-hotline"


def _config(tmp_path: Path, node_id: str, port: int, roster: Path) -> Path:
    path = tmp_path / f"{node_id}.toml"
    path.write_text(
        f'[node]\nid = "{node_id}"\njurisdiction = "{NODES[node_id]}"\nlisten = "127.0.0.1:0"\n'
        f'database_url = "sqlite+pysqlite:///{tmp_path / node_id}/node.db"\n'
        '[hosting]\nresolver = "static"\n[[hosting.static]]\n'
        'host = "de.host.example"\nip = "198.51.100.20"\ncountry = "DE"\nasn = 64501\n'
        f'[exchange]\nlisten = "127.0.0.1:{port}"\nroster_file = "{roster}"\nkey_dir = "{tmp_path / node_id}/keys"\n'
    )
    return path


async def _cli(*args: str) -> Result:
    """The command line, in a thread of its own (the commands run their own event loop)."""
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def _until(check: Callable[[], bool], seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def _referred(de: Node, origin_ids: list[str]) -> int:
    """How many items of `origin_ids` the German node holds: exactly one each when each was applied once."""
    with de.engine.connect() as connection:
        query = select(func.count()).select_from(t.items).where(t.items.c.origin_item_id.in_(origin_ids))
        return int(connection.execute(query).scalar_one())


async def test_backup_more_referrals_restore_and_reconcile_through_the_command_line(tmp_path: Path) -> None:
    ports = {node_id: _free_port() for node_id in NODES}
    roster = _roster(tmp_path, ports, ManualClock(datetime.now(UTC) - timedelta(minutes=1)))
    configs = {node_id: _config(tmp_path, node_id, ports[node_id], roster) for node_id in NODES}

    def start(node_id: str) -> Node:
        return build_node(load_config(configs[node_id]))  # the system clock, as the commands use

    nl, de = start(NL), start(DE)
    await nl.start()
    await de.start()
    try:
        before = [refer(nl, "https://de.host.example/a"), refer(nl, "https://de.host.example/b")]
        await _until(lambda: _referred(de, before) == 2)
        backup = tmp_path / "de.backup"
        done = await _cli("backup", str(backup), "-c", str(configs[DE]))
        assert done.exit_code == 0, done.output

        after = [refer(nl, "https://de.host.example/c"), refer(nl, "https://de.host.example/d")]
        await _until(lambda: _referred(de, after) == 2)
        await de.stop(grace=0)
        done = await _cli("restore", str(backup), "-c", str(configs[DE]))
        assert done.exit_code == 0 and "reconciles with every peer" in done.output, done.output

        de = start(DE)
        assert _referred(de, after) == 0  # the restored database lost the later referrals
        await de.start()  # restored: it reconciles with every peer at once, and sends them nothing before
        exchange = de.exchange
        assert exchange is not None
        await _until(lambda: not exchange.unreconciled)  # its own first round ran: it may send again
        done = await _cli("reconcile", "--peer", NL, "-c", str(configs[DE]))
        assert done.exit_code == 0, done.output
        await _until(lambda: _referred(de, after) == 2)  # nl sent them again

        async def agreed() -> bool:
            result = await _cli("reconcile", "--peer", NL, "--days", "400", "-c", str(configs[DE]), "--json")
            assert result.exit_code == 0, result.output
            return '"agreed": true' in result.output

        for _ in range(50):
            if await agreed():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the two nodes never agreed")
        assert _referred(de, before + after) == 4  # each referral applied once
        peers = await _cli("peers", "-c", str(configs[DE]))
        assert peers.exit_code == 0 and "nl-hotline" in peers.output and "  agreed 20" in peers.output
    finally:
        await nl.stop(grace=0)
        await de.stop(grace=0)


def _sequences(node: Node, origin_ids: list[str], *, origin: bool) -> dict[str, int]:
    """The last status sequence of each item, as the origin (its own item ids) or the assignee holds it."""
    key = t.items.c.item_id if origin else t.items.c.origin_item_id
    with node.engine.connect() as connection:
        rows = connection.execute(select(key, t.items.c.status_sequence).where(key.in_(origin_ids))).all()
    return {ref: seq for ref, seq in rows}


def _act(de: Node, origin_item_id: str, action: ActionType) -> None:
    """The German analyst assesses the referred item and records `action` (status updates to the origin)."""
    with de.engine.connect() as connection:
        item_id = connection.execute(
            select(t.items.c.item_id).where(t.items.c.origin_item_id == origin_item_id)
        ).scalar_one()
    de.executor.submit(de.cases.assess, ANALYST, item_id, Assessment(Classification.NATIONAL)).result()
    de.executor.submit(de.cases.record_action, ANALYST, item_id, NewAction(action)).result()


async def test_an_origin_restored_from_a_backup_gets_its_lost_referrals_back_through_the_command_line(
    tmp_path: Path,
) -> None:
    """The Dutch (the origin) back up, refer two more URLs, the Germans act on them and report back; the Dutch
    restore the backup (losing both referrals and the updates), start, and reconcile: the Germans hand back the
    referrals as the Dutch signed them, and the updates apply, once."""
    ports = {node_id: _free_port() for node_id in NODES}
    roster = _roster(tmp_path, ports, ManualClock(datetime.now(UTC) - timedelta(minutes=1)))
    configs = {node_id: _config(tmp_path, node_id, ports[node_id], roster) for node_id in NODES}

    def start(node_id: str) -> Node:
        return build_node(load_config(configs[node_id]))

    nl, de = start(NL), start(DE)
    await nl.start()
    await de.start()
    try:
        before = [refer(nl, "https://de.host.example/a")]
        await _until(lambda: _referred(de, before) == 1)
        backup = tmp_path / "nl.backup"
        done = await _cli("backup", str(backup), "-c", str(configs[NL]))
        assert done.exit_code == 0, done.output

        after = [refer(nl, "https://de.host.example/b"), refer(nl, "https://de.host.example/c")]
        await _until(lambda: _referred(de, after) == 2)
        for origin_item_id in after:
            _act(de, origin_item_id, ActionType.LEA_NOTIFIED)
        expected = {ref: 2 for ref in after}  # assessed (#1) and LEA notified (#2)
        await _until(lambda: _sequences(nl, after, origin=True) == expected)  # applied at the origin
        await nl.stop(grace=0)
        done = await _cli("restore", str(backup), "-c", str(configs[NL]))
        assert done.exit_code == 0, done.output

        nl = start(NL)
        assert _sequences(nl, after, origin=True) == {}  # the restored origin lost both referrals
        await nl.start()  # restored: it reconciles with every peer at once
        done = await _cli("reconcile", "--peer", DE, "--days", "400", "-c", str(configs[NL]))
        assert done.exit_code == 0 and "FAILED" not in done.output, done.output
        with nl.engine.connect() as connection:  # at start, or now: either way, from de's copies
            assert set(
                connection.execute(select(t.items.c.item_id).where(t.items.c.item_id.in_(after))).scalars()
            ) == set(after)
        await _until(lambda: _sequences(nl, after, origin=True) == expected)  # the updates applied again

        async def agreed() -> bool:
            result = await _cli("reconcile", "--peer", DE, "--days", "400", "-c", str(configs[NL]), "--json")
            assert result.exit_code == 0, result.output
            return '"agreed": true' in result.output

        for _ in range(50):
            if await agreed():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the two nodes never agreed")
        assert _sequences(de, after, origin=False) == expected
        with nl.engine.connect() as connection:
            actions = connection.execute(
                select(t.actions.c.item_id, t.actions.c.type).where(t.actions.c.item_id.in_(after))
            ).all()
            recovered = connection.execute(
                select(func.count()).select_from(t.events).where(t.events.c.kind == "referral.recovered")
            ).scalar_one()
        assert sorted(actions) == sorted((ref, "LEA_NOTIFIED") for ref in after)  # each applied once
        assert recovered == 2
    finally:
        await nl.stop(grace=0)
        await de.stop(grace=0)


def _plain_config(tmp_path: Path, database_url: str | None = None) -> Path:
    path = tmp_path / "node.toml"
    url = database_url or f"sqlite+pysqlite:///{tmp_path}/n.db"
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "{url}"\n[hosting]\nresolver = "static"\n'
    )
    return path


def test_a_restore_file_that_is_not_a_database_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    config = _plain_config(tmp_path)
    assert runner.invoke(app, ["create-token", "-c", str(config), "--name", "form", "--role", "intake"]).exit_code == 0
    database = (tmp_path / "n.db").read_bytes()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database, only some synthetic bytes" * 100)
    result = runner.invoke(app, ["restore", str(junk), "-c", str(config)])
    assert result.exit_code == 2 and "is not a SQLite database" in result.output
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    result = runner.invoke(app, ["restore", str(other), "-c", str(config)])
    assert result.exit_code == 2 and "not a hotline node's" in result.output
    result = runner.invoke(app, ["restore", str(tmp_path / "missing.backup"), "-c", str(config)])
    assert result.exit_code == 2 and "is not a file" in result.output
    assert (tmp_path / "n.db").read_bytes() == database
    result = runner.invoke(app, ["restore", "-c", str(config)])
    assert result.exit_code == 2 and "either FILE or --mark-only" in result.output


def test_backup_refuses_an_existing_file_and_names_pg_dump_for_postgresql(tmp_path: Path) -> None:
    config = _plain_config(tmp_path)
    assert runner.invoke(app, ["create-token", "-c", str(config), "--name", "form", "--role", "intake"]).exit_code == 0
    existing = tmp_path / "kept.backup"
    existing.write_bytes(b"keep me")
    result = runner.invoke(app, ["backup", str(existing), "-c", str(config)])
    assert result.exit_code == 2 and "exists already" in result.output and existing.read_bytes() == b"keep me"
    pg = _plain_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:9/absent")
    result = runner.invoke(app, ["backup", str(tmp_path / "pg.backup"), "-c", str(pg)])
    assert result.exit_code == 2 and "pg_dump" in result.output and "node.database_url" in result.output


def test_a_backup_restores_and_the_node_is_marked_restored(tmp_path: Path) -> None:
    config = _plain_config(tmp_path)
    assert runner.invoke(app, ["create-token", "-c", str(config), "--name", "form", "--role", "intake"]).exit_code == 0
    backup = tmp_path / "n.backup"
    assert runner.invoke(app, ["backup", str(backup), "-c", str(config)]).exit_code == 0
    assert runner.invoke(app, ["create-token", "-c", str(config), "--name", "later", "--role", "intake"]).exit_code == 0
    result = runner.invoke(app, ["restore", str(backup), "-c", str(config)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "n.db") as db:
        assert [r[0] for r in db.execute("SELECT name FROM tokens ORDER BY name")] == ["form"]
        assert db.execute("SELECT count(*) FROM restores").fetchone()[0] == 1


def test_reconcile_needs_the_exchange(tmp_path: Path) -> None:
    result = runner.invoke(app, ["reconcile", "-c", str(_plain_config(tmp_path))])
    assert result.exit_code == 2 and "no [exchange] section" in result.output


async def test_the_reconcile_call_refuses_a_non_member_and_a_bad_request(tmp_path: Path) -> None:
    ports = {node_id: _free_port() for node_id in NODES}
    roster = _roster(tmp_path, ports, ManualClock(datetime.now(UTC) - timedelta(minutes=1)))
    configs = {node_id: _config(tmp_path, node_id, ports[node_id], roster) for node_id in NODES}
    nl, de = (build_node(load_config(configs[node_id])) for node_id in (NL, DE))
    await de.start()
    assert nl.exchange is not None and de.exchange is not None
    membership = de.exchange.roster.membership
    stranger = make_tls_identity("xx-hotline", datetime.now(UTC))
    outsider = GrpcTransport(lambda: stranger, lambda: membership)
    try:
        # A certificate the roster does not pin: the TLS handshake itself fails, the call never reaches the node.
        with pytest.raises(TransportError, match="UNAVAILABLE"):
            await outsider.reconcile(DE, b"anything")
        with pytest.raises(TransportError, match="INVALID_ARGUMENT: MALFORMED"):
            await nl.exchange.transport.reconcile(DE, b"not a sealed envelope")
        now = datetime.now(UTC)
        backwards = messages_pb2.ReconcileView()
        backwards.since.FromDatetime(now)
        backwards.until.FromDatetime(now - timedelta(days=1))
        sealed = nl.exchange.crypto.seal(
            kind=envelope_pb2.MESSAGE_KIND_RECONCILE_REQUEST,
            body=backwards.SerializeToString(),
            recipient=DE,
            message_id="00000000-0000-7000-8000-000000000002",
            created_at=now,
            expires_at=now + timedelta(minutes=5),
        )
        with pytest.raises(TransportError, match="INVALID_ARGUMENT: BAD_RANGE: the range is empty"):
            await nl.exchange.transport.reconcile(DE, sealed)
        oversized = b"\0" * (nl.exchange.reconciliation.limits.max_envelope_bytes + 1)
        with pytest.raises(TransportError, match="RESOURCE_EXHAUSTED"):
            await nl.exchange.transport.reconcile(DE, oversized)
        with de.store.transaction(read_only=True) as tx:
            assert tx.reconciliations() == []  # no refused request changed anything
    finally:
        await outsider.close()
        await nl.exchange.transport.close()
        nl.executor.shutdown(wait=False)
        nl.engine.dispose()
        await de.stop(grace=0)


def test_the_peers_line_says_when_the_two_nodes_last_agreed() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    link = PeerState(DE, 0, None, "", None, None, None)
    limit = timedelta(minutes=5)
    assert format_peer(link, limit).endswith("  never reconciled")
    assert format_peer(link, limit, ReconcileState(DE, t0, t0, 0, 0, "")).endswith("  agreed 2026-03-02T09:00:00+00:00")
    later = ReconcileState(DE, t0 + timedelta(hours=6), t0, 2, 1, "item x (this node's) is known to de-hotline")
    assert format_peer(link, limit, later).endswith(
        "  last agreed 2026-03-02T09:00:00+00:00, 2 items differed at 2026-03-02T15:00:00+00:00 "
        "(item x (this node's) is known to de-hotline)"
    )


def test_a_reconciliation_setting_out_of_range_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(
        '[node]\nid = "nl-hotline"\njurisdiction = "NL"\n'
        f'[exchange]\nlisten = "127.0.0.1:0"\nroster_file = "{tmp_path}/r"\nkey_dir = "{tmp_path}/k"\n'
        "reconcile_seconds = 1\n"
    )
    result = runner.invoke(app, ["reconcile", "-c", str(path)])
    assert result.exit_code == 2 and "exchange.reconcile_seconds" in result.output
    assert len(result.output.strip().splitlines()) == 1


async def test_a_restored_node_does_not_hold_messages_for_ever_for_a_peer_without_reconciliation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unimplemented(self: ExchangeServicer, request: object, context: Any) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")

    monkeypatch.setattr(ExchangeServicer, "Reconcile", unimplemented)  # as a node of an older version answers
    ports = {node_id: _free_port() for node_id in NODES}
    roster = _roster(tmp_path, ports, ManualClock(datetime.now(UTC) - timedelta(minutes=1)))
    configs = {node_id: _config(tmp_path, node_id, ports[node_id], roster) for node_id in NODES}
    assert (await _cli("migrate", "-c", str(configs[DE]))).exit_code == 0  # a database restored by other means
    done = await _cli("restore", "--mark-only", "-c", str(configs[DE]))
    assert done.exit_code == 0 and "marked restored" in done.output, done.output
    nl, de = (build_node(load_config(configs[node_id])) for node_id in (NL, DE))
    await nl.start()
    await de.start()
    try:
        exchange = de.exchange
        assert exchange is not None
        await _until(lambda: not exchange.unreconciled)  # told UNIMPLEMENTED: it sends again, with a warning
        done = await _cli("reconcile", "-c", str(configs[DE]))
        assert done.exit_code == 1 and f"FAILED {NL}: UNIMPLEMENTED" in done.output
    finally:
        await nl.stop(grace=0)
        await de.stop(grace=0)
