"""The domestic flow on an item this node is assigned: the actions taken on it (LEA notified, NTD sent,
removed, gone, moved), which state allows which, and the LEA's holds on the NTD.

A hold belongs to the LEA token that placed it: only that token releases or clears it (another token of its
group too, with the node's `lea_group_may_release`). While a hold is active, removal waits: CONTENT_REMOVED is
refused (HOLD_ACTIVE) unless the LEA has recorded a clearance, and content found unavailable at the host is
recorded as an observation that leaves the item open and the hold in place. Once cleared, a removal closes
the item and ends the hold with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog
from uuid6 import uuid7

from node.cases.context import CaseContext, Command
from node.cases.event_details import HoldDetails
from node.cases.event_kinds import EventKind
from node.cases.model import CLOSED_STATES, ActionType, Hold, Item, ItemState, Principal
from node.cases.refusals import hold_metadata, state_metadata
from node.cases.requests import NewAction, check_country, check_note, check_request_id, check_text
from node.cases.results import RecordedAction
from node.cases.workflow import ItemWorkflow
from node.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Reason

__all__ = ["HOLD_ACTIVE", "NOT_OWNER", "NO_ACTIVE_HOLD", "Actions"]

HOLD_ACTIVE = Reason.HOLD_ACTIVE
"""An LEA hold forbids the call (an NTD, a removal) until it is released or, for a removal, cleared."""
NOT_OWNER = Reason.NOT_OWNER
"""The hold was placed by another LEA token (of another group, or the node does not let a group share)."""
NO_ACTIVE_HOLD = Reason.NO_ACTIVE_HOLD

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
                cmd.after_commit(functools.partial(self._ctx.deadlines.told, item.deadline_at))
            hold = item.active_hold if item.active_hold and item.active_hold.active_at(now) else None
            recorded = self._workflow.record_action_txn(
                tx, item, action.type, now, actor=principal.name, note=action.note, moved_to_country=moved_to
            )
            if self._ctx.notices is not None:  # the LEA notice or the NTD, queued with the action
                self._ctx.notices.action_recorded(tx, item, action.type, now)
            if action.type is ActionType.CONTENT_UNAVAILABLE and hold is not None and hold.cleared_at is None:
                # Gone at the host while police hold it: an observation only; the item and the hold stay.
                self._ctx.event(tx, EventKind.HOLD_REMOVAL_OBSERVED, now, item=item, detail=hold.hold_id)
                result = RecordedAction(item, recorded)
                cmd.done(item, detail=f"{action.type} (observed under hold)", result_id=result.result_id)
                _log.info("action.observed_under_hold", item_id=item.item_id, action=str(action.type))
                return result
            if hold is not None and action.type in (ActionType.CONTENT_REMOVED, ActionType.CONTENT_UNAVAILABLE):
                tx.release_hold(hold.hold_id, now)  # cleared, and the item closes: the hold ends with it
                item.active_hold = None
                self._ctx.event(
                    tx,
                    EventKind.HOLD_RELEASED,
                    now,
                    item=item,
                    detail=f"{hold.hold_id} (cleared; item closed)",
                    details=HoldDetails(hold.hold_id, hold.until),
                )
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
        hold = item.active_hold if item.active_hold and item.active_hold.active_at(now) else None
        if hold is None:
            return
        until = hold.until.isoformat() if hold.until else "it is released"
        if action is ActionType.HP_NOTIFIED:
            raise FailedPrecondition(
                f"an LEA hold is active until {until}; the NTD must wait",
                field="type",
                reason=HOLD_ACTIVE,
                metadata=hold_metadata(hold),
            )
        if action is ActionType.CONTENT_REMOVED and hold.cleared_at is None:
            raise FailedPrecondition(
                f"an LEA hold is active until {until} and the LEA has not cleared removal; record CONTENT_UNAVAILABLE "
                "if the content is gone at the host (the hold stays), or wait for the LEA's clearance or release",
                field="type",
                reason=HOLD_ACTIVE,
                metadata=hold_metadata(hold),
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
            hold = Hold(
                str(uuid7()), item.item_id, now, until, reference, principal.name, placed_by_group=principal.group
            )
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
        def release(cmd: Command, item: Item, hold: Hold) -> None:
            tx, now = cmd.tx, cmd.now
            tx.release_hold(hold.hold_id, now)
            item.active_hold = None
            released = HoldDetails(hold.hold_id, hold.until)
            self._ctx.event(tx, EventKind.HOLD_RELEASED, now, item=item, detail=hold.hold_id, details=released)

        return self._change_hold(principal, "ReleaseHold", item_id, request_id, release)

    def clear_removal(self, principal: Principal, item_id: str, request_id: str = "") -> Item:
        """The LEA's clearance: the content may be removed while the hold stands (the NTD still waits). A
        removal then closes the item and ends the hold. Clearing a cleared hold changes nothing."""

        def clear(cmd: Command, item: Item, hold: Hold) -> None:
            if hold.cleared_at is None:
                tx, now = cmd.tx, cmd.now
                tx.clear_hold(hold.hold_id, now, principal.name)
                item.active_hold = replace(hold, cleared_at=now, cleared_by=principal.name)
                cleared = HoldDetails(hold.hold_id, hold.until)
                self._ctx.event(tx, EventKind.HOLD_CLEARED, now, item=item, detail=hold.hold_id, details=cleared)

        return self._change_hold(principal, "ClearRemoval", item_id, request_id, clear)

    def _change_hold(
        self,
        principal: Principal,
        method: str,
        item_id: str,
        request_id: str,
        change: Callable[[Command, Item, Hold], None],
    ) -> Item:
        """The use case of a change to the item's active hold by a token that may make it (_owned_hold): the
        item as it is now when the request id was used before, else `change` applied, audited under the hold."""
        request_id = check_request_id(request_id)
        with self._ctx.command(principal, method, request_id, item_id) as cmd:
            if cmd.previous is not None:
                return self._ctx.load(cmd.tx, cmd.previous)
            item = cmd.assigned_item(item_id)
            hold = self._owned_hold(principal, item, cmd.now)
            change(cmd, item, hold)
            cmd.done(item, detail=hold.hold_id)
        return item

    def _owned_hold(self, principal: Principal, item: Item, now: datetime) -> Hold:
        """The item's active hold, if `principal` may release or clear it."""
        hold = item.active_hold
        if hold is None or not hold.active_at(now):
            raise FailedPrecondition("the item has no active hold", field="item_id", reason=NO_ACTIVE_HOLD)
        shared = self._ctx.settings.lea_group_may_release and principal.group == hold.placed_by_group
        if hold.placed_by != principal.name and not (shared and principal.group):
            raise PermissionDenied(
                "the hold was placed by another LEA token; only it"
                + (" or a token of its group" if self._ctx.settings.lea_group_may_release else "")
                + " may release or clear it",
                field="item_id",
                reason=NOT_OWNER,
            )
        return hold
