"""Assessment and hosting: an analyst classifies an item (and its hashes become known), the hosting is traced
again or overridden, and the item is routed on what is known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import structlog

from node.cases.context import CaseContext, unique_hashes
from node.cases.event_details import HostingDetails
from node.cases.event_kinds import EventKind
from node.cases.intake import trace_host
from node.cases.known_content import KnownContent
from node.cases.model import Assessment, Classification, HostingRecord, Item, ItemState, Principal
from node.cases.refusals import state_metadata
from node.cases.requests import HostingOverride, check_country, check_hosting_facts, check_note, check_request_id
from node.cases.workflow import ItemWorkflow
from node.errors import FailedPrecondition, InvalidArgument, Reason
from node.hashes import ContentHash

__all__ = ["Assessments"]

_log = structlog.get_logger(__name__)

# The states in which the hosting may be traced again or overridden: before the item is acted on.
_REHOST_STATES = (ItemState.AWAITING_ASSESSMENT, ItemState.AWAITING_HOSTING, ItemState.AWAITING_LEA)


class Assessments:
    def __init__(self, ctx: CaseContext, workflow: ItemWorkflow, known: KnownContent) -> None:
        self._ctx = ctx
        self._workflow = workflow
        self._known = known

    def assess(
        self,
        principal: Principal,
        item_id: str,
        assessment: Assessment,
        request_id: str = "",
        attested_hashes: Sequence[ContentHash] = (),
    ) -> Item:
        """The analyst's classification. `attested_hashes`: hashes the analyst's own tools computed of the content
        they assessed; the item has them as ANALYST hashes, which an illegal verdict teaches as known content."""
        request_id = check_request_id(request_id)
        check_note(assessment.note, field="assessment.note")
        attested = unique_hashes(attested_hashes)
        if len(attested) > self._ctx.settings.max_hashes_per_url:
            raise InvalidArgument(
                f"at most {self._ctx.settings.max_hashes_per_url} hashes per item",
                field="attested_hashes",
                reason=Reason.LIMIT_EXCEEDED,
                metadata={"limit": str(self._ctx.settings.max_hashes_per_url), "unit": "hashes"},
            )
        with self._ctx.command(principal, "AssessItem", request_id, item_id, assessment, attested) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return self._ctx.load(tx, cmd.previous)
            item = cmd.assigned_item(item_id, open_only=True)
            current = item.assessment
            if (
                current is not None
                and current.classification is Classification.BASELINE
                and (assessment.classification is not Classification.BASELINE)
                and not (current.known_hash_id is not None and not item.known_content)  # a disputed match
            ):
                how = "; dispute the known-hash match first (DisputeKnownMatch)" if current.automatic else ""
                raise FailedPrecondition(
                    f"a BASELINE classification cannot be overruled (got {assessment.classification}){how}",
                    field="assessment.classification",
                    reason=Reason.BASELINE_FINAL,
                    metadata=state_metadata(item.state),
                )
            if assessment.classification is Classification.DOUBTFUL and item.state is ItemState.NTD_SENT:
                # Back to assessment would drop the item out of the removal deadline while the NTD stands.
                raise FailedPrecondition(
                    "the NTD was sent: the item can no longer be DOUBTFUL; assess it NOT_ILLEGAL to close it, "
                    "or record what the hosting provider did",
                    field="assessment.classification",
                    reason=Reason.WRONG_STATE,
                    metadata=state_metadata(item.state),
                )
            assessment = dataclasses.replace(
                assessment,
                jurisdiction=self._ctx.settings.jurisdiction,
                assessed_by=principal.name,
                assessed_at=now,
                automatic=False,
            )
            self._known.attest_hashes_txn(tx, item, attested, now)
            assessment_id = self._workflow.apply_assessment_with_id_txn(tx, item, assessment, now, actor=principal.name)
            added = self._known.learn_hashes_txn(tx, item, assessment.classification, assessment_id, now)
            cmd.done(item, detail=str(assessment.classification))
            cmd.after_commit(lambda: self._known.index_pdq(added))
        _log.info("item.assessed", item_id=item.item_id, classification=str(assessment.classification))
        return item

    def trace_hosting(self, principal: Principal, item_id: str, request_id: str = "") -> Item:
        request_id = check_request_id(request_id)
        with self._ctx.store.transaction() as tx:
            host = self._ctx.load(tx, item_id).host
        facts = trace_host(self._ctx.resolver, host)
        record = HostingRecord(facts, self._ctx.clock.now())
        return self._set_hosting(principal, item_id, record, "TraceHosting", request_id)

    def override_hosting(
        self, principal: Principal, item_id: str, override: HostingOverride, request_id: str = ""
    ) -> Item:
        request_id = check_request_id(request_id)
        if not override.reason.strip():
            raise InvalidArgument("an override needs a reason", field="reason", reason=Reason.REQUIRED_FIELD)
        check_note(override.reason, field="reason")
        country = check_country(override.facts.country or "", field="hosting.country")
        facts = check_hosting_facts(dataclasses.replace(override.facts, country=country), field="hosting")
        facts = dataclasses.replace(facts, source="override")
        record = HostingRecord(
            facts, self._ctx.clock.now(), overridden=True, override_reason=override.reason, actor=principal.name
        )
        return self._set_hosting(principal, item_id, record, "OverrideHosting", request_id, override)

    def _set_hosting(
        self,
        principal: Principal,
        item_id: str,
        record: HostingRecord,
        method: str,
        request_id: str = "",
        override: HostingOverride | None = None,
    ) -> Item:
        with self._ctx.command(principal, method, request_id, item_id, override, now=record.traced_at) as cmd:
            tx, now = cmd.tx, cmd.now
            if cmd.previous is not None:
                return self._ctx.load(tx, cmd.previous)
            item = cmd.assigned_item(item_id, open_only=True)
            if item.state not in _REHOST_STATES:
                raise FailedPrecondition(
                    f"the item was already acted on ({item.state}); record a MOVED action instead",
                    field="item_id",
                    reason=Reason.WRONG_STATE,
                    metadata=state_metadata(item.state, _REHOST_STATES),
                )
            self._workflow.rehost_txn(tx, item, record)
            kind = EventKind.ITEM_HOSTING_OVERRIDDEN if record.overridden else EventKind.ITEM_HOSTING_TRACED
            hosting = HostingDetails(record.facts.country or "", record.overridden)
            self._ctx.event(tx, kind, now, item=item, detail=record.facts.country or "unknown", details=hosting)
            if item.state in (ItemState.AWAITING_HOSTING, ItemState.AWAITING_LEA):
                self._workflow.route_txn(tx, item, now)
            cmd.done(item, detail=record.facts.country or "unknown")
        return item
