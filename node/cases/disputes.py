"""Disputes of known-hash matches: an analyst who finds that a match classified an item wrongly disputes it, with a
reason. The item returns to assessment (so a BASELINE that came from a match can be overruled; one an analyst
gave stays final), the dispute goes on the item's timeline and is counted on the known-hash entry, and an entry
disputed `dispute_limit` times stops matching automatically until someone re-confirms it.
"""

from __future__ import annotations

import dataclasses

from node.cases.context import CaseContext
from node.cases.event_kinds import EventKind
from node.cases.hash_trust import describe
from node.cases.model import Item, ItemState, KnownHash, KnownHashDetails, Principal
from node.cases.requests import check_note, check_request_id
from node.errors import FailedPrecondition, InvalidArgument, NotFound

__all__ = ["Disputes"]

# A match may be disputed until the node told someone of it: police, a hosting provider or a peer hotline.
_DISPUTABLE = frozenset({ItemState.AWAITING_HOSTING, ItemState.AWAITING_LEA})


class Disputes:
    def __init__(self, ctx: CaseContext) -> None:
        self._ctx = ctx

    def dispute_known_match(self, principal: Principal, item_id: str, reason: str, request_id: str = "") -> Item:
        request_id = check_request_id(request_id)
        if not reason.strip():
            raise InvalidArgument("a dispute needs a reason", field="reason")
        check_note(reason, field="reason")
        with self._ctx.command(principal, "DisputeKnownMatch", request_id, item_id, reason) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return self._ctx.load(tx, cmd.previous)
            item = cmd.assigned_item(item_id, open_only=True)
            current = item.assessment
            if current is None or current.known_hash_id is None or not item.known_content:
                raise FailedPrecondition(
                    "the item's classification is not a known-hash match (an analyst's classification stands; "
                    "assess the item instead)",
                    field="item_id",
                )
            if item.state not in _DISPUTABLE:
                raise FailedPrecondition(
                    f"the match was already acted on ({item.state}): others were told; record what happened "
                    "or withdraw the referral",
                    field="item_id",
                )
            entry = tx.get_known_hash(current.known_hash_id)
            item.known_content = False
            item.state = ItemState.AWAITING_ASSESSMENT
            detail = f"known_hash={current.known_hash_id}: {reason}"
            disputed = KnownHashDetails.of(entry) if entry is not None else KnownHashDetails(current.known_hash_id)
            self._ctx.event(tx, EventKind.ITEM_MATCH_DISPUTED, now, item=item, detail=detail[:500], details=disputed)
            if entry is not None:  # None: the entry was dropped since (a lesson its analyst took back)
                disputes = tx.dispute_known_hash(entry.known_hash_id)
                limit = self._ctx.settings.known_hashes.dispute_limit
                detail = f"{describe(entry)} disputed ({disputes} of {limit}) on item {item.item_id}"
                kind = EventKind.KNOWN_HASH_SUSPENDED if disputes >= limit else EventKind.KNOWN_HASH_DISPUTED
                counted = dataclasses.replace(KnownHashDetails.of(entry), disputes=disputes)
                self._ctx.event(tx, kind, now, item=item, detail=detail, details=counted)
            cmd.done(item, detail=f"known_hash={current.known_hash_id}")
        return item

    def confirm_known_hash(self, principal: Principal, known_hash_id: int, request_id: str = "") -> KnownHash:
        """Re-confirm an entry: its disputes count from zero, and it matches automatically again."""
        request_id = check_request_id(request_id)
        with self._ctx.command(principal, "ConfirmKnownHash", request_id, known_hash_id) as cmd:
            tx, now = cmd.tx, cmd.now
            entry = tx.get_known_hash(known_hash_id)
            if entry is None:
                raise NotFound(f"no known hash {known_hash_id}", field="known_hash_id")
            if cmd.previous is None:
                tx.confirm_known_hash(known_hash_id)
                confirmed_entry = dataclasses.replace(KnownHashDetails.of(entry), disputes=0)
                self._ctx.event(
                    tx, EventKind.KNOWN_HASH_CONFIRMED, now, detail=describe(entry), details=confirmed_entry
                )
                cmd.done(subject=f"known_hash={known_hash_id}", detail=f"after {entry.disputes} dispute(s)")
            confirmed = tx.get_known_hash(known_hash_id)
        assert confirmed is not None
        return confirmed
