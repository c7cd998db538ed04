"""Crash test: two real node processes exchange referrals and status updates while each is killed with
SIGKILL at random moments and restarted. In the end every referral is delivered and applied exactly once,
and every status update is back, counted on both sides.

CI runs a short version. The long one (10,000 referrals, five kills):
    HX_CRASH_REFERRALS=10000 HX_CRASH_KILLS=5 .venv/bin/pytest tests/exchange/test_crash.py -s
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.clock import ManualClock
from tests.exchange.test_two_nodes import NODES, _free_port, _roster

REFERRALS = int(os.environ.get("HX_CRASH_REFERRALS", "600"))
KILLS = int(os.environ.get("HX_CRASH_KILLS", "3"))
KNOWN = "c0" * 32
BATCH = 100


class NodeProcess:
    def __init__(self, node_id: str, config: Path, log: Path) -> None:
        self.node_id, self.config, self.log = node_id, config, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", "serve", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def _cli(config: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "node.cli", *args, "--config", str(config)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as connection:
        return int(connection.execute(sql).fetchone()[0])


async def _wait_for_api(port: int) -> None:
    # Up to 60 s: a node's start (imports, keys, migrations) takes a few seconds, and far longer on a loaded machine.
    for _ in range(1200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.timeout(600)
async def test_referrals_survive_kill_9_of_sender_and_receiver_exactly_once(tmp_path: Path) -> None:
    clock = ManualClock()
    exchange_ports = {node_id: _free_port() for node_id in NODES}
    api_ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, exchange_ports, clock)
    processes: dict[str, NodeProcess] = {}
    for node_id, country in NODES.items():
        (tmp_path / node_id).mkdir(exist_ok=True)
        config = tmp_path / node_id / "node.toml"
        config.write_text(
            f'[node]\nid = "{node_id}"\njurisdiction = "{country}"\nlisten = "127.0.0.1:{api_ports[node_id]}"\n'
            f'database_url = "sqlite+pysqlite:///{tmp_path / node_id}/node.db"\nlog_format = "json"\n'
            '[hosting]\nresolver = "static"\n'
            '[[hosting.static]]\nhost = "de.host.example"\ncountry = "DE"\nip = "198.51.100.20"\n'
            f'[exchange]\nlisten = "127.0.0.1:{exchange_ports[node_id]}"\nroster_file = "{roster_file}"\n'
            f'key_dir = "{tmp_path / node_id / "keys"}"\n'
        )
        processes[node_id] = NodeProcess(node_id, config, tmp_path / node_id / "node.log")
    nl_config = processes["nl-hotline"].config
    # The hotline's own hashing tool: its hashes are trusted, so known content is referred with no analyst.
    intake_token = _cli(nl_config, "create-token", "--name", "crash-intake", "--role", "intake", "--role", "hasher")
    admin_token = _cli(nl_config, "create-token", "--name", "crash-admin", "--role", "admin")
    for process in processes.values():
        process.start()
    nl_db, de_db = (tmp_path / n / "node.db" for n in NODES)
    rng = random.Random(20261123)
    try:
        await _wait_for_api(api_ports["nl-hotline"])
        async with NodeClient(f"127.0.0.1:{api_ports['nl-hotline']}", admin_token) as admin:
            await admin.admin.ImportKnownHashes(
                admin_pb.ImportKnownHashesRequest(
                    source="crash test",
                    request_id="known-1",
                    hashes=[
                        admin_pb.KnownHash(
                            hash=pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=KNOWN),
                            classification=pb.CLASSIFICATION_BASELINE,
                        )
                    ],
                )
            )
        known = pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=KNOWN)
        kills_left, next_kill, sent = KILLS, time.monotonic() + 1.0, 0
        deadline = time.monotonic() + 500
        while time.monotonic() < deadline:
            if sent < REFERRALS and processes["nl-hotline"].process and processes["nl-hotline"].process.poll() is None:
                try:
                    async with NodeClient(f"127.0.0.1:{api_ports['nl-hotline']}", intake_token) as intake:
                        urls = [
                            intake_pb.ReportedUrl(url=f"https://de.host.example/crash/{i}", hashes=[known])
                            for i in range(sent, min(REFERRALS, sent + BATCH))
                        ]
                        await intake.intake.SubmitReport(
                            intake_pb.SubmitReportRequest(request_id=f"batch-{sent}", urls=urls), timeout=30
                        )
                    sent = min(REFERRALS, sent + BATCH)
                except Exception:  # the node was killed under us: the same request id is retried
                    await asyncio.sleep(0.2)
            if kills_left and time.monotonic() >= next_kill:
                victim = processes[rng.choice(list(NODES))]
                victim.kill()
                await asyncio.sleep(rng.uniform(0.1, 0.6))
                victim.start()
                kills_left -= 1
                next_kill = time.monotonic() + rng.uniform(0.5, 2.0)
            if sent == REFERRALS and not kills_left:
                # Done when NL holds every status update and both outboxes are drained. A node killed after
                # its peer applied a batch but before it recorded the ack resends that batch after restart
                # (the peer acks it again as a duplicate), so DE's outbox is waited for too.
                done = _count(nl_db, "SELECT count(*) FROM items WHERE status_sequence >= 1")
                if done == REFERRALS and all(
                    _count(db, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0 for db in (nl_db, de_db)
                ):
                    break
            await asyncio.sleep(0.2)
    finally:
        for process in processes.values():
            process.stop()

    assert _count(nl_db, "SELECT count(*) FROM items") == REFERRALS
    assert _count(nl_db, "SELECT count(*) FROM outbox WHERE kind = 'referral'") == REFERRALS
    assert _count(nl_db, "SELECT count(*) FROM outbox WHERE status <> 'acked'") == 0
    assert _count(nl_db, "SELECT count(*) FROM receipts") == REFERRALS
    assert _count(de_db, "SELECT count(*) FROM items") == REFERRALS
    assert _count(de_db, "SELECT count(DISTINCT origin_item_id) FROM items") == REFERRALS
    assert _count(de_db, "SELECT count(*) FROM inbox WHERE status = 'accepted'") == REFERRALS
    # Each referral was BASELINE, so the receiver classified it at once and reported that back, once.
    assert _count(de_db, "SELECT count(*) FROM outbox WHERE kind = 'status_update' AND status = 'acked'") == REFERRALS
    assert _count(nl_db, "SELECT count(*) FROM items WHERE status_sequence = 1") == REFERRALS
    assert _count(nl_db, "SELECT count(*) FROM inbox WHERE status = 'accepted'") == REFERRALS
