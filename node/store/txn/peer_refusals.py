"""Peers' refusals of this node (suspended or revoked there), kept so that a restart honours them."""

from __future__ import annotations

import base64

from sqlalchemy import delete, insert, select

from node.exchange.ports import PeerRefusal
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import TransactionBase

__all__ = ["PeerRefusalsTxn"]


class PeerRefusalsTxn(TransactionBase):
    """The peer_refusals table of a transaction."""

    def put_peer_refusal(self, refusal: PeerRefusal) -> None:
        self.c.execute(delete(t.peer_refusals).where(t.peer_refusals.c.peer_node == refusal.peer))
        values = refusal._asdict()
        values["peer_node"] = values.pop("peer")
        values["reason_code"] = refusal.reason_code[:40]
        values["reason"] = refusal.reason[:500]
        values["refusal"] = base64.b64encode(refusal.refusal).decode()
        self.c.execute(insert(t.peer_refusals), values)

    def peer_refusals(self) -> list[PeerRefusal]:
        return [
            PeerRefusal(
                r.peer_node, r.reason_code, r.reason, r.roster_version, r.refused_at, base64.b64decode(r.refusal)
            )
            for r in _REFUSALS.all(self.c)
        ]

    def forget_peer_refusals(self, peer: str | None = None) -> int:
        query = delete(t.peer_refusals)
        if peer is not None:
            query = query.where(t.peer_refusals.c.peer_node == peer)
        return int(self.c.execute(query).rowcount or 0)


_REFUSALS = Direct(select(t.peer_refusals).order_by(t.peer_refusals.c.peer_node))
