"""Peer opinions: the hotline an item was referred to re-assesses it under its own law, and its classification
comes back in its signed status updates. Against this node's own classification that is an opinion on the item,
and on the hashes that went with the referral: it confirms, or it disagrees. The latest opinion per item and
peer is kept, put on the item's timeline (with the known entries of its hashes), and counted per peer.

Only the peer the item is assigned to can send it (node.cases.exchange_rules checks every status update), so
a peer gives opinions only on items it was referred. DOUBTFUL is no opinion yet.
"""

from __future__ import annotations

from datetime import datetime

from node.cases.context import CaseContext
from node.cases.event_kinds import EventKind
from node.cases.hash_trust import describe
from node.cases.model import Classification, Item, OpinionDetails
from node.cases.ports import CaseTransaction, PeerOpinions

__all__ = ["Opinions"]


class Opinions:
    def __init__(self, ctx: CaseContext) -> None:
        self._ctx = ctx

    def record_txn(
        self, tx: CaseTransaction, item: Item, sender: str, classification: Classification, now: datetime
    ) -> None:
        ours = item.assessment.classification if item.assessment else None
        if item.origin_node or ours is None or classification is Classification.DOUBTFUL:
            return  # not this node's referral, never classified here, or no opinion yet
        agrees = classification is ours
        if not tx.put_peer_opinion(item.item_id, sender, classification, agrees, now):
            return  # said so already
        known = [describe(e) for h in item.hashes for e in tx.find_known_hashes(h)]
        verb = "confirms" if agrees else "disagrees"
        detail = f"{sender} {verb}: {classification} (ours {ours}) on the item and its {len(item.hashes)} hash(es)"
        if known:
            detail += ": " + "; ".join(known)
        opinion = OpinionDetails(sender, agrees, classification)
        self._ctx.event(tx, EventKind.ITEM_PEER_OPINION, now, item=item, detail=detail[:500], details=opinion)

    def counts(self) -> list[PeerOpinions]:
        with self._ctx.store.transaction(read_only=True) as tx:
            return tx.peer_opinion_counts()
