"""Integrator tokens (node.access.TokenTransaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, func, insert, select, update

from node.access import StoredToken
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.rows import _token
from node.store.txn.transaction import TransactionBase

__all__ = ["TokensTxn"]


class TokensTxn(TransactionBase):
    """The tokens table of a transaction."""

    def insert_token(self, token: StoredToken) -> None:
        self.c.execute(
            insert(t.tokens),
            dict(
                token_id=token.token_id,
                name=token.name,
                secret_hash=token.secret_hash,
                roles=",".join(sorted(r.value for r in token.roles)),
                created_at=token.created_at,
                revoked_at=token.revoked_at,
                expires_at=token.expires_at,
                last_used_at=token.last_used_at,
                previous_secret_hash=token.previous_secret_hash,
                previous_valid_until=token.previous_valid_until,
                token_group=token.group,
            ),
        )

    def get_token(self, token_id: str) -> StoredToken | None:
        row = _TOKEN.first(self.c, {"k_token_id": token_id})
        return _token(row) if row else None

    def token_name_taken(self, name: str) -> bool:
        return self.c.execute(select(func.count()).where(t.tokens.c.name == name)).scalar_one() > 0

    def list_tokens(self, after_token_id: str, limit: int) -> list[StoredToken]:
        rows = self.c.execute(
            select(t.tokens).where(t.tokens.c.token_id > after_token_id).order_by(t.tokens.c.token_id).limit(limit)
        ).all()
        return [_token(row) for row in rows]

    def revoke_token(self, token_id: str, at: datetime) -> None:
        self.c.execute(
            update(t.tokens)
            .where(and_(t.tokens.c.token_id == token_id, t.tokens.c.revoked_at.is_(None)))
            .values(revoked_at=at)
        )

    def rotate_token(
        self, token_id: str, secret_hash: str, previous_secret_hash: str, previous_valid_until: datetime
    ) -> None:
        self.c.execute(
            update(t.tokens)
            .where(t.tokens.c.token_id == token_id)
            .values(
                secret_hash=secret_hash,
                previous_secret_hash=previous_secret_hash,
                previous_valid_until=previous_valid_until,
            )
        )

    def touch_token(self, token_id: str, at: datetime) -> None:
        _TOUCH_TOKEN.run(self.c, [{"k_token_id": token_id, "k_at": at}])


_TOKEN = Direct(select(t.tokens).where(t.tokens.c.token_id == bindparam("k_token_id")))
_TOUCH_TOKEN = Direct(
    update(t.tokens).where(t.tokens.c.token_id == bindparam("k_token_id")).values(last_used_at=bindparam("k_at"))
)
