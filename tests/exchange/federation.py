"""A small federation for tests: nodes with real keys, a roster listing them, and the in-memory transport."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2
from node.app import Node, build_node
from node.clock import Clock, ManualClock
from node.config import parse_config
from node.crypto import HpkeKeyPair, SigningKeyPair
from node.exchange.membership import RosterMembership
from node.exchange.memory import InMemoryNetwork, InMemoryTransport
from node.exchange.receiver import Receiver
from node.exchange.sealing import RosterCrypto
from node.exchange.sender import PeerSender, SendSettings
from node.hosting import StaticResolver
from tests.conftest import HOSTING

COUNTRIES = {"nl-hotline": "NL", "de-hotline": "DE", "fr-hotline": "FR"}


@dataclass
class Member:
    node: Node
    signing: list[SigningKeyPair]
    hpke: list[HpkeKeyPair]
    clock: Clock
    crypto: RosterCrypto | None = None
    receiver: Receiver | None = None
    senders: dict[str, PeerSender] = field(default_factory=dict)


class Federation:
    def __init__(
        self,
        tmp: Path,
        clock: ManualClock,
        *,
        pq: set[str] | None = None,
        clocks: dict[str, Clock] | None = None,
        databases: dict[str, str] | None = None,
        settings: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """`clocks`: a clock of its own for some nodes (OffsetClock: a node whose clock is wrong). `databases`:
        a database URL of its own for some nodes (PostgreSQL); the others use SQLite files in `tmp`. `settings`:
        more [node] settings of some nodes."""
        self.clock = clock
        self.network = InMemoryNetwork()
        self.members: dict[str, Member] = {}
        pq = pq or set()
        for node_id, country in COUNTRIES.items():
            raw = {
                "node": {
                    "id": node_id,
                    "jurisdiction": country,
                    "database_url": (databases or {}).get(node_id, f"sqlite+pysqlite:///{tmp / node_id}.db"),
                    **(settings or {}).get(node_id, {}),
                }
            }
            own = (clocks or {}).get(node_id, clock)
            node = build_node(parse_config(raw, {}), clock=own, resolver=StaticResolver(HOSTING))
            signing = [SigningKeyPair.generate(envelope_pb2.SIGNATURE_ALGORITHM_ED25519)]
            suite = envelope_pb2.HPKE_SUITE_X25519_SHA256_AES128GCM
            if node_id in pq:
                signing.append(SigningKeyPair.generate(envelope_pb2.SIGNATURE_ALGORITHM_ML_DSA_65))
                suite = envelope_pb2.HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM
            self.members[node_id] = Member(node, signing, [HpkeKeyPair.generate(suite)], own)
        self.roster = self._roster(pq)
        self.membership = RosterMembership(self.roster)
        for node_id, member in self.members.items():
            member.node.cases.set_membership(self.membership)
            member.crypto = RosterCrypto(
                node_id=node_id,
                signing_keys=member.signing,
                hpke_keys=member.hpke,
                membership=lambda: self.membership,
                clock=member.clock,
            )
            member.receiver = Receiver(
                node_id=node_id,
                cases=member.node.cases,
                store=member.node.store,
                opener=member.crypto,
                members=lambda: self.membership,
                clock=member.clock,
            )
            self.network.receivers[node_id] = member.receiver

    def _roster(self, pq: set[str]) -> roster_pb2.Roster:
        roster = roster_pb2.Roster(network_id="test-network", version=1)
        roster.expires_at.FromDatetime(datetime(2030, 1, 1, tzinfo=UTC))
        for node_id, member in self.members.items():
            roster.members.append(
                roster_pb2.Member(
                    node_id=node_id,
                    organisation=f"{node_id} (synthetic)",
                    jurisdictions=[COUNTRIES[node_id]],
                    status=roster_pb2.MEMBER_STATUS_FULL,
                    signing_keys=[
                        roster_pb2.SigningKey(
                            key_id=k.key_id,
                            algorithm=k.algorithm,  # type: ignore[arg-type]
                            public_key=k.public.public_key,
                        )
                        for k in member.signing
                    ],
                    hpke_keys=[
                        roster_pb2.HpkeKey(
                            key_id=k.key_id,
                            suite=k.suite,  # type: ignore[arg-type]
                            public_key=k.public.public_key,
                        )
                        for k in member.hpke
                    ],
                    required_signatures=[k.algorithm for k in member.signing] if node_id in pq else [],  # type: ignore[misc]
                )
            )
        return roster

    def set_status(self, node_id: str, status: int) -> None:
        for listed in self.roster.members:
            if listed.node_id == node_id:
                listed.status = status  # type: ignore[assignment]
        self.roster.version += 1
        self.membership = RosterMembership(self.roster)
        for member in self.members.values():
            member.node.cases.set_membership(self.membership)

    def sender(self, frm: str, to: str, settings: SendSettings | None = None) -> PeerSender:
        """frm's sender to `to` (made on first use, with `settings` if given)."""
        member = self.members[frm]
        if to not in member.senders:
            assert member.crypto is not None

            async def run_blocking(fn: Any, *args: Any) -> Any:
                return fn(*args)

            member.senders[to] = PeerSender(
                peer=to,
                store=member.node.store,
                sealer=member.crypto,
                transport=InMemoryTransport(frm, self.network, run_blocking),
                clock=member.clock,
                is_active=self.membership_active,
                run_blocking=run_blocking,
                rng=random.Random(1),
                settings=settings,
            )
        return member.senders[to]

    def membership_active(self, node_id: str) -> bool:
        return self.membership.is_active(node_id)

    def deliver_all(self, rounds: int = 5) -> int:
        """Run every sender until nothing more goes out. Returns how many messages got a final answer."""
        total = 0
        for _ in range(rounds):
            moved = 0
            for frm, member in self.members.items():
                with member.node.store.transaction(read_only=True) as tx:
                    peers = tx.peers_with_pending()
                for to in peers:
                    moved += asyncio.run(self.sender(frm, to).send_once())
            total += moved
            if moved == 0:
                break
        return total

    def close(self) -> None:
        for member in self.members.values():
            member.node.executor.shutdown(wait=False)
            member.node.engine.dispose()


def later(clock: ManualClock, **kwargs: float) -> None:
    clock.advance(timedelta(**kwargs))
