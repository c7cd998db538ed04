"""Two real nodes whose roster expires: nothing is sent or accepted, nothing is lost, and once one node has the
renewed roster (applied by its operator) the other catches up from it and the queued referral is delivered."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.clock import ManualClock
from node.crypto import SigningKeyPair
from node.crypto.roster import sign_roster
from node.exchange.ports import OutboxStatus
from node.store import schema as t
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, _until, build_exchange_node, refer


async def test_an_expired_roster_holds_referrals_until_a_renewal_arrives(tmp_path: Path, clock: ManualClock) -> None:
    authority = [SigningKeyPair.generate() for _ in range(3)]
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock, authority=authority, expires=clock.now() + timedelta(hours=1))
    nodes = {
        node_id: build_exchange_node(tmp_path, node_id, country, ports[node_id], roster_file, clock)
        for node_id, country in NODES.items()
    }
    for node in nodes.values():
        await node.start()
    nl, de = nodes["nl-hotline"], nodes["de-hotline"]

    def outbox() -> list[str]:
        with nl.engine.connect() as connection:
            return list(connection.execute(select(t.outbox.c.status)).scalars())

    def referred() -> int:
        with de.engine.connect() as connection:
            return len(connection.execute(select(t.items)).all())

    def last_error() -> str:
        with nl.engine.connect() as connection:
            return "".join(connection.execute(select(t.peer_state.c.last_error)).scalars())

    try:
        clock.advance(timedelta(hours=2))
        assert nl.exchange is not None and nl.exchange.roster.check_expiry(timedelta(days=14)) == "expired"
        refer(nl, "https://de.host.example/held")
        await _until(lambda: outbox() == [OutboxStatus.PENDING])
        await asyncio.sleep(1.0)  # and it stays held
        assert outbox() == [OutboxStatus.PENDING] and referred() == 0  # held by the sender: its roster expired

        v1 = roster_pb2.Roster.FromString(roster_pb2.SignedRoster.FromString(roster_file.read_bytes()).roster)
        v2 = roster_pb2.Roster()
        v2.CopyFrom(v1)
        v2.version = 2
        v2.expires_at.FromDatetime(clock.now() + timedelta(days=90))
        assert nl.exchange.roster.install(sign_roster(v2, authority[1:]))  # the NL operator's `roster apply`
        # NL now sends; DE, still expired, refuses the call as a whole (and fetches NL's newer roster).
        await _until(lambda: "roster expired" in last_error())
        assert last_error().startswith("FAILED_PRECONDITION: roster expired: this node's roster version 1 expired")
        # Past NL's backoff, as often as it takes: if DE's first catch-up fetch from NL failed (a TLS handshake
        # racing NL's own roster reload, say), NL's next send is refused too and backs off again on this clock.
        for _ in range(30):
            clock.advance(timedelta(minutes=20))
            if referred() == 1:
                break
            await asyncio.sleep(0.5)
        await _until(lambda: referred() == 1)
        assert de.exchange is not None and de.exchange.roster.membership.version == 2
        await _until(lambda: outbox() == [OutboxStatus.ACKED])
        assert referred() == 1
    finally:
        for node in nodes.values():
            await node.stop(grace=0)
