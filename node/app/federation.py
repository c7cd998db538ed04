"""The operator's view of a node's federation, and reconciling it now, from its database outside the serving
process (the node stopped or running): the trusted roster, each peer's state, the reconciliations, the peers'
refusals and the held peers, and the federation admin the admin RPCs serve."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from node.app.build import build_node
from node.app.database import operator_store
from node.app.resources import load_trusted_roster, open_store_engine
from node.clock import Clock, SystemClock
from node.config import NodeConfig
from node.errors import DomainError, InvalidArgument
from node.exchange.admin import FederationAdmin, RosterSummary, roster_summary
from node.exchange.delivery import TransportError
from node.exchange.ports import PeerRefusal, PeerState, ReconcileState
from node.exchange.reconcile import ReconcileOutcome, ReconcileRefused
from node.exchange.roster_state import RosterState
from node.store.engine import migrate
from node.store.sql_store import SqlStore

__all__ = [
    "federation_admin",
    "read_held_peers",
    "read_peer_refusals",
    "read_peer_states",
    "read_reconciliations",
    "reconcile_with_peers",
    "roster_state",
]


@contextmanager
def roster_state(config: NodeConfig, clock: Clock | None = None) -> Iterator[RosterState]:
    """The trusted roster of `config`'s store, for the operator's roster commands, whether the node runs or
    not: what they install there, a running node adopts on its next roster check."""
    if config.exchange is None:
        raise InvalidArgument("the config has no [exchange] section", field="exchange")
    engine = open_store_engine(config)
    try:
        migrate(engine)
        yield load_trusted_roster(config.exchange, SqlStore(engine), clock or SystemClock())
    finally:
        engine.dispose()


def read_peer_states(config: NodeConfig) -> list[PeerState]:
    """What `config`'s store knows of each peer (backoff, last error, clock skew), for the operator."""
    engine = open_store_engine(config)
    try:
        migrate(engine)  # as `serve` would: the columns read may be new
        with SqlStore(engine).transaction(read_only=True) as tx:
            return tx.peer_states()
    finally:
        engine.dispose()


def read_reconciliations(config: NodeConfig) -> list[ReconcileState]:
    """The last reconciliation with each peer, from `config`'s store, for the operator."""
    engine = open_store_engine(config)
    try:
        migrate(engine)
        with SqlStore(engine).transaction(read_only=True) as tx:
            return tx.reconciliations()
    finally:
        engine.dispose()


def read_peer_refusals(config: NodeConfig) -> list[PeerRefusal]:
    """The peers' refusals of `config`'s node kept in its store (until the roster changes), for the operator."""
    with operator_store(config) as store, store.transaction(read_only=True) as tx:
        return tx.peer_refusals()


@contextmanager
def federation_admin(config: NodeConfig, clock: Clock | None = None) -> Iterator[FederationAdmin]:
    """The operator's view of `config`'s federation, read from its store whether the node runs or not (what
    the admin RPCs serve). A running node picks up a backoff reset at its next delivery round."""
    engine = open_store_engine(config)
    try:
        migrate(engine)  # as `serve` would: the columns read may be new
        store, clock = SqlStore(engine), clock or SystemClock()
        roster = None
        if config.exchange is not None:
            trusted = load_trusted_roster(config.exchange, store, clock).membership

            def roster() -> RosterSummary:
                return roster_summary(trusted)

        yield FederationAdmin(config.node_id, store, clock, roster)
    finally:
        engine.dispose()


def reconcile_with_peers(config: NodeConfig, peers: list[str], days: float) -> list[ReconcileOutcome | str]:
    """Reconcile `config`'s node with each of `peers` (every active one if empty) over the items first
    reported in the last `days`, from this process (the node may run). A peer that fails gives its error line."""
    if config.exchange is None:  # the config first: it is wrong whatever the database holds
        raise InvalidArgument("the config has no [exchange] section", field="exchange")
    node = build_node(config, create_database=False)
    try:
        exchange = node.exchange
        assert exchange is not None  # built from [exchange]

        async def run() -> list[ReconcileOutcome | str]:
            until = node.clock.now() + timedelta(minutes=1)
            results: list[ReconcileOutcome | str] = []
            try:
                for peer in peers or exchange.active_peers():
                    try:
                        results.append(await exchange.reconcile(peer, until - timedelta(days=days), until))
                    except (TransportError, ReconcileRefused, DomainError) as error:
                        results.append(f"{peer}: {error}")
            finally:
                await exchange.transport.close()
            return results

        return asyncio.run(run())
    finally:
        node.executor.shutdown(wait=False)
        node.engine.dispose()


def read_held_peers(config: NodeConfig) -> dict[str, str]:
    """Each peer that `config`'s node has messages waiting for but may not send to now (suspended, revoked,
    not a member, or an expired roster), with the reason; empty without an exchange."""
    if config.exchange is None:
        return {}
    engine = open_store_engine(config)
    try:
        migrate(engine)
        store = SqlStore(engine)
        membership = load_trusted_roster(config.exchange, store, SystemClock()).membership
        with store.transaction(read_only=True) as tx:
            pending = tx.peers_with_pending()
    finally:
        engine.dispose()
    now = SystemClock().now()
    reasons = {peer: membership.held_reason(config.node_id, peer, now) for peer in pending}
    return {peer: reason for peer, reason in reasons.items() if reason}
