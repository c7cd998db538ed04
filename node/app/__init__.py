"""The composition root: one function (`build_node`) builds a node from its config, and the operator's
commands open a node's database through the same wiring. The CLI, the tests, the demo and the simulator all
build nodes here, so there is one copy of the wiring. Its parts: the running node (`node`), building one
(`build`), what a node opens from its config (`resources`), the audit log's checkpoints (`audit`), the
operator's operations on the database (`database`) and on the federation (`federation`), run outside the
serving process, and the serving process's heap (`heap`)."""

from __future__ import annotations

from node.app.audit import export_audit_checkpoint, sign_audit_checkpoint, verify_audit_log
from node.app.build import build_node, build_resolver
from node.app.database import backup_database, migrate_database, operator_store, restore_database
from node.app.federation import (
    federation_admin,
    read_held_peers,
    read_peer_refusals,
    read_peer_states,
    read_reconciliations,
    reconcile_with_peers,
    roster_state,
)
from node.app.heap import freeze_startup_heap
from node.app.node import EXCHANGE_SERVICE, SYSTEM, Node
from node.app.resources import DatabaseNotReady, open_store_engine

__all__ = [
    "EXCHANGE_SERVICE",
    "SYSTEM",
    "DatabaseNotReady",
    "Node",
    "backup_database",
    "build_node",
    "build_resolver",
    "export_audit_checkpoint",
    "federation_admin",
    "freeze_startup_heap",
    "migrate_database",
    "open_store_engine",
    "operator_store",
    "read_held_peers",
    "read_peer_refusals",
    "read_peer_states",
    "read_reconciliations",
    "reconcile_with_peers",
    "restore_database",
    "roster_state",
    "sign_audit_checkpoint",
    "verify_audit_log",
]
