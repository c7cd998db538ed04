"""Peer opinions: what a hotline that was referred an item made of it, per item and peer (the latest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, func, insert, select, update

from node.cases.model import Classification
from node.cases.ports import PeerOpinions
from node.store import schema as t
from node.store.direct import Direct
from node.store.txn.transaction import TransactionBase

__all__ = ["OpinionsTxn"]

_O = t.peer_opinions.c
_KEY = (_O.item_id == bindparam("k_item_id"), _O.peer_node == bindparam("k_peer_node"))
_OPINION = Direct(select(_O.classification).where(*_KEY))
_INSERT_OPINION = Direct(insert(t.peer_opinions))
_UPDATE_OPINION = Direct(update(t.peer_opinions).where(*_KEY))


class OpinionsTxn(TransactionBase):
    """The peer_opinions table of a transaction (node.cases.ports.CaseTransaction)."""

    def put_peer_opinion(
        self, item_id: str, peer_node: str, classification: Classification, agrees: bool, at: datetime
    ) -> bool:
        key = {"k_item_id": item_id, "k_peer_node": peer_node}
        current = _OPINION.scalar(self.c, key)
        if current == classification.value:
            return False
        values = dict(classification=classification.value, agrees=agrees, received_at=at)
        if current is None:
            _INSERT_OPINION.run(self.c, [dict(item_id=item_id, peer_node=peer_node, **values)])
        else:
            _UPDATE_OPINION.run(self.c, [{**key, **values}])
        return True

    def peer_opinion_counts(self) -> list[PeerOpinions]:
        rows = self.c.execute(
            select(
                _O.peer_node,
                func.sum(case((_O.agrees, 1), else_=0)).label("agreements"),
                func.sum(case((_O.agrees, 0), else_=1)).label("disagreements"),
            )
            .group_by(_O.peer_node)
            .order_by(_O.peer_node)
        ).all()
        return [PeerOpinions(r.peer_node, int(r.agreements), int(r.disagreements)) for r in rows]
