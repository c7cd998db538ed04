"""A running node signs a checkpoint of its audit log on its own, every `audit_checkpoint_seconds`, and the log
then verifies against it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select

from node.app import build_node, verify_audit_log
from node.clock import ManualClock
from node.crypto.audit import Checkpoint
from node.hosting import StaticResolver
from node.store import schema as t
from tests.conftest import HOSTING
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, _until, exchange_node_config, refer


async def test_a_running_node_signs_checkpoints_of_its_audit_log(tmp_path: Path, clock: ManualClock) -> None:
    ports = {node_id: _free_port() for node_id in NODES}
    config = exchange_node_config(tmp_path, "nl-hotline", "NL", ports["nl-hotline"], _roster(tmp_path, ports, clock))
    assert config.exchange is not None
    config = dataclasses.replace(config, exchange=dataclasses.replace(config.exchange, audit_checkpoint_seconds=1))
    node = build_node(config, clock=clock, resolver=StaticResolver(HOSTING))
    await node.start()
    try:
        refer(node, "https://de.host.example/audited")  # two audit entries: the report, the assessment

        def covering() -> list[Checkpoint]:
            with node.engine.connect() as c:
                stored = c.execute(select(t.audit_checkpoints.c.checkpoint)).scalars()
                return [cp for cp in map(Checkpoint.from_json, stored) if cp.entry_count >= 2]

        await _until(lambda: covering())
        checkpoint = covering()[0]
        assert checkpoint.node_id == "nl-hotline"
        assert checkpoint.key_id in {k.key_id for k in node.exchange.keys.signing}  # type: ignore[union-attr]
    finally:
        await node.stop(grace=0)
    assert verify_audit_log(config) is None
