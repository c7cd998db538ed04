"""What a node opens from its config, whether it serves or an operator's command reads it: its database engine,
the keys in its key folder and the roster it trusts."""

from __future__ import annotations

import os
from pathlib import Path

from google.protobuf.message import DecodeError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from node.clock import Clock
from node.config import ExchangeConfig, NodeConfig
from node.crypto.audit import load_or_create_audit_key
from node.crypto.keystore import KeyStore, KeyStoreError, NodeKeys
from node.crypto.roster import PinnedAuthority, RosterError
from node.errors import InvalidArgument
from node.exchange.roster_state import RosterState
from node.store.engine import create_store_engine
from node.store.preflight import DatabaseNotReady, preflight, require_existing
from node.store.sql_store import SqlStore

__all__ = ["DatabaseNotReady", "audit_key", "load_trusted_roster", "node_keys", "open_store_engine"]


def open_store_engine(config: NodeConfig, *, create: bool = False) -> Engine:
    """The engine of `config`'s database, once it has answered; DatabaseNotReady (missing, unreachable) or
    InvalidArgument (an SQLite file open to other users) with the fix otherwise. `create`: a missing SQLite
    file is made (`migrate`, `serve`); every other command needs the database to be there."""
    url = config.effective_database_url()
    if not create:
        require_existing(make_url(url))
    engine = create_store_engine(url)
    try:
        preflight(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def load_trusted_roster(settings: ExchangeConfig, store: SqlStore, clock: Clock) -> RosterState:
    """The roster the node trusts: the stored chain, bootstrapped from the shipped roster file on first start
    (a newer file than the stored chain is installed as `roster apply` would)."""
    roster = RosterState(store, clock)
    pinned = PinnedAuthority(frozenset(settings.authority_key_ids), settings.authority_threshold)
    try:
        roster.bootstrap(Path(settings.roster_file).read_bytes(), pinned if settings.authority_key_ids else None)
    except OSError as error:
        raise InvalidArgument(f"cannot read the roster: {error}", field="exchange.roster_file") from None
    except (RosterError, DecodeError) as error:
        pin = isinstance(error, RosterError) and error.reason == "NOT_PINNED"
        where = "exchange.authority_key_ids" if pin else "exchange.roster_file"
        raise InvalidArgument(f"the roster is not trusted: {error}", field=where) from None
    return roster


def audit_key(config: NodeConfig) -> bytes | None:
    """The audit HMAC key in the key folder; a node without [exchange] has none (SHA-256 entries)."""
    if config.exchange is None:
        return None
    try:
        return load_or_create_audit_key(Path(config.exchange.key_dir))
    except (KeyStoreError, OSError) as error:
        raise InvalidArgument(str(error), field="exchange.key_dir") from None


def node_keys(config: NodeConfig, clock: Clock) -> NodeKeys:
    settings = config.exchange
    assert settings is not None
    passphrase = os.environ.get("HX_KEY_PASSPHRASE", "").encode() or None
    try:
        return KeyStore(Path(settings.key_dir), passphrase).load_or_create(
            config.node_id, clock.now(), post_quantum=settings.post_quantum
        )
    except (KeyStoreError, OSError) as error:
        raise InvalidArgument(str(error), field="exchange.key_dir") from None
