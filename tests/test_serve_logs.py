"""`hotline-node serve`'s standard error, off a terminal, is JSON lines only: the node's own lines, Python's
standard logging, and nothing of gRPC's C core (it reports a failed TLS handshake on the exchange port at INFO,
in text of its own, unless kept to errors)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from node.app import build_node
from node.cases.exchange_messages import StatusUpdate
from node.cases.model import ActionType, ItemState, OutboxMessage
from node.clock import ManualClock, SystemClock
from node.config import load_config
from tests.exchange.test_two_nodes import NODES, _free_port, _roster


def _config(tmp_path: Path) -> tuple[Path, int]:
    ports = {node_id: _free_port() for node_id in NODES}
    roster = _roster(tmp_path, ports, ManualClock())
    config = tmp_path / "nl.toml"
    config.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\nlisten = "127.0.0.1:{_free_port()}"\n'
        f'database_url = "sqlite+pysqlite:///{tmp_path}/nl-hotline/node.db"\n'
        f'[exchange]\nlisten = "127.0.0.1:{ports["nl-hotline"]}"\nroster_file = "{roster}"\n'
        f'key_dir = "{tmp_path}/nl-hotline/keys"\n'
    )
    return config, ports["nl-hotline"]


def _queue_for_a_peer_that_is_down(config: Path) -> None:
    node = build_node(load_config(config, env={}))
    now = SystemClock().now()
    update = StatusUpdate(str(uuid.uuid4()), 1, "nl-hotline", now, ItemState.NTD_SENT, ActionType.HP_NOTIFIED)
    with node.store.transaction() as tx:
        tx.enqueue_outbox(
            OutboxMessage(str(uuid.uuid4()), "de-hotline", update.kind, "item", json.dumps(update.to_json()), now)
        )
    node.executor.shutdown()
    node.engine.dispose()


def _poke_with_plain_http(port: int) -> None:
    """A client that speaks no TLS to the exchange port: the server's handshake fails."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x.example\r\n\r\n")
        with contextlib.suppress(OSError):
            connection.recv(64)


def test_serve_writes_only_json_lines_to_stderr(tmp_path: Path) -> None:
    config, exchange_port = _config(tmp_path)
    _queue_for_a_peer_that_is_down(config)
    env = {k: v for k, v in os.environ.items() if k not in ("GRPC_VERBOSITY", "HX_LOG_FORMAT")}
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert b"serving on" in process.stdout.readline()
        for _ in range(3):
            _poke_with_plain_http(exchange_port)
        time.sleep(1.0)  # the sender's first attempts to the peer that is down, and their log lines
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    lines = err.decode().splitlines()
    events = []
    for line in lines:
        try:
            events.append(json.loads(line)["event"])
        except (ValueError, KeyError):
            pytest.fail(f"not a JSON log line: {line!r}")
    assert "node.started" in events and "node.stopped" in events
    assert "exchange.send_failed" in events  # the lines a busy node writes are there, as JSON
