"""The audit log's checkpoints: the node signs one periodically; the operator verifies the log against them and
exports a fresh one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import structlog

from node.api._gen.hotline.exchange.v1 import envelope_pb2
from node.app.resources import audit_key, node_keys, open_store_engine
from node.clock import Clock, SystemClock
from node.config import NodeConfig
from node.crypto.audit import Checkpoint, CheckpointError
from node.crypto.keystore import NodeKeys
from node.errors import InvalidArgument
from node.store.engine import migrate
from node.store.sql_store import AuditProblem, SqlStore

__all__ = ["export_audit_checkpoint", "sign_audit_checkpoint", "verify_audit_log"]

_log = structlog.get_logger(__name__)


def verify_audit_log(config: NodeConfig, checkpoint_files: Sequence[Path] = ()) -> AuditProblem | None:
    """The first thing wrong with the audit log of `config`'s store (naming the first bad entry), or None:
    its hash chain (keyed entries with the audit key in the key folder), every checkpoint the node signed and
    stored, and the checkpoints in `checkpoint_files` (held outside the node)."""
    outside = []
    for path in checkpoint_files:
        try:
            outside.append(Checkpoint.from_json(path.read_text()))
        except (OSError, UnicodeDecodeError, CheckpointError) as error:
            raise InvalidArgument(f"{path}: {error}", field="--checkpoint") from None
    if outside and config.exchange is None:
        raise InvalidArgument(
            "checkpoints are signed with the exchange keys: the config has no [exchange]", field="exchange"
        )
    engine = open_store_engine(config)
    try:
        migrate(engine)  # (the schema a node of this version keeps; the entries are only read)
        store = SqlStore(engine, audit_key=audit_key(config))
        with store.transaction(read_only=True) as tx:
            stored = [Checkpoint.from_json(c) for c in tx.audit_checkpoints()]
        trusted: set[str] = set()
        if stored or outside:
            keys = node_keys(config, SystemClock())
            trusted = {k.key_id for k in (*keys.signing, *keys.retired_signing)}
        return store.audit_problem([*stored, *outside], trusted)
    finally:
        engine.dispose()


def export_audit_checkpoint(config: NodeConfig, clock: Clock | None = None) -> Checkpoint:
    """Sign a checkpoint of the audit log now (stored with the others) and return it, for export."""
    if config.exchange is None:
        raise InvalidArgument(
            "checkpoints are signed with the exchange keys: the config has no [exchange]", field="exchange"
        )
    clock = clock or SystemClock()
    engine = open_store_engine(config)
    try:
        migrate(engine)
        store = SqlStore(engine, audit_key=audit_key(config))
        return sign_audit_checkpoint(store, config.node_id, node_keys(config, clock), clock)
    finally:
        engine.dispose()


def sign_audit_checkpoint(store: SqlStore, node_id: str, keys: NodeKeys, clock: Clock) -> Checkpoint:
    """The audit log's entry count and head hash, signed with the node's Ed25519 key and stored."""
    key = next(k for k in keys.signing if k.algorithm == envelope_pb2.SIGNATURE_ALGORITHM_ED25519)
    with store.transaction() as tx:
        count, head = tx.audit_head()
        now = clock.now()
        checkpoint = Checkpoint.sign(key, node_id=node_id, entry_count=count, head_hash=head, signed_at=now)
        tx.add_audit_checkpoint(entry_count=count, head_hash=head, signed_at=now, checkpoint=checkpoint.to_json())
    _log.info("audit.checkpoint", entries=count)
    return checkpoint
