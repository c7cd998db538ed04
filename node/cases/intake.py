"""Intake: reports come in, one or many in a transaction, each validated completely before anything is written.
A new URL becomes an item, a repeat is linked to the open item, known content is recognised and assessed
automatically. Hosting is traced outside the transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from uuid6 import uuid7

from node.cases.context import CaseContext, fingerprint_of, unique_hashes
from node.cases.event_kinds import EventKind
from node.cases.hash_trust import TRUSTED_ITEM_HASHES, caller_provenance
from node.cases.known_content import KnownContent
from node.cases.model import (
    Assessment,
    HostingRecord,
    Item,
    ItemState,
    KnownHashDetails,
    Principal,
    Report,
    ReportedItem,
    Reporter,
)
from node.cases.ports import CaseTransaction
from node.cases.requests import MAX_TEXT_CHARS, NewReport, check_request_id, check_text
from node.cases.urls import normalise_url
from node.cases.workflow import ItemWorkflow
from node.errors import DomainError, InvalidArgument, Reason, StoreUnavailable
from node.hashes import ContentHash, parse_hash
from node.hosting import FAILED_SOURCE, HostingFacts, HostingResolver

__all__ = ["Intake", "trace_host"]

_log = structlog.get_logger(__name__)

_FUTURE_SKEW = timedelta(minutes=5)
"""How far in the future a received_at may be (clocks differ)."""


class Intake:
    def __init__(self, ctx: CaseContext, workflow: ItemWorkflow, known: KnownContent) -> None:
        self._ctx = ctx
        self._workflow = workflow
        self._known = known

    def submit_report(self, principal: Principal, request: NewReport, request_id: str = "") -> Report:
        result = self.submit_reports([(principal, request, request_id)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def submit_reports(self, batch: Sequence[tuple[Principal, NewReport, str]]) -> list[Report | Exception]:
        """Take several reports in one transaction (group commit). Each gets its own result: the stored report,
        or the error that refused it (a DomainError) or failed it (any other). One report's failure never
        fails another: each is validated before the batch, and when the batch's transaction fails all the same
        (a conflict, or a database error that one report's data caused), its reports are taken one by one.
        Only an unreachable store (StoreUnavailable) fails them all. New URLs with no hashes are written in
        bulk."""
        now = self._ctx.clock.now()
        prepared: list[_PreparedReport | DomainError] = []
        for _principal, request, request_id in batch:
            try:
                prepared.append(self._prepare_report(request, request_id, now))
            except DomainError as error:
                prepared.append(error)
        # Hosting is traced outside the transaction: DNS may be slow, and it touches no state.
        hosts = {host for p in prepared if isinstance(p, _PreparedReport) for _, host, _ in p.urls}
        traces = {host: trace_host(self._ctx.resolver, host) for host in hosts}
        try:
            with self._ctx.store.transaction() as tx:
                results = self._submit_batch_txn(tx, [principal for principal, _, _ in batch], prepared, traces, now)
        except StoreUnavailable:
            raise
        except Exception:
            if len(batch) == 1:
                raise
            # A conflict with a concurrent writer, or one report the database refused: take the reports one
            # by one, so that only the report (or the conflict) at fault fails, and alone.
            _log.warning("reports.batch_failed", size=len(batch), retry="one by one")
            return [self._submit_alone(one) for one in batch]
        self._ctx.committed()
        stored = [r.report_id for r in results if isinstance(r, Report)]
        _log.info("reports.received", report_ids=stored, refused=len(results) - len(stored))
        return results

    def _submit_alone(self, one: tuple[Principal, NewReport, str]) -> Report | Exception:
        try:
            return self.submit_reports([one])[0]
        except StoreUnavailable:
            raise
        except Exception as error:  # this report's own failure, returned to its caller only
            return error

    def _prepare_report(self, request: NewReport, request_id: str, now: datetime) -> _PreparedReport:
        """Validate a report completely before anything is written."""
        request_id = check_request_id(request_id)
        if not request.urls:
            raise InvalidArgument("a report needs at least one URL", field="urls", reason=Reason.REQUIRED_FIELD)
        if len(request.urls) > self._ctx.settings.max_urls_per_report:
            raise InvalidArgument(
                f"at most {self._ctx.settings.max_urls_per_report} URLs per report, got {len(request.urls)}",
                field="urls",
                reason=Reason.LIMIT_EXCEEDED,
                metadata={"limit": str(self._ctx.settings.max_urls_per_report), "unit": "urls"},
            )
        received_at = request.received_at or now
        earliest, latest = now - self._ctx.settings.max_report_age, now + _FUTURE_SKEW
        if not earliest <= received_at <= latest:
            raise InvalidArgument(
                "must not be in the future" if received_at > latest else "is older than the node accepts",
                field="received_at",
                reason=Reason.TIMESTAMP_OUT_OF_RANGE,
                metadata={"earliest": earliest.isoformat(), "latest": latest.isoformat()},
            )
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
            if len(new_url.hashes) > self._ctx.settings.max_hashes_per_url:
                raise InvalidArgument(
                    f"at most {self._ctx.settings.max_hashes_per_url} hashes per URL",
                    field=f"urls[{i}].hashes",
                    reason=Reason.LIMIT_EXCEEDED,
                    metadata={"limit": str(self._ctx.settings.max_hashes_per_url), "unit": "hashes"},
                )
            hashes = unique_hashes(
                parse_hash(h.algorithm, h.value, field=f"urls[{i}].hashes[{j}]") for j, h in enumerate(new_url.hashes)
            )
            parsed.append((normalised.url, normalised.host, hashes))
        fingerprint = fingerprint_of("SubmitReport", request) if request_id else ""
        return _PreparedReport(request_id, fingerprint, received_at, referrer, reporter, parsed)

    def _submit_batch_txn(
        self,
        tx: CaseTransaction,
        principals: Sequence[Principal],
        prepared: Sequence[_PreparedReport | DomainError],
        traces: dict[str, HostingFacts],
        now: datetime,
    ) -> list[Report | Exception]:
        ready = [p for p in prepared if isinstance(p, _PreparedReport)]
        open_urls = tx.open_item_urls([url for p in ready for url, _, _ in p.urls])
        bulk = _BulkIntake()
        results: list[Report | Exception] = []
        for principal, p in zip(principals, prepared, strict=True):
            if isinstance(p, DomainError):
                results.append(p)
                continue
            try:
                previous = self._ctx.replay(tx, principal, p.request_id, "SubmitReport", p.fingerprint)
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
            submitted = Report(
                report_id,
                p.received_at,
                (),
                p.referrer,
                p.reporter,
                submitted_by=principal.name,
                submitted_group=principal.group,
            )
            bulk.reports.append((submitted, principal.name, now))
            self._ctx.event(tx, EventKind.REPORT_RECEIVED, now, report_id=report_id, detail=f"{len(p.urls)} url(s)")
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
                        tx, principal, report_id, url, host, hashes, traces[host], now, p.received_at, url in open_urls
                    )
                    tx.link_report_item(report_id, reported.item_id, position, reported.new_item)
                else:
                    item = self._new_item(url, host, traces[host], p.received_at, now)
                    bulk.items.append(item)
                    bulk.links.append((report_id, item.item_id, position, True))
                    self._ctx.event(tx, EventKind.ITEM_CREATED, now, item=item, report_id=report_id)
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
            self._ctx.remember(tx, principal, p.request_id, "SubmitReport", p.fingerprint, report_id, now)
            results.append(replace(submitted, items=tuple(items)))
        bulk.flush(tx)
        return results

    def _new_item(self, url: str, host: str, facts: HostingFacts, received_at: datetime, now: datetime) -> Item:
        """A new item of this node's, awaiting assessment, its host traced now (to `facts`)."""
        return Item(
            item_id=str(uuid7()),
            url=url,
            host=host,
            state=ItemState.AWAITING_ASSESSMENT,
            assigned_node=self._ctx.settings.node_id,
            first_reported_at=received_at,
            created_at=now,
            hosting=HostingRecord(facts, traced_at=now),
        )

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
        maybe_open: bool,
    ) -> ReportedItem:
        """`maybe_open`: whether the URL may have an open item. False when this transaction has just read that it
        has none (open_item_urls, kept up to date with the batch's own items): the lookup is not run again. A
        concurrent writer's item is still refused by the open-URL unique index, as in the bulk path."""
        provenance = caller_provenance(principal)
        existing = tx.find_open_item_by_url(url) if maybe_open else None
        if existing is not None:
            existing.report_count += 1
            new_hashes = [h for h in hashes if h not in existing.hashes]
            tx.add_item_hashes(existing.item_id, new_hashes, provenance)
            existing.hashes.extend(new_hashes)
            existing.hash_provenance.update(dict.fromkeys(new_hashes, provenance))
            if provenance in TRUSTED_ITEM_HASHES:  # the node's own tool confirms hashes a caller only claimed
                confirmed = [h for h in hashes if existing.provenance_of(h) not in TRUSTED_ITEM_HASHES]
                tx.set_item_hash_provenance(existing.item_id, confirmed, provenance)
                existing.hash_provenance.update(dict.fromkeys(confirmed, provenance))
            tx.update_item(existing)
            self._ctx.event(tx, EventKind.ITEM_REPEAT_REPORT, now, item=existing, report_id=report_id)
            return ReportedItem(existing.item_id, url, False, existing.known_content, existing.state)

        item = self._new_item(url, host, facts, received_at, now)
        item.hashes = list(hashes)
        item.hash_provenance = dict.fromkeys(hashes, provenance)
        tx.insert_item(item)
        tx.add_item_hashes(item.item_id, item.hashes, provenance)
        tx.insert_hosting(item.item_id, item.hosting)  # type: ignore[arg-type]
        self._ctx.event(tx, EventKind.ITEM_CREATED, now, item=item, report_id=report_id)
        known = self._known.match_known_txn(tx, item, now)
        if known is not None:
            item.known_content = True
            assessment = dataclasses.replace(
                known.assessment or Assessment(classification=known.classification),
                jurisdiction=self._ctx.settings.jurisdiction,
                assessed_by="known-hash",
                assessed_at=now,
                automatic=True,
                note=f"matched known hash {known.known_hash_id} ({known.hash.algorithm})",
                known_hash_id=known.known_hash_id,
            )
            matched = KnownHashDetails.of(known)
            detail = f"known_hash={known.known_hash_id}"
            self._ctx.event(tx, EventKind.ITEM_KNOWN_MATCH, now, item=item, detail=detail, details=matched)
            self._workflow.apply_assessment_txn(tx, item, assessment, now, actor="known-hash")
            tx.update_item(item)
        return ReportedItem(item.item_id, url, True, item.known_content, item.state)


def trace_host(resolver: HostingResolver, host: str) -> HostingFacts:
    try:
        facts = resolver.resolve(host)
    except Exception:  # a trace that fails leaves the hosting unknown; the analyst can override
        _log.exception("hosting.trace_failed")
        return HostingFacts(ip=None, country=None, asn=None, organisation=None, cdn=False, source=FAILED_SOURCE)
    if facts.organisation and len(facts.organisation) > MAX_TEXT_CHARS:
        # A GeoIP or MaxMind database's AS name is not input to refuse: keep what fits, marked as cut.
        facts = dataclasses.replace(facts, organisation=facts.organisation[: MAX_TEXT_CHARS - 1] + "\u2026")
    return facts


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
