"""Integrator access: bearer tokens with roles. Tokens are stored hashed; the secret is shown once.

A presented token reads `hx_<token id>_<secret>`. The id finds the record; the secret's SHA-256 must match.
The secret is 256 random bits, so a fast hash is enough: there is nothing to brute-force.

Tokens age: an optional expiry, a last-used time (written at most once a LAST_USED_EVERY per token and
process; the node's `token_last_used_seconds`), and rotation without downtime (the previous secret stays valid
for an overlap). Records are cached for CACHE_SECONDS (`token_cache_seconds`), unknown ids too (a negative
cache), so a revocation on any node sharing the database takes effect everywhere within that bound (at once
in the process that made it), and an unknown id costs what a known one does: one lookup per bound, one
hash and two constant-time compares on every call.
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
from datetime import datetime, timedelta
from typing import Protocol

from node.cases.model import Principal, Role
from node.clock import Clock
from node.errors import InvalidArgument, NotFound, Reason, Unauthenticated

__all__ = [
    "CACHE_SECONDS",
    "LAST_USED_EVERY",
    "MAX_EXPIRES_IN",
    "MAX_OVERLAP",
    "TOKEN_EXPIRED",
    "TOKEN_REVOKED",
    "AccessService",
    "StoredToken",
    "TokenStore",
    "TokenTransaction",
    "hash_secret",
]

_PRESENTED = re.compile(r"^hx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_GROUP = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]{0,99})?$")
CACHE_SECONDS = 1.0
"""How long a token record (or an id's absence) is trusted before the database is asked again: the bound on
how late a revocation, expiry or rotation made on another node sharing the database takes effect here."""
LAST_USED_EVERY = timedelta(minutes=1)
"""A token's last-used time is written at most this often (per token and process)."""
MAX_EXPIRES_IN = timedelta(days=3650)
MAX_OVERLAP = timedelta(days=30)
TOKEN_EXPIRED = Reason.TOKEN_EXPIRED
TOKEN_REVOKED = Reason.TOKEN_REVOKED
_UNKNOWN = "unknown bearer token"
_NEVER_MATCHES = "0" * 64  # compared against when the id is unknown, so both paths do the same work


@dataclass(frozen=True, slots=True)
class StoredToken:
    token_id: str
    name: str
    secret_hash: str
    roles: frozenset[Role]
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    previous_secret_hash: str = ""
    """A rotated-out secret's hash, valid until previous_valid_until (the overlap); '' for none."""
    previous_valid_until: datetime | None = None
    group: str = ""


class TokenTransaction(Protocol):
    def insert_token(self, token: StoredToken) -> None: ...
    def get_token(self, token_id: str) -> StoredToken | None: ...
    def token_name_taken(self, name: str) -> bool: ...
    def list_tokens(self, after_token_id: str, limit: int) -> list[StoredToken]: ...
    def revoke_token(self, token_id: str, at: datetime) -> None: ...
    def rotate_token(
        self, token_id: str, secret_hash: str, previous_secret_hash: str, previous_valid_until: datetime
    ) -> None: ...
    def touch_token(self, token_id: str, at: datetime) -> None: ...
    def append_audit(self, *, at: datetime, actor: str, action: str, subject: str, detail: str) -> None: ...


class TokenStore(Protocol):
    def transaction(self, *, read_only: bool = False) -> AbstractContextManager[TokenTransaction]: ...


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_id_of(presented: str) -> str:
    """The token id a presented bearer string names ('' when it is malformed). Never the secret."""
    match = _PRESENTED.match(presented)
    return match.group(1) if match else ""


class AccessService:
    def __init__(
        self,
        store: TokenStore,
        clock: Clock,
        monotonic: Callable[[], float] | None = None,
        *,
        cache_seconds: float = CACHE_SECONDS,
        last_used_every: timedelta = LAST_USED_EVERY,
    ) -> None:
        """`monotonic` times the token cache (a virtual-time loop's clock under the simulator);
        `cache_seconds` and `last_used_every` are the node's `token_cache_seconds` and `token_last_used_seconds`."""
        self._store = store
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._last_used_every = last_used_every
        # token id -> (monotonic time read, the record or None for an unknown id)
        self._cache: dict[str, tuple[float, StoredToken | None]] = {}
        self._touched: dict[str, datetime] = {}  # token id -> last-used time written by this process
        # The module's clock by default, looked up at each read (tests replace it to cross the bound at once).
        self._monotonic = monotonic if monotonic is not None else lambda: _monotonic()
        self._lock = threading.Lock()

    def create_token(
        self,
        actor: str,
        name: str,
        roles: Iterable[Role],
        *,
        expires_in: timedelta | None = None,
        group: str = "",
    ) -> tuple[StoredToken, str]:
        """Returns the stored token and the presented bearer string, which is never stored."""
        if not _NAME.match(name):
            raise InvalidArgument("must be 1-100 characters: letters, digits, '.', '_' or '-'", field="name")
        if not _GROUP.match(group):
            raise InvalidArgument("must be empty or 1-100 characters: letters, digits, '.', '_' or '-'", field="group")
        role_set = frozenset(roles)
        if not role_set:
            raise InvalidArgument("a token needs at least one role", field="roles", reason=Reason.REQUIRED_FIELD)
        if expires_in is not None and not timedelta(0) < expires_in <= MAX_EXPIRES_IN:
            raise InvalidArgument(
                f"must be positive and at most {MAX_EXPIRES_IN.days} days",
                field="expires_in",
                metadata={"limit": str(MAX_EXPIRES_IN.days), "unit": "days"},
            )
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        expires_at = now + expires_in if expires_in is not None else None
        token = StoredToken(token_id, name, hash_secret(secret), role_set, now, expires_at=expires_at, group=group)
        with self._store.transaction() as tx:
            if tx.token_name_taken(name):
                raise InvalidArgument(f"a token named {name!r} exists already", field="name", reason=Reason.NAME_TAKEN)
            tx.insert_token(token)
            tx.append_audit(
                at=now,
                actor=actor,
                action="CreateToken",
                subject=token_id,
                detail=f"{name} roles={','.join(sorted(role_set))}"
                + (f" group={group}" if group else "")
                + (f" expires={expires_at.isoformat()}" if expires_at else ""),
            )
        self._forget(token_id)
        return token, f"hx_{token_id}_{secret}"

    def rotate_token(self, actor: str, token_id: str, overlap: timedelta) -> tuple[StoredToken, str]:
        """A new secret for the same token (same id, name, roles and group). The old secret stays valid for
        `overlap` (zero ends it at once), so clients can switch without downtime. Returns the new bearer string."""
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidArgument(f"must be between 0 and {MAX_OVERLAP.days} days", field="overlap")
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._store.transaction() as tx:
            token = tx.get_token(token_id)
            if token is None:
                raise NotFound(f"no token {token_id!r}", field="token_id")
            if token.revoked_at is not None:
                raise InvalidArgument("the token is revoked; create a new one", field="token_id")
            tx.rotate_token(token_id, hash_secret(secret), token.secret_hash, now + overlap)
            tx.append_audit(
                at=now, actor=actor, action="RotateToken", subject=token_id, detail=f"{token.name} overlap={overlap}"
            )
            rotated = tx.get_token(token_id)
        self._forget(token_id)
        assert rotated is not None
        return rotated, f"hx_{token_id}_{secret}"

    def revoke_token(self, actor: str, token_id: str) -> StoredToken:
        now = self._clock.now()
        with self._store.transaction() as tx:
            token = tx.get_token(token_id)
            if token is None:
                raise NotFound(f"no token {token_id!r}", field="token_id", reason=Reason.UNKNOWN_TOKEN)
            tx.revoke_token(token_id, now)
            tx.append_audit(at=now, actor=actor, action="RevokeToken", subject=token_id, detail=token.name)
            revoked = tx.get_token(token_id)
        self._forget(token_id)
        assert revoked is not None
        return revoked

    def list_tokens(self, after_token_id: str, limit: int) -> list[StoredToken]:
        with self._store.transaction(read_only=True) as tx:
            return tx.list_tokens(after_token_id, limit)

    def authenticate_cached(self, presented: str) -> Principal | None:
        """The caller, when the token's record is fresh in the cache and no last-used write is due: no I/O, so
        it can run on the event loop. None: call `authenticate` (off the loop)."""
        token_id, secret = self._parse(presented)
        with self._lock:
            cached = self._cache.get(token_id)
        if cached is None or self._monotonic() - cached[0] >= self._cache_seconds:
            return None
        principal = self._check(cached[1], secret)
        if self._touch_due(token_id):
            return None
        return principal

    def authenticate(self, presented: str) -> Principal:
        token_id, secret = self._parse(presented)
        principal = self._check(self._lookup(token_id), secret)
        if self._touch_due(token_id):
            now = self._clock.now()
            with self._store.transaction() as tx:
                tx.touch_token(token_id, now)
            with self._lock:
                self._touched[token_id] = now
        return principal

    def still_valid(self, token_id: str) -> bool:
        """Whether the token is neither revoked nor expired (from a record at most CACHE_SECONDS old). Open
        streams ask this to end when their token ends. May read the database: call it off the event loop."""
        token = self._lookup(token_id)
        return token is not None and token.revoked_at is None and not self._expired(token)

    def _parse(self, presented: str) -> tuple[str, str]:
        match = _PRESENTED.match(presented)
        if match is None:
            raise Unauthenticated("malformed bearer token")
        return match.group(1), match.group(2)

    def _check(self, token: StoredToken | None, secret: str) -> Principal:
        # The same work whether the id is known or not: one hash, two constant-time compares.
        presented = hash_secret(secret)
        current = hmac.compare_digest(token.secret_hash if token else _NEVER_MATCHES, presented)
        previous_hash = token.previous_secret_hash if token and token.previous_secret_hash else _NEVER_MATCHES
        previous = hmac.compare_digest(previous_hash, presented)
        if token is None or not (current or (previous and self._in_overlap(token))):
            raise Unauthenticated(_UNKNOWN)
        if token.revoked_at is not None:
            raise Unauthenticated("the bearer token was revoked", reason=TOKEN_REVOKED)
        if self._expired(token):
            raise Unauthenticated(
                "the bearer token expired; ask the node's operator for a new one", reason=TOKEN_EXPIRED
            )
        return Principal(token.token_id, token.name, token.roles, token.group)

    def _expired(self, token: StoredToken) -> bool:
        return token.expires_at is not None and self._clock.now() >= token.expires_at

    def _in_overlap(self, token: StoredToken) -> bool:
        return token.previous_valid_until is not None and self._clock.now() < token.previous_valid_until

    def _touch_due(self, token_id: str) -> bool:
        with self._lock:
            cached = self._cache.get(token_id)
            written = self._touched.get(token_id)
        if written is None and cached is not None and cached[1] is not None:
            written = cached[1].last_used_at
        return written is None or self._clock.now() - written >= self._last_used_every

    def _lookup(self, token_id: str) -> StoredToken | None:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(token_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        with self._store.transaction(read_only=True) as tx:
            token = tx.get_token(token_id)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._prune(now)
            self._cache[token_id] = (now, token)
        return token

    def _prune(self, now: float) -> None:
        """Drop stale entries (called with the lock held), so a flood of unknown ids cannot grow the cache."""
        for key in [k for k, (at, _) in self._cache.items() if now - at >= self._cache_seconds]:
            del self._cache[key]
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()

    def _forget(self, token_id: str) -> None:
        with self._lock:
            self._cache.pop(token_id, None)


_MAX_CACHED = 10_000
_monotonic = time.monotonic  # the cache's clock (tests replace it to cross the bound without waiting)
