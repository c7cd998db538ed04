"""The domestic flow on an item this node is assigned: the actions taken on it (LEA notified, NTD sent,
removed, gone, moved), which state allows which, and the LEA's holds on the NTD.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from uuid6 import uuid7

from node.cases.context import CaseContext
from node.cases.event_details import HoldDetails
from node.cases.event_kinds import EventKind
from node.cases.model import CLOSED_STATES, ActionType, Hold, Item, ItemState, Principal
from node.cases.refusals import hold_metadata, state_metadata
from node.cases.requests import NewAction, check_country, check_note, check_request_id, check_text
from node.cases.results import RecordedAction
from node.cases.workflow import ItemWorkflow
from node.errors import FailedPrecondition, InvalidArgument, Reason

__all__ = ["Actions"]

# The states in which each action an analyst records is allowed (NOT_ILLEGAL is recorded by assessing).
_ALLOWED_IN: dict[ActionType, tuple[ItemState, ...]] = {
    ActionType.LEA_NOTIFIED: (ItemState.AWAITING_LEA,),
    ActionType.HP_NOTIFIED: (ItemState.LEA_NOTIFIED,),
    ActionType.CONTENT_REMOVED: (ItemState.AWAITING_LEA, ItemState.LEA_NOTIFIED, ItemState.NTD_SENT),
    ActionType.CONTENT_UNAVAILABLE: (ItemState.AWAITING_LEA, ItemState.LEA_NOTIFIED, ItemState.NTD_SENT),
    ActionType.MOVED: (ItemState.AWAITING_LEA, ItemState.LEA_NOTIFIED, ItemState.NTD_SENT),
}

_HOLD_STATES = (ItemState.AWAITING_LEA, ItemState.LEA_NOTIFIED)

_log = structlog.get_logger(__name__)


class Actions:
    def __init__(self, ctx: CaseContext, workflow: ItemWorkflow) -> None:
        self._ctx = ctx
        self._workflow = workflow

    def record_action(
        self, principal: Principal, item_id: str, action: NewAction, request_id: str = ""
    ) -> RecordedAction:
        request_id = check_request_id(request_id)
        check_note(action.note, field="note")
        if action.type is ActionType.NOT_ILLEGAL:
            raise InvalidArgument("NOT_ILLEGAL is recorded by assessing the item as NOT_ILLEGAL", field="type")
        moved_to = ""
        if action.type is ActionType.MOVED:
            moved_to = check_country(action.moved_to_country, field="moved_to_country")
        elif action.moved_to_country:
            raise InvalidArgument("only a MOVED action has a moved_to_country", field="moved_to_country")
        with self._ctx.command(principal, "RecordAction", request_id, item_id, action) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                item_id, action_id = RecordedAction.ids_of(cmd.previous)
                item = self._ctx.load(tx, item_id)
                return RecordedAction(item, next(a for a in item.actions if a.action_id == action_id))
            item = cmd.assigned_item(item_id)
            self._check_action_allowed(item, action.type, now)
            # The state changes that no later event announces come first, so the action's event carries them.
            if action.type is ActionType.LEA_NOTIFIED:
                item.lea_notified_at = now
                item.state = ItemState.LEA_NOTIFIED
            elif action.type is ActionType.HP_NOTIFIED:
                item.ntd_sent_at = now
                item.deadline_at = now + self._ctx.settings.removal_deadline
                item.state = ItemState.NTD_SENT
            recorded = self._workflow.record_action_txn(
                tx, item, action.type, now, actor=principal.name, note=action.note, moved_to_country=moved_to
            )
            if self._ctx.notices is not None:  # the LEA notice or the NTD, queued with the action
                self._ctx.notices.action_recorded(tx, item, action.type, now)
            if action.type is ActionType.CONTENT_REMOVED:
                self._workflow.close_txn(tx, item, ItemState.CLOSED_REMOVED, now)
            elif action.type is ActionType.CONTENT_UNAVAILABLE:
                self._workflow.close_txn(tx, item, ItemState.CLOSED_UNAVAILABLE, now)
            elif action.type is ActionType.MOVED:
                self._workflow.move_txn(tx, item, moved_to, now, actor=principal.name, note=action.note)
            if action.type is not ActionType.MOVED:  # a move reports itself
                self._workflow.report_status_txn(tx, item, now, action.type)
            result = RecordedAction(item, recorded)
            cmd.done(item, detail=str(action.type), result_id=result.result_id)
        _log.info("action.recorded", item_id=item.item_id, action=str(action.type))
        return result

    def _check_action_allowed(self, item: Item, action: ActionType, now: datetime) -> None:
        if item.state not in _ALLOWED_IN[action]:
            wanted = " or ".join(_ALLOWED_IN[action])
            raise FailedPrecondition(
                f"{action} needs the item in state {wanted}; it is {item.state}",
                field="type",
                reason=Reason.ALREADY_CLOSED if item.state in CLOSED_STATES else Reason.WRONG_STATE,
                metadata=state_metadata(item.state, _ALLOWED_IN[action]),
            )
        if action is ActionType.HP_NOTIFIED and item.active_hold and item.active_hold.active_at(now):
            until = item.active_hold.until.isoformat() if item.active_hold.until else "it is released"
            raise FailedPrecondition(
                f"an LEA hold is active until {until}; the NTD must wait",
                field="type",
                reason=Reason.HOLD_ACTIVE,
                metadata=hold_metadata(item.active_hold),
            )

    def place_hold(
        self, principal: Principal, item_id: str, until: datetime | None, reference: str, request_id: str = ""
    ) -> Item:
        request_id = check_request_id(request_id)
        check_text(reference, field="reference")
        now = self._ctx.clock.now()
        if until is not None and until <= now:
            raise InvalidArgument("must be in the future", field="until", reason=Reason.TIMESTAMP_OUT_OF_RANGE)
        with self._ctx.command(principal, "PlaceHold", request_id, item_id, until, reference, now=now) as cmd:
            tx = cmd.tx
            if cmd.previous is not None:
                return self._ctx.load(tx, cmd.previous)
            item = cmd.assigned_item(item_id)
            if item.state not in _HOLD_STATES:
                raise FailedPrecondition(
                    f"a hold is placed before the NTD; the item is {item.state}",
                    field="item_id",
                    reason=Reason.ALREADY_CLOSED if item.state in CLOSED_STATES else Reason.WRONG_STATE,
                    metadata=state_metadata(item.state, _HOLD_STATES),
                )
            if item.active_hold and item.active_hold.active_at(now):
                raise FailedPrecondition(
                    "a hold is already active; release it first",
                    field="item_id",
                    reason=Reason.HOLD_ACTIVE,
                    metadata=hold_metadata(item.active_hold),
                )
            hold = Hold(str(uuid7()), item.item_id, now, until, reference, principal.name)
            tx.insert_hold(hold)
            item.active_hold = hold
            self._ctx.event(
                tx,
                EventKind.HOLD_PLACED,
                now,
                item=item,
                detail=f"until {until.isoformat() if until else 'released'}",
                details=HoldDetails(hold.hold_id, until),
            )
            cmd.done(item, detail=hold.hold_id)
        return item

    def release_hold(self, principal: Principal, item_id: str, request_id: str = "") -> Item:
        request_id = check_request_id(request_id)
        with self._ctx.command(principal, "ReleaseHold", request_id, item_id) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return self._ctx.load(tx, cmd.previous)
            item = cmd.assigned_item(item_id)
            hold = item.active_hold
            if hold is None or not hold.active_at(now):
                raise FailedPrecondition("the item has no active hold", field="item_id", reason=Reason.NO_ACTIVE_HOLD)
            tx.release_hold(hold.hold_id, now)
            item.active_hold = None
            self._ctx.event(
                tx,
                EventKind.HOLD_RELEASED,
                now,
                item=item,
                detail=hold.hold_id,
                details=HoldDetails(hold.hold_id, hold.until),
            )
            cmd.done(item, detail=hold.hold_id)
        return item
