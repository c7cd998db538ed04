"""The case workflow of one node: intake, known content, assessment, hosting, routing and the domestic flow.

Every public method is one transaction: the state change, its events, its audit entry and any outbox
message commit together or not at all. Inputs are validated before anything is written. Methods whose
names end in `_txn` run inside a transaction their caller holds (the exchange receiver's, for messages
from other nodes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from uuid6 import uuid7

from node.cases.exchange_messages import ExchangeMessage, Referral, StatusUpdate, Withdrawal, dump_body
from node.cases.model import (
    CLOSED_STATES,
    Action,
    ActionType,
    Assessment,
    Classification,
    Event,
    Hold,
    HostingRecord,
    Item,
    ItemState,
    KnownHash,
    OutboxMessage,
    Principal,
    Report,
    ReportedItem,
    Reporter,
    Route,
)
from node.cases.ports import CaseStore, CaseTransaction, IdempotencyRecord, ItemReceipt, ItemTimes
from node.cases.requests import (
    MAX_NOTE_CHARS,
    MAX_TEXT_CHARS,
    HostingOverride,
    NewAction,
    NewReport,
    check_country,
    check_hosting_facts,
    check_node_id,
    check_request_id,
    check_text,
)
from node.cases.routing import Membership, decide_route
from node.cases.statistics import Statistics, compute_statistics
from node.cases.urls import normalise_url
from node.clock import Clock
from node.errors import Aborted, AlreadyExists, DomainError, FailedPrecondition, InvalidArgument, NotFound
from node.hashes import ContentHash, HashAlgorithm, PdqIndex, parse_hash
from node.hosting import HostingFacts, HostingResolver

__all__ = ["CaseService", "CaseSettings"]

_log = structlog.get_logger(__name__)

_MAX_ITEM_ID_CHARS = 36  # a UUID, as every node makes them
# The source of a known hash that an analyst's assessment of an item made known: "item:<item id>".
_ASSESSED_SOURCE = "item:"


@dataclass(frozen=True, slots=True)
class CaseSettings:
    node_id: str
    jurisdiction: str
    removal_deadline: timedelta = timedelta(hours=72)
    max_urls_per_report: int = 100
    max_hashes_per_url: int = 16


class CaseService:
    def __init__(
        self,
        *,
        settings: CaseSettings,
        store: CaseStore,
        clock: Clock,
        resolver: HostingResolver,
        membership: Membership,
        pdq_index: PdqIndex,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._s = settings
        self._store = store
        self._clock = clock
        self._resolver = resolver
        self._membership = membership
        self._pdq = pdq_index
        self._on_commit = on_commit

    @property
    def settings(self) -> CaseSettings:
        return self._s

    def set_membership(self, membership: Membership) -> None:
        """Use a new membership (a newer roster) from the next transaction on; no restart."""
        self._membership = membership

    # ------------------------------------------------------------------ intake

    def submit_report(self, principal: Principal, request: NewReport, request_id: str = "") -> Report:
        result = self.submit_reports([(principal, request, request_id)])[0]
        if isinstance(result, DomainError):
            raise result
        return result

    def submit_reports(self, batch: Sequence[tuple[Principal, NewReport, str]]) -> list[Report | DomainError]:
        """Take several reports in one transaction (group commit). Each gets its own result: a refused
        report does not affect the others. New URLs with no hashes are written in bulk."""
        now = self._clock.now()
        prepared: list[_PreparedReport | DomainError] = []
        for _principal, request, request_id in batch:
            try:
                prepared.append(self._prepare_report(request, request_id, now))
            except DomainError as error:
                prepared.append(error)
        # Hosting is traced outside the transaction: DNS may be slow, and it touches no state.
        hosts = {host for p in prepared if isinstance(p, _PreparedReport) for _, host, _ in p.urls}
        traces = {host: self._trace(host) for host in hosts}
        try:
            with self._store.transaction() as tx:
                results = self._submit_batch_txn(tx, [principal for principal, _, _ in batch], prepared, traces, now)
        except Aborted:
            if len(batch) == 1:
                raise
            # A conflict with a concurrent writer: take the reports one by one, so only a real conflict fails.
            return [self.submit_reports([one])[0] for one in batch]
        self._committed()
        stored = [r.report_id for r in results if isinstance(r, Report)]
        _log.info("reports.received", report_ids=stored, refused=len(results) - len(stored))
        return results

    def _prepare_report(self, request: NewReport, request_id: str, now: datetime) -> _PreparedReport:
        """Validate a report completely before anything is written."""
        request_id = check_request_id(request_id)
        if not request.urls:
            raise InvalidArgument("a report needs at least one URL", field="urls")
        if len(request.urls) > self._s.max_urls_per_report:
            raise InvalidArgument(
                f"at most {self._s.max_urls_per_report} URLs per report, got {len(request.urls)}",
                field="urls",
            )
        received_at = request.received_at or now
        if received_at > now + timedelta(minutes=5):
            raise InvalidArgument("must not be in the future", field="received_at")
        referrer = normalise_url(request.referrer_url, field="referrer_url").url if request.referrer_url else ""
        reporter = request.reporter
        check_text(reporter.name, field="reporter.name")
        check_text(reporter.email, field="reporter.email")
        check_text(reporter.reference, field="reporter.reference")
        if reporter.anonymous and (reporter.name or reporter.email):
            raise InvalidArgument("an anonymous reporter has no name or email", field="reporter.anonymous")
        parsed: list[tuple[str, str, list[ContentHash]]] = []
        for i, new_url in enumerate(request.urls):
            normalised = normalise_url(new_url.url, field=f"urls[{i}].url")
            if len(new_url.hashes) > self._s.max_hashes_per_url:
                raise InvalidArgument(f"at most {self._s.max_hashes_per_url} hashes per URL", field=f"urls[{i}].hashes")
            hashes = _unique(
                parse_hash(h.algorithm, h.value, field=f"urls[{i}].hashes[{j}]") for j, h in enumerate(new_url.hashes)
            )
            parsed.append((normalised.url, normalised.host, hashes))
        fingerprint = _fingerprint("SubmitReport", request) if request_id else ""
        return _PreparedReport(request_id, fingerprint, received_at, referrer, reporter, parsed)

    def _submit_batch_txn(
        self,
        tx: CaseTransaction,
        principals: Sequence[Principal],
        prepared: Sequence[_PreparedReport | DomainError],
        traces: dict[str, HostingFacts],
        now: datetime,
    ) -> list[Report | DomainError]:
        ready = [p for p in prepared if isinstance(p, _PreparedReport)]
        open_urls = tx.open_item_urls([url for p in ready for url, _, _ in p.urls])
        bulk = _BulkIntake()
        results: list[Report | DomainError] = []
        for principal, p in zip(principals, prepared, strict=True):
            if isinstance(p, DomainError):
                results.append(p)
                continue
            try:
                previous = self._replay(tx, principal, p.request_id, "SubmitReport", p.fingerprint)
            except DomainError as error:
                results.append(error)
                continue
            if previous is not None:
                bulk.flush(tx)  # the first report under this request id may be in this very batch
                report = tx.get_report(previous)
                assert report is not None
                results.append(report)
                continue
            report_id = str(uuid7())
            bulk.reports.append((Report(report_id, p.received_at, (), p.referrer, p.reporter), principal.name, now))
            self._event(tx, "report.received", now, report_id=report_id, detail=f"{len(p.urls)} url(s)")
            items: list[ReportedItem] = []
            seen: dict[str, ReportedItem] = {}
            for position, (url, host, hashes) in enumerate(p.urls):
                if url in seen:  # the same URL twice in one report counts once, but is linked at each position
                    items.append(seen[url])
                    bulk.links.append((report_id, seen[url].item_id, position, seen[url].new_item))
                    continue
                if hashes or url in open_urls:
                    # Known-content checks and repeat reports take the item-by-item path.
                    bulk.flush(tx)
                    reported = self._intake_url_txn(
                        tx, principal, report_id, url, host, hashes, traces[host], now, p.received_at
                    )
                    tx.link_report_item(report_id, reported.item_id, position, reported.new_item)
                else:
                    item = Item(
                        item_id=str(uuid7()),
                        url=url,
                        host=host,
                        state=ItemState.AWAITING_ASSESSMENT,
                        assigned_node=self._s.node_id,
                        first_reported_at=p.received_at,
                        created_at=now,
                        hosting=HostingRecord(traces[host], traced_at=now),
                    )
                    bulk.items.append(item)
                    bulk.links.append((report_id, item.item_id, position, True))
                    self._event(tx, "item.created", now, item=item, report_id=report_id)
                    reported = ReportedItem(item.item_id, url, True, False, item.state)
                open_urls.add(url)
                items.append(reported)
                seen[url] = reported
            tx.append_audit(
                at=now,
                actor=principal.name,
                action="SubmitReport",
                subject=report_id,
                detail=",".join(i.item_id for i in items),
            )
            self._remember(tx, principal, p.request_id, "SubmitReport", p.fingerprint, report_id, now)
            results.append(Report(report_id, p.received_at, tuple(items), p.referrer, p.reporter))
        bulk.flush(tx)
        return results

    def _intake_url_txn(
        self,
        tx: CaseTransaction,
        principal: Principal,
        report_id: str,
        url: str,
        host: str,
        hashes: list[ContentHash],
        facts: HostingFacts,
        now: datetime,
        received_at: datetime,
    ) -> ReportedItem:
        existing = tx.find_open_item_by_url(url)
        if existing is not None:
            existing.report_count += 1
            new_hashes = [h for h in hashes if h not in existing.hashes]
            tx.add_item_hashes(existing.item_id, new_hashes)
            existing.hashes.extend(new_hashes)
            tx.update_item(existing)
            self._event(tx, "item.repeat_report", now, item=existing, report_id=report_id)
            return ReportedItem(existing.item_id, url, False, existing.known_content, existing.state)

        item = Item(
            item_id=str(uuid7()),
            url=url,
            host=host,
            state=ItemState.AWAITING_ASSESSMENT,
            assigned_node=self._s.node_id,
            first_reported_at=received_at,
            created_at=now,
            hashes=list(hashes),
            hosting=HostingRecord(facts, traced_at=now),
        )
        tx.insert_item(item)
        tx.add_item_hashes(item.item_id, item.hashes)
        tx.insert_hosting(item.item_id, item.hosting)  # type: ignore[arg-type]
        self._event(tx, "item.created", now, item=item, report_id=report_id)
        known = self._match_known_txn(tx, hashes)
        if known is not None:
            item.known_content = True
            assessment = dataclasses.replace(
                known.assessment or Assessment(classification=known.classification),
                jurisdiction=self._s.jurisdiction,
                assessed_by="known-hash",
                assessed_at=now,
                automatic=True,
                note=f"matched known hash {known.known_hash_id} ({known.hash.algorithm})",
            )
            self._event(tx, "item.known_match", now, item=item, detail=f"known_hash={known.known_hash_id}")
            self._apply_assessment_txn(tx, item, assessment, now, actor="known-hash")
            tx.update_item(item)
        return ReportedItem(item.item_id, url, True, item.known_content, item.state)

    def _match_known_txn(self, tx: CaseTransaction, hashes: Sequence[ContentHash]) -> KnownHash | None:
        for content_hash in hashes:  # exact digests first: they are certain
            if content_hash.algorithm is not HashAlgorithm.PDQ:
                known = tx.find_known_hash(content_hash)
                if known is not None:
                    return known
        for content_hash in hashes:
            if content_hash.algorithm is HashAlgorithm.PDQ:
                hit = self._pdq.nearest(content_hash.digest)
                if hit is not None:
                    return tx.get_known_hash(hit[0])
        return None

    def get_report(self, report_id: str) -> Report:
        with self._store.transaction(read_only=True) as tx:
            report = tx.get_report(report_id)
        if report is None:
            raise NotFound(f"no report {report_id!r}", field="report_id")
        return report

    # ------------------------------------------------------------------ reads

    def get_item(self, item_id: str) -> Item:
        with self._store.transaction(read_only=True) as tx:
            return self._load(tx, item_id)

    def list_items(
        self, *, state: ItemState | None, hosting_country: str | None, after_item_id: str, limit: int
    ) -> list[Item]:
        if hosting_country:
            hosting_country = check_country(hosting_country, field="hosting_country")
        with self._store.transaction(read_only=True) as tx:
            items = tx.list_items(
                state=state, hosting_country=hosting_country or None, after_item_id=after_item_id, limit=limit
            )
        now = self._clock.now()
        return [_without_expired_hold(item, now) for item in items]

    def timeline(self, item_id: str) -> list[Event]:
        with self._store.transaction(read_only=True) as tx:
            self._load(tx, item_id)
            return tx.list_events(after_seq=0, limit=10_000, item_id=item_id)

    def receipts(self, item_id: str) -> list[ItemReceipt]:
        """The chain of custody of an item: who accepted which message about it, and when."""
        with self._store.transaction(read_only=True) as tx:
            self._load(tx, item_id)
            return tx.receipts_for_item(item_id)

    def list_events(self, *, after_seq: int, limit: int) -> list[Event]:
        with self._store.transaction(read_only=True) as tx:
            return tx.list_events(after_seq=after_seq, limit=limit)

    # ------------------------------------------------------------------ assessment

    def assess(self, principal: Principal, item_id: str, assessment: Assessment, request_id: str = "") -> Item:
        request_id = check_request_id(request_id)
        check_text(assessment.note, field="assessment.note", limit=MAX_NOTE_CHARS)
        fingerprint = _fingerprint("AssessItem", item_id, assessment)
        now = self._clock.now()
        with self._store.transaction() as tx:
            previous = self._replay(tx, principal, request_id, "AssessItem", fingerprint)
            if previous is not None:
                return self._load(tx, previous)
            item = self._load(tx, item_id, for_update=True)
            self._require_assigned(item)
            if item.state in CLOSED_STATES:
                raise FailedPrecondition(f"item is closed ({item.state})", field="item_id")
            current = item.assessment
            if (
                current is not None
                and current.classification is Classification.BASELINE
                and (assessment.classification is not Classification.BASELINE)
            ):
                raise FailedPrecondition(
                    f"a BASELINE classification cannot be overruled (got {assessment.classification})",
                    field="assessment.classification",
                )
            if assessment.classification is Classification.DOUBTFUL and item.state is ItemState.NTD_SENT:
                # Back to assessment would drop the item out of the removal deadline while the NTD stands.
                raise FailedPrecondition(
                    "the NTD was sent: the item can no longer be DOUBTFUL; assess it NOT_ILLEGAL to close it, "
                    "or record what the hosting provider did",
                    field="assessment.classification",
                )
            assessment = dataclasses.replace(
                assessment,
                jurisdiction=self._s.jurisdiction,
                assessed_by=principal.name,
                assessed_at=now,
                automatic=False,
            )
            assessment_id = self._apply_assessment_txn(tx, item, assessment, now, actor=principal.name)
            added = self._learn_hashes_txn(tx, item, assessment.classification, assessment_id, now)
            tx.update_item(item)
            tx.append_audit(
                at=now,
                actor=principal.name,
                action="AssessItem",
                subject=item.item_id,
                detail=str(assessment.classification),
            )
            self._remember(tx, principal, request_id, "AssessItem", fingerprint, item.item_id, now)
        self._index_pdq(added)
        self._committed()
        _log.info("item.assessed", item_id=item.item_id, classification=str(assessment.classification))
        return item

    def _learn_hashes_txn(
        self, tx: CaseTransaction, item: Item, classification: Classification, assessment_id: int, now: datetime
    ) -> list[tuple[ContentHash, int]]:
        """What an analyst classified need never be looked at again: the item's hashes become known under the
        analyst's latest assessment of them. A hash an earlier assessment made known (of this item, or of
        another with the same content) takes the new one, except that BASELINE is never overruled. Entries
        from an imported list are left as the list has them. Returns the newly known hashes with their ids."""
        source = f"{_ASSESSED_SOURCE}{item.item_id}"
        added = []
        for content_hash in item.hashes:
            known = tx.find_known_hash(content_hash)
            if known is None:
                known_id = tx.insert_known_hash(content_hash, classification, source, assessment_id, now)
                if known_id is not None:
                    added.append((content_hash, known_id))
            elif known.source.startswith(_ASSESSED_SOURCE) and (
                known.classification is not Classification.BASELINE or classification is Classification.BASELINE
            ):
                tx.reclassify_known_hash(known.known_hash_id, classification, source, assessment_id)
        return added

    def _apply_assessment_txn(
        self, tx: CaseTransaction, item: Item, assessment: Assessment, now: datetime, *, actor: str
    ) -> int:
        assessment_id = tx.insert_assessment(item.item_id, assessment)
        item.assessment = assessment
        self._event(tx, "item.assessed", now, item=item, detail=str(assessment.classification))
        if assessment.classification is Classification.NOT_ILLEGAL:
            self._record_action_txn(tx, item, ActionType.NOT_ILLEGAL, now, actor=actor)
            self._close_txn(tx, item, ItemState.CLOSED_NOT_ILLEGAL, now)
        elif assessment.classification is Classification.DOUBTFUL:
            item.state = ItemState.AWAITING_ASSESSMENT
        elif item.state in (ItemState.AWAITING_ASSESSMENT, ItemState.AWAITING_HOSTING):
            self._route_txn(tx, item, now)
        closed = assessment.classification is Classification.NOT_ILLEGAL
        self._report_status_txn(tx, item, now, ActionType.NOT_ILLEGAL if closed else None)
        return assessment_id

    # ------------------------------------------------------------------ hosting

    def trace_hosting(self, principal: Principal, item_id: str) -> Item:
        with self._store.transaction() as tx:
            host = self._load(tx, item_id).host
        facts = self._trace(host)
        return self._set_hosting(principal, item_id, HostingRecord(facts, self._clock.now()), "TraceHosting")

    def override_hosting(
        self, principal: Principal, item_id: str, override: HostingOverride, request_id: str = ""
    ) -> Item:
        request_id = check_request_id(request_id)
        if not override.reason.strip():
            raise InvalidArgument("an override needs a reason", field="reason")
        check_text(override.reason, field="reason", limit=MAX_NOTE_CHARS)
        country = check_country(override.facts.country or "", field="hosting.country")
        facts = check_hosting_facts(dataclasses.replace(override.facts, country=country), field="hosting")
        facts = dataclasses.replace(facts, source="override")
        record = HostingRecord(
            facts, self._clock.now(), overridden=True, override_reason=override.reason, actor=principal.name
        )
        fingerprint = _fingerprint("OverrideHosting", item_id, override)
        return self._set_hosting(principal, item_id, record, "OverrideHosting", request_id, fingerprint)

    def _set_hosting(
        self,
        principal: Principal,
        item_id: str,
        record: HostingRecord,
        method: str,
        request_id: str = "",
        fingerprint: str = "",
    ) -> Item:
        now = record.traced_at
        with self._store.transaction() as tx:
            previous = self._replay(tx, principal, request_id, method, fingerprint)
            if previous is not None:
                return self._load(tx, previous)
            item = self._load(tx, item_id, for_update=True)
            self._require_assigned(item)
            if item.state in CLOSED_STATES:
                raise FailedPrecondition(f"item is closed ({item.state})", field="item_id")
            if item.state not in (
                ItemState.AWAITING_ASSESSMENT,
                ItemState.AWAITING_HOSTING,
                ItemState.AWAITING_LEA,
            ):
                raise FailedPrecondition(
                    f"the item was already acted on ({item.state}); record a MOVED action instead",
                    field="item_id",
                )
            tx.insert_hosting(item.item_id, record)
            item.hosting = record
            kind = "item.hosting_overridden" if record.overridden else "item.hosting_traced"
            self._event(tx, kind, now, item=item, detail=record.facts.country or "unknown")
            if item.state in (ItemState.AWAITING_HOSTING, ItemState.AWAITING_LEA):
                self._route_txn(tx, item, now)
            tx.update_item(item)
            tx.append_audit(
                at=now,
                actor=principal.name,
                action=method,
                subject=item.item_id,
                detail=record.facts.country or "unknown",
            )
            self._remember(tx, principal, request_id, method, fingerprint, item.item_id, now)
        self._committed()
        return item

    # ------------------------------------------------------------------ routing

    def _route_txn(self, tx: CaseTransaction, item: Item, now: datetime) -> None:
        country = item.hosting_country
        if not country:
            item.state = ItemState.AWAITING_HOSTING
            return
        decision = decide_route(self._s.node_id, self._s.jurisdiction, country, self._membership)
        item.route = decision.route
        if decision.route in (Route.DOMESTIC, Route.FALLBACK_DIRECT):
            item.assigned_node = self._s.node_id
            item.referred_to = ""
            item.state = ItemState.LEA_NOTIFIED if item.lea_notified_at else ItemState.AWAITING_LEA
            self._event(tx, "item.routed", now, item=item, detail=f"{decision.route} {country}")
            return
        item.assigned_node = decision.peer_node
        item.referred_to = decision.peer_node
        item.state = ItemState.REFERRED
        self._event(tx, "item.routed", now, item=item, detail=f"{decision.route} {country} -> {decision.peer_node}")
        if decision.peer_node == item.origin_node:
            return  # it moved back to the originator's country: the originator takes it back on the MOVED update
        self._enqueue_txn(tx, item, decision.peer_node, Referral.of_item(item, node_id=self._s.node_id), now)

    # ------------------------------------------------------------------ actions and holds

    def record_action(
        self, principal: Principal, item_id: str, action: NewAction, request_id: str = ""
    ) -> tuple[Item, Action]:
        request_id = check_request_id(request_id)
        check_text(action.note, field="note", limit=MAX_NOTE_CHARS)
        if action.type is ActionType.NOT_ILLEGAL:
            raise InvalidArgument("NOT_ILLEGAL is recorded by assessing the item as NOT_ILLEGAL", field="type")
        moved_to = ""
        if action.type is ActionType.MOVED:
            moved_to = check_country(action.moved_to_country, field="moved_to_country")
        elif action.moved_to_country:
            raise InvalidArgument("only a MOVED action has a moved_to_country", field="moved_to_country")
        fingerprint = _fingerprint("RecordAction", item_id, action)
        now = self._clock.now()
        with self._store.transaction() as tx:
            previous = self._replay(tx, principal, request_id, "RecordAction", fingerprint)
            if previous is not None:
                item = self._load(tx, previous.split("/")[0])
                return item, next(a for a in item.actions if a.action_id == previous.split("/")[1])
            item = self._load(tx, item_id, for_update=True)
            self._require_assigned(item)
            self._check_action_allowed(item, action.type, now)
            # The state changes that no later event announces come first, so the action's event carries them.
            if action.type is ActionType.LEA_NOTIFIED:
                item.lea_notified_at = now
                item.state = ItemState.LEA_NOTIFIED
            elif action.type is ActionType.HP_NOTIFIED:
                item.ntd_sent_at = now
                item.deadline_at = now + self._s.removal_deadline
                item.state = ItemState.NTD_SENT
            recorded = self._record_action_txn(
                tx, item, action.type, now, actor=principal.name, note=action.note, moved_to_country=moved_to
            )
            if action.type is ActionType.CONTENT_REMOVED:
                self._close_txn(tx, item, ItemState.CLOSED_REMOVED, now)
            elif action.type is ActionType.CONTENT_UNAVAILABLE:
                self._close_txn(tx, item, ItemState.CLOSED_UNAVAILABLE, now)
            elif action.type is ActionType.MOVED:
                moved = HostingRecord(
                    HostingFacts(ip=None, country=moved_to, asn=None, organisation=None, cdn=False, source="moved"),
                    now,
                    overridden=True,
                    override_reason=action.note or "content moved",
                    actor=principal.name,
                )
                tx.insert_hosting(item.item_id, moved)
                item.hosting = moved
                item.ntd_sent_at = None
                item.deadline_at = None
                item.escalated_at = None
                # The MOVED update takes the next sequence number; a new assignee continues after it.
                moved_sequence = self._reserve_status_sequence(item)
                self._route_txn(tx, item, now)
                self._report_status_txn(
                    tx,
                    item,
                    now,
                    ActionType.MOVED,
                    sequence=moved_sequence,
                    moved_to_country=moved_to,
                    reassigned_to=item.assigned_node,
                )
            if action.type is not ActionType.MOVED:
                self._report_status_txn(tx, item, now, action.type)
            tx.update_item(item)
            tx.append_audit(
                at=now,
                actor=principal.name,
                action="RecordAction",
                subject=item.item_id,
                detail=str(action.type),
            )
            result_id = f"{item.item_id}/{recorded.action_id}"
            self._remember(tx, principal, request_id, "RecordAction", fingerprint, result_id, now)
        self._committed()
        _log.info("action.recorded", item_id=item.item_id, action=str(action.type))
        return item, recorded

    def _check_action_allowed(self, item: Item, action: ActionType, now: datetime) -> None:
        allowed: dict[ActionType, tuple[ItemState, ...]] = {
            ActionType.LEA_NOTIFIED: (ItemState.AWAITING_LEA,),
            ActionType.HP_NOTIFIED: (ItemState.LEA_NOTIFIED,),
            ActionType.CONTENT_REMOVED: (ItemState.AWAITING_LEA, ItemState.LEA_NOTIFIED, ItemState.NTD_SENT),
            ActionType.CONTENT_UNAVAILABLE: (
                ItemState.AWAITING_LEA,
                ItemState.LEA_NOTIFIED,
                ItemState.NTD_SENT,
            ),
            ActionType.MOVED: (ItemState.AWAITING_LEA, ItemState.LEA_NOTIFIED, ItemState.NTD_SENT),
        }
        if item.state not in allowed[action]:
            wanted = " or ".join(allowed[action])
            raise FailedPrecondition(f"{action} needs the item in state {wanted}; it is {item.state}", field="type")
        if action is ActionType.HP_NOTIFIED and item.active_hold and item.active_hold.active_at(now):
            until = item.active_hold.until.isoformat() if item.active_hold.until else "it is released"
            raise FailedPrecondition(f"an LEA hold is active until {until}; the NTD must wait", field="type")

    def _record_action_txn(
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
        self._event(tx, "action.recorded", now, item=item, detail=str(action_type))
        return action

    def _close_txn(self, tx: CaseTransaction, item: Item, state: ItemState, now: datetime) -> None:
        item.state = state
        item.closed_at = now
        self._event(tx, "item.closed", now, item=item, detail=str(state))

    def place_hold(
        self, principal: Principal, item_id: str, until: datetime | None, reference: str, request_id: str = ""
    ) -> Item:
        request_id = check_request_id(request_id)
        check_text(reference, field="reference")
        now = self._clock.now()
        if until is not None and until <= now:
            raise InvalidArgument("must be in the future", field="until")
        fingerprint = _fingerprint("PlaceHold", item_id, until, reference)
        with self._store.transaction() as tx:
            previous = self._replay(tx, principal, request_id, "PlaceHold", fingerprint)
            if previous is not None:
                return self._load(tx, previous)
            item = self._load(tx, item_id, for_update=True)
            self._require_assigned(item)
            if item.state not in (ItemState.AWAITING_LEA, ItemState.LEA_NOTIFIED):
                raise FailedPrecondition(f"a hold is placed before the NTD; the item is {item.state}", field="item_id")
            if item.active_hold and item.active_hold.active_at(now):
                raise FailedPrecondition("a hold is already active; release it first", field="item_id")
            hold = Hold(str(uuid7()), item.item_id, now, until, reference, principal.name)
            tx.insert_hold(hold)
            item.active_hold = hold
            self._event(
                tx,
                "hold.placed",
                now,
                item=item,
                detail=f"until {until.isoformat() if until else 'released'}",
            )
            tx.update_item(item)
            tx.append_audit(at=now, actor=principal.name, action="PlaceHold", subject=item.item_id, detail=hold.hold_id)
            self._remember(tx, principal, request_id, "PlaceHold", fingerprint, item.item_id, now)
        self._committed()
        return item

    def release_hold(self, principal: Principal, item_id: str) -> Item:
        now = self._clock.now()
        with self._store.transaction() as tx:
            item = self._load(tx, item_id, for_update=True)
            self._require_assigned(item)
            hold = item.active_hold
            if hold is None or not hold.active_at(now):
                raise FailedPrecondition("the item has no active hold", field="item_id")
            tx.release_hold(hold.hold_id, now)
            item.active_hold = None
            self._event(tx, "hold.released", now, item=item, detail=hold.hold_id)
            tx.update_item(item)
            tx.append_audit(
                at=now, actor=principal.name, action="ReleaseHold", subject=item.item_id, detail=hold.hold_id
            )
        self._committed()
        return item

    # ------------------------------------------------------------------ federation

    def withdraw_referral(self, principal: Principal, item_id: str, reason: str, request_id: str = "") -> Item:
        """The originator takes a referral back: the item closes as WITHDRAWN and the assignee is told."""
        request_id = check_request_id(request_id)
        if not reason.strip():
            raise InvalidArgument("a withdrawal needs a reason", field="reason")
        check_text(reason, field="reason", limit=MAX_NOTE_CHARS)
        fingerprint = _fingerprint("WithdrawReferral", item_id, reason)
        now = self._clock.now()
        with self._store.transaction() as tx:
            previous = self._replay(tx, principal, request_id, "WithdrawReferral", fingerprint)
            if previous is not None:
                return self._load(tx, previous)
            item = self._load(tx, item_id, for_update=True)
            if item.origin_node or item.state is not ItemState.REFERRED:
                raise FailedPrecondition(
                    f"only a referral this node made, still open, can be withdrawn; the item is {item.state}",
                    field="item_id",
                )
            assignee = item.assigned_node
            self._enqueue_txn(tx, item, assignee, Withdrawal(self._s.node_id, item.item_id, reason), now)
            item.assigned_node = self._s.node_id
            self._close_txn(tx, item, ItemState.WITHDRAWN, now)
            tx.update_item(item)
            tx.append_audit(
                at=now, actor=principal.name, action="WithdrawReferral", subject=item.item_id, detail=f"from {assignee}"
            )
            self._remember(tx, principal, request_id, "WithdrawReferral", fingerprint, item.item_id, now)
        self._committed()
        return item

    def receive_referral_txn(self, tx: CaseTransaction, sender: str, referral: Referral) -> str:
        """Take on an item another hotline referred here. Runs inside the receiver's transaction."""
        now = self._clock.now()
        expected_sender = referral.referred_by or referral.origin_node
        if sender != expected_sender:
            raise FailedPrecondition(
                f"{sender} sent a referral that names {expected_sender} as its sender", field="referral.referred_by"
            )
        if referral.origin_node == self._s.node_id:
            raise FailedPrecondition("a referral of this node's own item", field="referral.origin_node")
        check_node_id(referral.origin_node, field="referral.origin_node")
        if len(referral.origin_item_id) > _MAX_ITEM_ID_CHARS:
            raise InvalidArgument(
                f"must be an item id of at most {_MAX_ITEM_ID_CHARS} characters", field="referral.origin_item_id"
            )
        normalised = normalise_url(referral.url, field="referral.url")
        facts = (
            check_hosting_facts(referral.hosting, field="referral.hosting")
            if referral.hosting
            else HostingFacts(None, None, None, None, False, "referral")
        )
        existing = tx.find_item_by_origin(referral.origin_node, referral.origin_item_id, for_update=True)
        if existing is not None and existing.is_open and existing.assigned_node == self._s.node_id:
            return existing.item_id  # the same referral again, under another message id
        hosting = HostingRecord(dataclasses.replace(facts, source=f"referral:{sender}"), now)
        if existing is None:
            item = Item(
                item_id=str(uuid7()),
                url=normalised.url,
                host=normalised.host,
                state=ItemState.AWAITING_ASSESSMENT,
                assigned_node=self._s.node_id,
                first_reported_at=referral.first_reported_at,
                created_at=now,
                hashes=list(referral.hashes),
                hosting=hosting,
                origin_node=referral.origin_node,
                origin_item_id=referral.origin_item_id,
                status_sequence=referral.next_status_sequence - 1,
                referred_by=sender,
            )
            tx.insert_item(item)
            tx.add_item_hashes(item.item_id, item.hashes)
        else:  # it moved away from here earlier and has now come back
            item = existing
            item.assigned_node, item.referred_to, item.referred_by = self._s.node_id, "", sender
            item.state, item.closed_at = ItemState.AWAITING_ASSESSMENT, None
            item.status_sequence = referral.next_status_sequence - 1
            item.hosting = hosting
        tx.insert_hosting(item.item_id, hosting)
        self._event(tx, "referral.received", now, item=item, detail=f"from {sender} for {referral.origin_node}")
        origin = referral.assessment
        if origin is not None and origin.classification is Classification.BASELINE:
            # BASELINE is illegal everywhere and cannot be overruled: no second look needed.
            baseline = dataclasses.replace(origin, assessed_by=referral.origin_node, assessed_at=now, automatic=True)
            self._apply_assessment_txn(tx, item, baseline, now, actor=referral.origin_node)
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
        now = self._clock.now()
        item = tx.get_item(update.origin_item_id, for_update=True)
        if item is None or item.origin_node:
            raise NotFound(f"no item {update.origin_item_id!r} that this node referred", field="origin_item_id")
        if update.sequence <= item.status_sequence or item.state is ItemState.WITHDRAWN:
            return  # applied already, or withdrawn: nothing more to do
        if update.sequence > item.status_sequence + 1:
            tx.put_pending_update(item.item_id, update.sequence, sender, dump_body(update.to_json()), now)
            self._event(tx, "status.buffered", now, item=item, detail=f"#{update.sequence} from {sender}")
            tx.update_item(item)
            return
        if sender != item.assigned_node:
            raise FailedPrecondition(
                f"{sender} is not assigned to the item; {item.assigned_node} is", field="assigned_node"
            )
        self._apply_status_txn(tx, item, sender, update, now)
        while True:  # drain updates that were waiting for this one
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
            self._close_txn(tx, item, ItemState.CLOSED_REMOVED, at)
        elif update.action is ActionType.CONTENT_UNAVAILABLE:
            self._close_txn(tx, item, ItemState.CLOSED_UNAVAILABLE, at)
        elif update.action is ActionType.NOT_ILLEGAL:
            self._close_txn(tx, item, ItemState.CLOSED_NOT_ILLEGAL, at)
        elif update.action is ActionType.MOVED:
            moved = HostingRecord(
                HostingFacts(None, update.moved_to_country or None, None, None, False, f"moved:{sender}"), now
            )
            tx.insert_hosting(item.item_id, moved)
            item.hosting = moved
            if update.reassigned_to == self._s.node_id:
                item.assigned_node, item.referred_to = self._s.node_id, ""
                item.route = Route.DOMESTIC
                item.state = ItemState.AWAITING_LEA  # another country's police were told, not ours
            elif update.reassigned_to:
                item.assigned_node = item.referred_to = update.reassigned_to
        self._event(tx, "status.applied", now, item=item, detail=detail)

    def apply_withdrawal_txn(self, tx: CaseTransaction, sender: str, withdrawal: Withdrawal) -> None:
        """The originator withdrew its referral: stop work, keep the item as a tombstone."""
        now = self._clock.now()
        item = tx.find_item_by_origin(withdrawal.origin_node, withdrawal.origin_item_id, for_update=True)
        if item is None:
            raise NotFound("no item was referred here under that reference", field="origin_item_id")
        if sender not in (item.origin_node, item.referred_by):
            raise FailedPrecondition(f"{sender} did not refer this item", field="sender")
        if item.state is ItemState.REFERRED and item.assigned_node not in (self._s.node_id, item.origin_node):
            # It moved on from here: pass the withdrawal to the hotline that has it now.
            self._enqueue_txn(tx, item, item.assigned_node, withdrawal, now)
        if item.is_open:
            item.assigned_node = self._s.node_id
            self._close_txn(tx, item, ItemState.WITHDRAWN, now)
            tx.update_item(item)
        tx.append_audit(
            at=now, actor=sender, action="ApplyWithdrawal", subject=item.item_id, detail=withdrawal.reason[:200]
        )

    def _reserve_status_sequence(self, item: Item) -> int:
        item.status_sequence += 1
        return item.status_sequence

    def _report_status_txn(
        self,
        tx: CaseTransaction,
        item: Item,
        now: datetime,
        action: ActionType | None,
        *,
        sequence: int | None = None,
        moved_to_country: str = "",
        reassigned_to: str = "",
    ) -> None:
        """For an item another hotline referred here, queue a status update to that hotline."""
        if not item.origin_node or item.origin_node == self._s.node_id:
            return
        update = StatusUpdate(
            origin_item_id=item.origin_item_id,
            sequence=sequence if sequence is not None else self._reserve_status_sequence(item),
            assigned_node=self._s.node_id,
            occurred_at=now,
            state=item.state,
            action=action,
            classification=item.classification,
            moved_to_country=moved_to_country,
            reassigned_to=reassigned_to,
        )
        self._enqueue_txn(tx, item, item.origin_node, update, now)

    def _enqueue_txn(self, tx: CaseTransaction, item: Item, peer: str, body: ExchangeMessage, now: datetime) -> None:
        message = OutboxMessage(str(uuid7()), peer, body.kind, item.item_id, dump_body(body.to_json()), now)
        tx.enqueue_outbox(message)
        self._event(tx, "outbox.queued", now, item=item, detail=f"{body.kind} {message.message_id} -> {peer}")

    def committed(self) -> None:
        """Tell event listeners that a transaction run outside this service (the exchange receiver) committed."""
        self._committed()

    # ------------------------------------------------------------------ deadlines

    def escalate_overdue(self, limit: int = 500) -> list[str]:
        """Raise one escalation event for each item whose removal deadline has passed. Idempotent."""
        now = self._clock.now()
        with self._store.transaction() as tx:
            escalated = []
            for item_id in tx.items_past_deadline(now, limit):
                item = self._load(tx, item_id, for_update=True)
                if item.escalated_at is not None or item.state is not ItemState.NTD_SENT:
                    continue
                item.escalated_at = now
                overdue = now - item.deadline_at if item.deadline_at else timedelta(0)
                self._event(tx, "deadline.escalated", now, item=item, detail=f"overdue by {overdue}")
                tx.update_item(item)
                tx.append_audit(at=now, actor="scheduler", action="EscalateDeadline", subject=item_id, detail="")
                escalated.append(item_id)
        if escalated:
            self._committed()
            _log.warning("deadline.escalated", item_ids=escalated)
        return escalated

    # ------------------------------------------------------------------ retention

    def purge_closed(self, retention: timedelta, batch: int = 500) -> int:
        """Delete cases closed longer ago than `retention`. Returns how many items were purged."""
        if retention <= timedelta(0):
            raise InvalidArgument("must be positive", field="retention_days")
        now = self._clock.now()
        purged = 0
        while True:
            with self._store.transaction() as tx:
                item_ids = tx.purge_closed_items(now - retention, batch)
                if item_ids:
                    tx.append_audit(
                        at=now,
                        actor="scheduler",
                        action="PurgeClosed",
                        subject=f"{len(item_ids)} items",
                        detail=",".join(item_ids)[:500],
                    )
            purged += len(item_ids)
            if len(item_ids) < batch:
                break
        if purged:
            _log.info("retention.purged", items=purged)
        return purged

    # ------------------------------------------------------------------ statistics

    def statistics(
        self, *, start: datetime | None, end: datetime | None, hosting_country: str = ""
    ) -> tuple[Statistics, list[Statistics]]:
        """Figures overall and per hosting country, for items first reported in [start, end)."""
        if start is not None and end is not None and end <= start:
            raise InvalidArgument("must be after period_start", field="period_end")
        country = check_country(hosting_country, field="hosting_country") if hosting_country else None
        with self._store.transaction(read_only=True) as tx:
            rows = tx.item_times(start=start, end=end, hosting_country=country)
        per_country: dict[str, list[ItemTimes]] = {}
        for row in rows:
            per_country.setdefault(row.hosting_country or "", []).append(row)
        overall = compute_statistics(rows, country or "")
        return overall, [compute_statistics(r, c) for c, r in sorted(per_country.items()) if c]

    # ------------------------------------------------------------------ known hashes

    def import_known_hashes(
        self,
        principal: Principal,
        entries: Sequence[tuple[ContentHash, Classification]],
        source: str,
        request_id: str = "",
    ) -> tuple[int, int]:
        """Bulk import. Returns (imported, already known). All or nothing."""
        request_id = check_request_id(request_id)
        check_text(source, field="source")
        if not source.strip():
            raise InvalidArgument("name where the list came from", field="source")
        fingerprint = _fingerprint("ImportKnownHashes", source, entries)
        now = self._clock.now()
        with self._store.transaction() as tx:
            previous = self._replay(tx, principal, request_id, "ImportKnownHashes", fingerprint)
            if previous is not None:
                imported, known = previous.split("/")
                return int(imported), int(known)
            added: list[tuple[ContentHash, int]] = []
            for content_hash, classification in entries:
                known_id = tx.insert_known_hash(content_hash, classification, source, None, now)
                if known_id is not None:
                    added.append((content_hash, known_id))
            already = len(entries) - len(added)
            tx.append_audit(
                at=now,
                actor=principal.name,
                action="ImportKnownHashes",
                subject=source,
                detail=f"imported={len(added)} already_known={already}",
            )
            self._remember(tx, principal, request_id, "ImportKnownHashes", fingerprint, f"{len(added)}/{already}", now)
        self._index_pdq(added)
        return len(added), already

    def _index_pdq(self, added: Sequence[tuple[ContentHash, int]]) -> None:
        for content_hash, known_id in added:
            if content_hash.algorithm is HashAlgorithm.PDQ:
                self._pdq.add(content_hash.digest, known_id)

    # ------------------------------------------------------------------ helpers

    def _trace(self, host: str) -> HostingFacts:
        try:
            facts = self._resolver.resolve(host)
        except Exception:  # a trace that fails leaves the hosting unknown; the analyst can override
            _log.exception("hosting.trace_failed")
            return HostingFacts(ip=None, country=None, asn=None, organisation=None, cdn=False, source="failed")
        if facts.organisation and len(facts.organisation) > MAX_TEXT_CHARS:
            # A GeoIP or MaxMind database's AS name is not input to refuse: keep what fits, marked as cut.
            facts = dataclasses.replace(facts, organisation=facts.organisation[: MAX_TEXT_CHARS - 1] + "\u2026")
        return facts

    def _load(self, tx: CaseTransaction, item_id: str, *, for_update: bool = False) -> Item:
        item = tx.get_item(item_id, for_update=for_update) if item_id else None
        if item is None:
            raise NotFound(f"no item {item_id!r}", field="item_id")
        return _without_expired_hold(item, self._clock.now())

    def _require_assigned(self, item: Item) -> None:
        if item.assigned_node != self._s.node_id:
            raise FailedPrecondition(
                f"this node ({self._s.node_id}) is not assigned to the item; {item.assigned_node} is",
                field="item_id",
            )

    def _event(
        self,
        tx: CaseTransaction,
        kind: str,
        now: datetime,
        *,
        item: Item | None = None,
        report_id: str = "",
        detail: str = "",
    ) -> None:
        tx.append_event(
            Event(
                event_id=str(uuid.uuid4()),
                kind=kind,
                occurred_at=now,
                item_id=item.item_id if item else "",
                report_id=report_id,
                state=item.state if item else None,
                detail=detail,
            )
        )

    def _replay(
        self, tx: CaseTransaction, principal: Principal, request_id: str, method: str, fingerprint: str
    ) -> str | None:
        if not request_id:
            return None
        record = tx.get_idempotency(principal.name, request_id)
        if record is None:
            return None
        if record.method != method or record.fingerprint != fingerprint:
            raise AlreadyExists(
                f"request_id {request_id!r} was already used for a different {record.method} request",
                field="request_id",
            )
        return record.result_id

    def _remember(
        self,
        tx: CaseTransaction,
        principal: Principal,
        request_id: str,
        method: str,
        fingerprint: str,
        result_id: str,
        now: datetime,
    ) -> None:
        if request_id:
            tx.put_idempotency(principal.name, request_id, IdempotencyRecord(method, fingerprint, result_id), now)

    def _committed(self) -> None:
        self._on_commit()


def _without_expired_hold(item: Item, now: datetime) -> Item:
    """The store keeps a hold until it is released; once its `until` has passed it is no longer the item's
    active hold."""
    if item.active_hold is not None and not item.active_hold.active_at(now):
        item.active_hold = None
    return item


def _unique(hashes: Iterable[ContentHash]) -> list[ContentHash]:
    return list(dict.fromkeys(hashes))


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _PreparedReport:
    request_id: str
    fingerprint: str
    received_at: datetime
    referrer: str
    reporter: Reporter
    urls: list[tuple[str, str, list[ContentHash]]]


@dataclass(slots=True)
class _BulkIntake:
    """Rows of new reports and plain new items, written together."""

    reports: list[tuple[Report, str, datetime]] = dataclasses.field(default_factory=list)
    items: list[Item] = dataclasses.field(default_factory=list)
    links: list[tuple[str, str, int, bool]] = dataclasses.field(default_factory=list)

    def flush(self, tx: CaseTransaction) -> None:
        if self.reports or self.items or self.links:
            tx.insert_intake_bulk(self.reports, self.items, self.links)
        self.reports, self.items, self.links = [], [], []
