"""Integrator access: bearer tokens with roles. Tokens are stored hashed; the secret is shown once.

A presented token reads `hx_<token id>_<secret>`. The id finds the record; the secret's SHA-256 must match.
The secret is 256 random bits, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from node.cases.model import Principal, Role
from node.clock import Clock
from node.errors import InvalidArgument, NotFound, Unauthenticated

__all__ = ["AccessService", "StoredToken", "TokenStore", "TokenTransaction", "hash_secret"]

_PRESENTED = re.compile(r"^hx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class StoredToken:
    token_id: str
    name: str
    secret_hash: str
    roles: frozenset[Role]
    created_at: datetime
    revoked_at: datetime | None = None


class TokenTransaction(Protocol):
    def insert_token(self, token: StoredToken) -> None: ...
    def get_token(self, token_id: str) -> StoredToken | None: ...
    def token_name_taken(self, name: str) -> bool: ...
    def list_tokens(self, after_token_id: str, limit: int) -> list[StoredToken]: ...
    def revoke_token(self, token_id: str, at: datetime) -> None: ...
    def append_audit(self, *, at: datetime, actor: str, action: str, subject: str, detail: str) -> None: ...


class TokenStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[TokenTransaction]: ...


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessService:
    def __init__(self, store: TokenStore, clock: Clock, monotonic: Callable[[], float] = time.monotonic) -> None:
        """`monotonic` times the token cache (a virtual-time loop's clock under the simulator)."""
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, StoredToken]] = {}
        self._lock = threading.Lock()

    def create_token(self, actor: str, name: str, roles: Iterable[Role]) -> tuple[StoredToken, str]:
        """Returns the stored token and the presented bearer string, which is never stored."""
        if not _NAME.match(name):
            raise InvalidArgument("must be 1-100 characters: letters, digits, '.', '_' or '-'", field="name")
        role_set = frozenset(roles)
        if not role_set:
            raise InvalidArgument("a token needs at least one role", field="roles")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        token = StoredToken(token_id, name, hash_secret(secret), role_set, now)
        with self._store.transaction() as tx:
            if tx.token_name_taken(name):
                raise InvalidArgument(f"a token named {name!r} exists already", field="name")
            tx.insert_token(token)
            tx.append_audit(
                at=now,
                actor=actor,
                action="CreateToken",
                subject=token_id,
                detail=f"{name} roles={','.join(sorted(role_set))}",
            )
        return token, f"hx_{token_id}_{secret}"

    def revoke_token(self, actor: str, token_id: str) -> StoredToken:
        now = self._clock.now()
        with self._store.transaction() as tx:
            token = tx.get_token(token_id)
            if token is None:
                raise NotFound(f"no token {token_id!r}", field="token_id")
            tx.revoke_token(token_id, now)
            tx.append_audit(at=now, actor=actor, action="RevokeToken", subject=token_id, detail=token.name)
            revoked = tx.get_token(token_id)
        with self._lock:
            self._cache.pop(token_id, None)
        assert revoked is not None
        return revoked

    def list_tokens(self, after_token_id: str, limit: int) -> list[StoredToken]:
        with self._store.transaction(read_only=True) as tx:
            return tx.list_tokens(after_token_id, limit)

    def authenticate_cached(self, presented: str) -> Principal | None:
        """The caller, when the token is in the cache: no I/O, so it can run on the event loop."""
        match = _PRESENTED.match(presented)
        if match is None:
            raise Unauthenticated("malformed bearer token")
        with self._lock:
            cached = self._cache.get(match.group(1))
        if cached is None or self._monotonic() - cached[0] >= _CACHE_SECONDS:
            return None
        return self._check(cached[1], match.group(2))

    def authenticate(self, presented: str) -> Principal:
        match = _PRESENTED.match(presented)
        if match is None:
            raise Unauthenticated("malformed bearer token")
        token_id, secret = match.groups()
        return self._check(self._lookup(token_id), secret)

    def _check(self, token: StoredToken | None, secret: str) -> Principal:
        if token is None or not hmac.compare_digest(token.secret_hash, hash_secret(secret)):
            raise Unauthenticated("unknown bearer token")
        if token.revoked_at is not None:
            raise Unauthenticated("the bearer token was revoked")
        return Principal(token.token_id, token.name, token.roles)

    def _lookup(self, token_id: str) -> StoredToken | None:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(token_id)
        if cached is not None and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
        with self._store.transaction(read_only=True) as tx:
            token = tx.get_token(token_id)
        if token is not None:
            with self._lock:
                self._cache[token_id] = (now, token)
        return token
