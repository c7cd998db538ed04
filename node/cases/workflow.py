"""The transitions of an item that several use cases share, each run in the caller's transaction: applying
an assessment, routing (and referring), recording an action, closing, moving, and queueing a message for
another node (a referral, or a status update for the node that referred the item here).

The MOVED rule lives here, both sides of it: the assignee that finds the content hosted elsewhere (move_txn;
route_txn reports the MOVED update for an item referred here that goes on), and the originator that learns it
from the MOVED status update (apply_move_txn) and refers the item to its new host. The authority rules that
update meets first are node.cases.exchange_rules.
"""

from __future__ import annotations

from datetime import datetime

from uuid6 import uuid7

from node.cases.context import CaseContext
from node.cases.event_details import ActionDetails, AssessmentDetails, MessageDetails, RoutingDetails
from node.cases.event_kinds import EventKind
from node.cases.exchange_messages import ExchangeMessage, Referral, StatusUpdate, dump_body
from node.cases.model import (
    Action,
    ActionType,
    Assessment,
    Classification,
    HostingRecord,
    Item,
    ItemState,
    OutboxMessage,
    Route,
)
from node.cases.ports import CaseTransaction
from node.cases.routing import decide_route
from node.hosting import HostingFacts

__all__ = ["ItemWorkflow"]


