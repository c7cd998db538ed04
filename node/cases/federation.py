"""Referrals between hotlines, on the case side: withdrawing a referral this node made, and applying what
another node sent (a referral, a status update, a withdrawal) inside the exchange receiver's transaction.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

from uuid6 import uuid7

from node.cases.context import CaseContext
from node.cases.event_details import MessageDetails
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import Referral, StatusUpdate, Withdrawal, dump_body
from node.cases.exchange_rules import (
    ReferralVerdict,
    StatusVerdict,
    check_move,
    referral_verdict,
    status_verdict,
    withdrawal_verdict,
)
from node.cases.model import (
    CLOSED_STATES,
    Action,
    ActionType,
    Classification,
    HashProvenance,
    HostingRecord,
    Item,
    ItemState,
    Principal,
    Route,
    RoutingDetails,
)
from node.cases.opinions import Opinions
from node.cases.ports import CaseTransaction
from node.cases.refusals import state_metadata
from node.cases.requests import (
    check_country,
    check_hosting_facts,
    check_node_id,
    check_note,
    check_request_id,
    check_text,
)
from node.cases.routing import decide_route
from node.cases.urls import normalise_url
from node.cases.workflow import ItemWorkflow
from node.errors import FailedPrecondition, InvalidArgument, Reason
from node.hosting import HostingFacts

__all__ = ["Federation"]

_MAX_ITEM_ID_CHARS = 36  # a UUID, as every node makes them


class Federation:
    def __init__(self, ctx: CaseContext, workflow: ItemWorkflow, opinions: Opinions) -> None:
        self._ctx = ctx
        self._workflow = workflow
        self._opinions = opinions

    def reroute_from(self, peer: str, reason: str) -> list[str]:
        """The referrals this node made to `peer` that were never delivered (it was revoked meanwhile): each
        message is set aside (rejected with `reason`, never sent) and its item routed again with the current
        membership: to the fallback member, or kept here (the fallback's `direct`). An `item.rerouted` event
        for each. The ids of the items routed again."""
        now = self._ctx.clock.now()
        rerouted = []
        with self._ctx.store.transaction() as tx:
            for item_id in tx.cancel_pending_referrals(peer, f"REROUTED: {reason}"):
                item = self._ctx.load(tx, item_id, for_update=True)
                if item.origin_node or item.state is not ItemState.REFERRED or item.referred_to != peer:
                    continue
                self._workflow.route_txn(tx, item, now)
                tx.update_item(item)
                detail = f"from {peer} ({reason}) to {item.referred_to or 'this node'}"
                routed = RoutingDetails(
                    item.route or Route.FALLBACK_DIRECT, item.hosting_country or "", item.referred_to
                )
                self._ctx.event(tx, EventKind.ITEM_REROUTED, now, item=item, detail=detail, details=routed)
                tx.append_audit(at=now, actor="exchange", action="Reroute", subject=item_id, detail=detail[:500])
                rerouted.append(item_id)
        if rerouted:
            self._ctx.committed()
        return rerouted

    def withdraw_referral(self, principal: Principal, item_id: str, reason: str, request_id: str = "") -> Item:
        """The originator takes a referral back: the item closes as WITHDRAWN and the assignee is told."""
        request_id = check_request_id(request_id)
        if not reason.strip():
            raise InvalidArgument("a withdrawal needs a reason", field="reason", reason=Reason.REQUIRED_FIELD)
        check_note(reason, field="reason")
        with self._ctx.command(principal, "WithdrawReferral", request_id, item_id, reason) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return self._ctx.load(tx, cmd.previous)
            item = self._ctx.load(tx, item_id, for_update=True)
            if item.origin_node or item.state is not ItemState.REFERRED:
                raise FailedPrecondition(
                    f"only a referral this node made, still open, can be withdrawn; the item is {item.state}",
                    field="item_id",
                    reason=Reason.ALREADY_CLOSED if item.state in CLOSED_STATES else Reason.WRONG_STATE,
                    metadata=state_metadata(item.state, [ItemState.REFERRED]),
                )
            assignee = item.assigned_node
            self._workflow.enqueue_txn(
                tx, item, assignee, Withdrawal(self._ctx.settings.node_id, item.item_id, reason), now
            )
            item.assigned_node = self._ctx.settings.node_id
            self._workflow.close_txn(tx, item, ItemState.WITHDRAWN, now)
            cmd.done(item, detail=f"from {assignee}")
        return item

    def recover_referral_txn(self, tx: CaseTransaction, peer: str, referral: Referral, referred_at: datetime) -> bool:
        """Re-create this node's item from its own referral to `peer`, lost in a restore (the caller verified this
        node's signature on it): referred to `peer`, at the status sequence the referral carried, so that the
        peer's status updates from there apply. Whether it was re-created (False: the item is here already)."""
        if referral.origin_node != self._ctx.settings.node_id or referral.referred_by:
            raise InvalidArgument("not a referral this node originated", field="referral.origin_node")
        if tx.get_item(referral.origin_item_id) is not None:
            return False
        now = self._ctx.clock.now()
        normalised = normalise_url(referral.url, field="referral.url")
        country = referral.hosting.country if referral.hosting else None
        decision = decide_route(
            self._ctx.settings.node_id, self._ctx.settings.jurisdiction, country or "", self._ctx.membership
        )
        item = Item(
            item_id=referral.origin_item_id,
            url=normalised.url,
            host=normalised.host,
            state=ItemState.REFERRED,
            assigned_node=peer,
            first_reported_at=referral.first_reported_at,
            created_at=referred_at,
            route=decision.route if decision.peer_node == peer else Route.REFERRAL,
            referred_to=peer,
            # As the referral carried it: who assessed it here is not in the referral.
            assessment=None
            if referral.assessment is None
            else dataclasses.replace(
                referral.assessment, assessed_by=self._ctx.settings.node_id, assessed_at=referred_at
            ),
            hosting=HostingRecord(referral.hosting, referred_at) if referral.hosting else None,
            hashes=list(referral.hashes),
            status_sequence=referral.next_status_sequence - 1,
        )
        tx.insert_item(item)
        tx.add_item_hashes(item.item_id, item.hashes, HashProvenance.CLAIMED)
        if item.hosting is not None:
            tx.insert_hosting(item.item_id, item.hosting)
        if item.assessment is not None:
            tx.add_assessment(item.item_id, item.assessment)
        detail = f"from {peer}'s copy of the referral of {referred_at.isoformat()}"
        self._ctx.event(
            tx,
            EventKind.REFERRAL_RECOVERED,
            now,
            item=item,
            detail=detail,
            details=MessageDetails(peer, message_kind="referral"),
        )
        tx.append_audit(at=now, actor="exchange", action="RecoverReferral", subject=item.item_id, detail=detail)
        return True

    def receive_referral_txn(self, tx: CaseTransaction, sender: str, referral: Referral) -> str:
        """Take on an item another hotline referred here. Runs inside the receiver's transaction."""
        now = self._ctx.clock.now()
        check_node_id(referral.origin_node, field="referral.origin_node")
        check_text(referral.origin_item_id, field="referral.origin_item_id", limit=_MAX_ITEM_ID_CHARS)
        existing = tx.find_item_by_origin(referral.origin_node, referral.origin_item_id, for_update=True)
        verdict = referral_verdict(me=self._ctx.settings.node_id, sender=sender, referral=referral, existing=existing)
        if existing is not None and verdict is ReferralVerdict.REPEAT:
            return existing.item_id  # the same referral again, under another message id
        normalised = normalise_url(referral.url, field="referral.url")
        facts = (
            check_hosting_facts(referral.hosting, field="referral.hosting")
            if referral.hosting
            else HostingFacts(None, None, None, None, False, "referral")
        )
        hosting = HostingRecord(dataclasses.replace(facts, source=f"referral:{sender}"), now)
        if existing is None:
            item = Item(
                item_id=str(uuid7()),
                url=normalised.url,
                host=normalised.host,
                state=ItemState.AWAITING_ASSESSMENT,
                assigned_node=self._ctx.settings.node_id,
                first_reported_at=referral.first_reported_at,
                created_at=now,
                hashes=list(referral.hashes),
                hash_provenance=dict.fromkeys(referral.hashes, HashProvenance.PEER),
                hosting=hosting,
                origin_node=referral.origin_node,
                origin_item_id=referral.origin_item_id,
                status_sequence=referral.next_status_sequence - 1,
                referred_by=sender,
            )
            tx.insert_item(item)
            tx.add_item_hashes(item.item_id, item.hashes, HashProvenance.PEER)
        else:  # it moved away from here earlier, and its origin refers it back
            item = existing
            item.assigned_node, item.referred_to, item.referred_by = self._ctx.settings.node_id, "", sender
            item.state, item.closed_at = ItemState.AWAITING_ASSESSMENT, None
            item.status_sequence = referral.next_status_sequence - 1
            item.hosting = hosting
        tx.insert_hosting(item.item_id, hosting)
        self._ctx.event(
            tx,
            EventKind.REFERRAL_RECEIVED,
            now,
            item=item,
            detail=f"from {sender} for {referral.origin_node}",
            details=MessageDetails(sender, message_kind="referral"),
        )
        origin = referral.assessment
        if origin is not None and origin.classification is Classification.BASELINE:
            # BASELINE is illegal everywhere and cannot be overruled: no second look needed.
            baseline = dataclasses.replace(origin, assessed_by=referral.origin_node, assessed_at=now, automatic=True)
            self._workflow.apply_assessment_txn(tx, item, baseline, now, actor=referral.origin_node)
        elif origin is not None:
            # Recorded for the analyst, who re-assesses under this jurisdiction's law.
            tx.add_assessment(
                item.item_id,
                dataclasses.replace(origin, assessed_by=referral.origin_node, assessed_at=now, automatic=True),
            )
            item.assessment = origin
        tx.update_item(item)
        tx.append_audit(
            at=now,
            actor=sender,
            action="ReceiveReferral",
            subject=item.item_id,
            detail=f"{referral.origin_node}/{referral.origin_item_id}",
        )
        return item.item_id

    def apply_status_update_txn(self, tx: CaseTransaction, sender: str, update: StatusUpdate) -> None:
        """Apply an assignee's status update to this node's item, in sequence order."""
        check_text(update.origin_item_id, field="origin_item_id", limit=_MAX_ITEM_ID_CHARS)
        if update.moved_to_country:
            check_country(update.moved_to_country, field="moved_to_country")
        now = self._ctx.clock.now()
        item = tx.get_item(update.origin_item_id, for_update=True)
        verdict = status_verdict(sender=sender, item=item, sequence=update.sequence)
        assert item is not None  # status_verdict refuses an unknown item
        if verdict in (StatusVerdict.DUPLICATE, StatusVerdict.IGNORE):
            return  # applied already, or withdrawn: nothing more to do
        if update.action is ActionType.MOVED:
            check_move(
                me=self._ctx.settings.node_id,
                sender=sender,
                item=item,
                update=update,
                membership=self._ctx.membership,
            )
        if verdict is StatusVerdict.BUFFER:
            tx.put_pending_update(item.item_id, update.sequence, sender, dump_body(update.to_json()), now)
            self._ctx.event(
                tx,
                EventKind.STATUS_BUFFERED,
                now,
                item=item,
                detail=f"#{update.sequence} from {sender}",
                details=MessageDetails(sender, message_kind="status_update", sequence=update.sequence),
            )
            tx.update_item(item)
            return
        self._apply_status_txn(tx, item, sender, update, now)
        while item.is_open:  # drain updates that were waiting for this one (none after one that closed it)
            following = tx.take_pending_update(item.item_id, item.status_sequence + 1, item.assigned_node)
            if following is None:
                break
            self._apply_status_txn(tx, item, item.assigned_node, StatusUpdate.from_json(json.loads(following)), now)
        tx.update_item(item)

    def _apply_status_txn(
        self, tx: CaseTransaction, item: Item, sender: str, update: StatusUpdate, now: datetime
    ) -> None:
        item.status_sequence = update.sequence
        at = update.occurred_at
        detail = f"#{update.sequence} {sender}: {update.action or 'assessed'} {update.classification or ''}".strip()
        if update.action is not None:
            action = Action(
                str(uuid7()),
                item.item_id,
                update.action,
                at,
                sender,
                f"status update #{update.sequence}",
                update.moved_to_country,
            )
            tx.insert_action(action)
            item.actions.append(action)
        if update.action is ActionType.LEA_NOTIFIED:
            item.lea_notified_at = item.lea_notified_at or at
        elif update.action is ActionType.HP_NOTIFIED:
            item.ntd_sent_at = at
        elif update.action is ActionType.CONTENT_REMOVED:
            self._workflow.close_txn(tx, item, ItemState.CLOSED_REMOVED, at)
        elif update.action is ActionType.CONTENT_UNAVAILABLE:
            self._workflow.close_txn(tx, item, ItemState.CLOSED_UNAVAILABLE, at)
        elif update.action is ActionType.NOT_ILLEGAL:
            self._workflow.close_txn(tx, item, ItemState.CLOSED_NOT_ILLEGAL, at)
        elif update.action is ActionType.MOVED:
            self._workflow.apply_move_txn(tx, item, sender, update, now)
        applied = MessageDetails(sender, message_kind="status_update", sequence=update.sequence)
        self._ctx.event(tx, EventKind.STATUS_APPLIED, now, item=item, detail=detail, details=applied)
        if update.classification is not None:
            self._opinions.record_txn(tx, item, sender, update.classification, now)

    def apply_withdrawal_txn(self, tx: CaseTransaction, sender: str, withdrawal: Withdrawal) -> None:
        """The originator withdrew its referral: stop work, keep the item as a tombstone. Only the origin
        withdraws (a withdrawal names the item by the sender's own item id)."""
        check_text(withdrawal.origin_item_id, field="origin_item_id", limit=_MAX_ITEM_ID_CHARS)
        check_note(withdrawal.reason, field="reason")
        now = self._ctx.clock.now()
        item = tx.find_item_by_origin(sender, withdrawal.origin_item_id, for_update=True)
        elsewhere = item is None and tx.item_id_held_for_another_origin(withdrawal.origin_item_id, sender)
        if withdrawal_verdict(item=item, origin_elsewhere=elsewhere):
            assert item is not None
            item.assigned_node = self._ctx.settings.node_id
            self._workflow.close_txn(tx, item, ItemState.WITHDRAWN, now)
            tx.update_item(item)
        assert item is not None
        tx.append_audit(
            at=now, actor=sender, action="ApplyWithdrawal", subject=item.item_id, detail=withdrawal.reason[:200]
        )
