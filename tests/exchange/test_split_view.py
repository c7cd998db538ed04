"""A split view: the authority signed two different rosters under one version, and two members were each
shown one. Every delivery carries the digest of the caller's roster; the peer refuses and reports it, and the
caller keeps its messages queued."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.clock import ManualClock
from node.crypto import SigningKeyPair
from node.crypto.roster import sign_roster
from node.exchange.membership import RosterMembership, split_view
from node.exchange.ports import OutboxStatus
from node.store import schema as t
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, _until, build_exchange_node, refer


def test_the_same_version_with_other_bytes_is_a_split_view() -> None:
    mine = RosterMembership(roster_pb2.Roster(version=2), b"a" * 32)
    assert split_view(mine, 2, b"b" * 32)
    assert not split_view(mine, 2, b"a" * 32)
    assert not split_view(mine, 3, b"b" * 32)  # a newer version: the caller catches up, not a split view
    assert not split_view(mine, 2, b"")  # a caller that does not say


async def test_a_peer_shown_another_roster_under_the_same_version_refuses(tmp_path: Path, clock: ManualClock) -> None:
    authority = [SigningKeyPair.generate() for _ in range(3)]
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock, authority=authority)
    nodes = {
        node_id: build_exchange_node(tmp_path, node_id, country, ports[node_id], roster_file, clock)
        for node_id, country in NODES.items()
    }
    v1 = roster_pb2.Roster.FromString(roster_pb2.SignedRoster.FromString(roster_file.read_bytes()).roster)
    for node_id, node in nodes.items():  # version 2, in two variants: each node is shown its own
        variant = roster_pb2.Roster()
        variant.CopyFrom(v1)
        variant.version = 2
        variant.members[0].organisation = f"as shown to {node_id}"
        assert node.exchange is not None
        node.exchange.accept_roster([sign_roster(variant, authority[:2])])
    for node in nodes.values():
        await node.start()
    try:
        nl = nodes["nl-hotline"]
        refer(nl, "https://de.host.example/split")

        def last_error() -> str:
            with nl.engine.connect() as connection:
                errors = connection.execute(select(t.peer_state.c.last_error)).scalars().all()
            return errors[0] if errors else ""

        await _until(lambda: "split view" in last_error())
        assert "split view: nl-hotline trusts roster version 2 with digest" in last_error()
        with nl.engine.connect() as connection:
            assert connection.execute(select(t.outbox.c.status)).scalars().all() == [OutboxStatus.PENDING]
        de = nodes["de-hotline"]
        with de.engine.connect() as connection:
            assert connection.execute(select(t.items)).all() == []
    finally:
        for node in nodes.values():
            await node.stop(grace=0)