class ItemWorkflow:
    def __init__(self, ctx: CaseContext) -> None:
        self._ctx = ctx

    def apply_assessment_txn(
        self, tx: CaseTransaction, item: Item, assessment: Assessment, now: datetime, *, actor: str
    ) -> None:
        """Apply an assessment whose id no one needs: its row is written behind (CaseTransaction.add_assessment),
        so that a new item's rows and its update after the assessment are written as one insert."""
        tx.add_assessment(item.item_id, assessment)
        self._assessed_txn(tx, item, assessment, now, actor=actor)

    def apply_assessment_with_id_txn(
        self, tx: CaseTransaction, item: Item, assessment: Assessment, now: datetime, *, actor: str
    ) -> int:
        """apply_assessment_txn, for a caller that needs the stored assessment's id."""
        assessment_id = tx.insert_assessment(item.item_id, assessment)
        self._assessed_txn(tx, item, assessment, now, actor=actor)
        return assessment_id

    def _assessed_txn(
        self, tx: CaseTransaction, item: Item, assessment: Assessment, now: datetime, *, actor: str
    ) -> None:
        item.assessment = assessment
        self._ctx.event(
            tx,
            EventKind.ITEM_ASSESSED,
            now,
            item=item,
            detail=str(assessment.classification),
            details=AssessmentDetails(assessment.classification, assessment.automatic),
        )
        if assessment.classification is Classification.NOT_ILLEGAL:
            self.record_action_txn(tx, item, ActionType.NOT_ILLEGAL, now, actor=actor)
            self.close_txn(tx, item, ItemState.CLOSED_NOT_ILLEGAL, now)
        elif assessment.classification is Classification.DOUBTFUL:
            item.state = ItemState.AWAITING_ASSESSMENT
        elif item.state in (ItemState.AWAITING_ASSESSMENT, ItemState.AWAITING_HOSTING):
            self.route_txn(tx, item, now)
        if item.assigned_node != self._ctx.settings.node_id:
            return  # referred on (a MOVED update told the originator): its next host reports
        closed = assessment.classification is Classification.NOT_ILLEGAL
        self.report_status_txn(tx, item, now, ActionType.NOT_ILLEGAL if closed else None)

    def route_txn(self, tx: CaseTransaction, item: Item, now: datetime) -> None:
        country = item.hosting_country
        if not country:
            item.state = ItemState.AWAITING_HOSTING
            return
        decision = decide_route(
            self._ctx.settings.node_id, self._ctx.settings.jurisdiction, country, self._ctx.membership
        )
        item.route = decision.route
        if decision.route in (Route.DOMESTIC, Route.FALLBACK_DIRECT):
            item.assigned_node = self._ctx.settings.node_id
            item.referred_to = ""
            item.state = ItemState.LEA_NOTIFIED if item.lea_notified_at else ItemState.AWAITING_LEA
            routed = RoutingDetails(decision.route, country)
            self._ctx.event(
                tx, EventKind.ITEM_ROUTED, now, item=item, detail=f"{decision.route} {country}", details=routed
            )
            return
        item.assigned_node = decision.peer_node
        item.referred_to = decision.peer_node
        item.state = ItemState.REFERRED
        self._ctx.event(
            tx,
            EventKind.ITEM_ROUTED,
            now,
            item=item,
            detail=f"{decision.route} {country} -> {decision.peer_node}",
            details=RoutingDetails(decision.route, country, decision.peer_node),
        )
        if item.origin_node:
            # An item referred here goes on: only its originator refers it, once it has checked the move (see
            # node.cases.exchange_rules), or takes it back when the content is hosted in its own country.
            self.report_status_txn(
                tx, item, now, ActionType.MOVED, moved_to_country=country, reassigned_to=decision.peer_node
            )
            return
        self.enqueue_txn(tx, item, decision.peer_node, Referral.of_item(item, node_id=self._ctx.settings.node_id), now)

    def rehost_txn(self, tx: CaseTransaction, item: Item, record: HostingRecord) -> None:
        """From now on the item is hosted as `record` says."""
        tx.insert_hosting(item.item_id, record)
        item.hosting = record

    def move_txn(self, tx: CaseTransaction, item: Item, country: str, now: datetime, *, actor: str, note: str) -> None:
        """The assignee found the content hosted in `country` now: the NTD and its deadline no longer stand, the
        item is routed again (to the hotline of that country, or kept), and the originator is told who has it."""
        moved = HostingRecord(
            HostingFacts(ip=None, country=country, asn=None, organisation=None, cdn=False, source="moved"),
            now,
            overridden=True,
            override_reason=note or "content moved",
            actor=actor,
        )
        self.rehost_txn(tx, item, moved)
        item.ntd_sent_at = None
        item.deadline_at = None
        item.escalated_at = None
        self.route_txn(tx, item, now)  # for an item referred here that goes on, this reports the MOVED update
        if item.assigned_node == self._ctx.settings.node_id:
            # Still this node's (hosted in its own country, or no member serves the new one): no move to
            # report, as a node may not name itself the new assignee; the originator sees the new state.
            self.report_status_txn(tx, item, now, None)

    def apply_move_txn(self, tx: CaseTransaction, item: Item, sender: str, update: StatusUpdate, now: datetime) -> None:
        """The originator's side of a move: the item is hosted in the new country, and whoever the update names
        has it now; when that is this node, it takes the item back (no referral comes: see route_txn)."""
        moved = HostingRecord(
            HostingFacts(None, update.moved_to_country or None, None, None, False, f"moved:{sender}"), now
        )
        self.rehost_txn(tx, item, moved)
        if update.reassigned_to == self._ctx.settings.node_id:
            item.assigned_node, item.referred_to = self._ctx.settings.node_id, ""
            item.route = Route.DOMESTIC
            item.state = ItemState.AWAITING_LEA  # another country's police were told, not ours
        elif update.reassigned_to:
            # This node refers it on: the new assignee's first update follows the MOVED one.
            item.assigned_node = item.referred_to = update.reassigned_to
            referral = Referral.of_item(item, node_id=self._ctx.settings.node_id)
            self.enqueue_txn(tx, item, update.reassigned_to, referral, now)

    def record_action_txn(
        self,
        tx: CaseTransaction,
        item: Item,
        action_type: ActionType,
        now: datetime,
        *,
        actor: str,
        note: str = "",
        moved_to_country: str = "",
    ) -> Action:
        action = Action(str(uuid7()), item.item_id, action_type, now, actor, note, moved_to_country)
        tx.insert_action(action)
        item.actions.append(action)
        self._ctx.event(
            tx,
            EventKind.ACTION_RECORDED,
            now,
            item=item,
            detail=str(action_type),
            details=ActionDetails(action_type, actor, moved_to_country),
        )
        return action

    def close_txn(self, tx: CaseTransaction, item: Item, state: ItemState, now: datetime) -> None:
        item.state = state
        item.closed_at = now
        self._ctx.event(tx, EventKind.ITEM_CLOSED, now, item=item, detail=str(state))

    def reserve_status_sequence(self, item: Item) -> int:
        item.status_sequence += 1
        return item.status_sequence

    def report_status_txn(
        self,
        tx: CaseTransaction,
        item: Item,
        now: datetime,
        action: ActionType | None,
        *,
        moved_to_country: str = "",
        reassigned_to: str = "",
    ) -> None:
        """For an item another hotline referred here, queue a status update to that hotline."""
        if not item.origin_node or item.origin_node == self._ctx.settings.node_id:
            return
        update = StatusUpdate(
            origin_item_id=item.origin_item_id,
            sequence=self.reserve_status_sequence(item),
            assigned_node=self._ctx.settings.node_id,
            occurred_at=now,
            state=item.state,
            action=action,
            classification=item.classification,
            moved_to_country=moved_to_country,
            reassigned_to=reassigned_to,
        )
        self.enqueue_txn(tx, item, item.origin_node, update, now)

    def enqueue_txn(self, tx: CaseTransaction, item: Item, peer: str, body: ExchangeMessage, now: datetime) -> None:
        message = OutboxMessage(str(uuid7()), peer, body.kind, item.item_id, dump_body(body.to_json()), now)
        tx.enqueue_outbox(message)
        self._ctx.event(
            tx,
            EventKind.OUTBOX_QUEUED,
            now,
            item=item,
            detail=f"{body.kind} {message.message_id} -> {peer}",
            details=MessageDetails(peer, message.message_id, str(body.kind)),
        )
