"""Rows <-> domain objects: the columns written for an item, report, assessment or hosting record, and the
domain objects read back from rows."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table

from node.access import StoredToken
from node.cases.model import (
    Assessment,
    HashProvenance,
    Hold,
    HostingRecord,
    Item,
    Report,
    Role,
)
from node.hashes import ContentHash
from node.hosting import HostingFacts

__all__ = ["record_columns", "record_values", "row_values", "url_key"]


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def record_columns(table: Table, record: type) -> list[Column[Any]]:
    """The table's columns that the record's fields are named after, in the record's order (a dataclass or a
    NamedTuple): a select whose rows build the record."""
    return [table.c[name] for name in _field_names(record)]


def record_values(record: Any) -> dict[str, Any]:
    """A dataclass's fields by name, as they are (a row's columns of the same names, before any conversion)."""
    return {name: getattr(record, name) for name in _field_names(type(record))}


def row_values(record: type, row: Any) -> dict[str, Any]:
    """The row's values of the columns that the record's fields are named after (before any conversion)."""
    return {name: getattr(row, name) for name in _field_names(record)}


def _field_names(record: type) -> list[str]:
    return list(record._fields) if hasattr(record, "_fields") else [f.name for f in fields(record)]


def _item_columns(item: Item) -> dict[str, Any]:
    return {
        "url": item.url,
        "url_key": url_key(item.url),
        "host": item.host,
        "state": item.state.value,
        "is_open": item.is_open,
        "assigned_node": item.assigned_node,
        "route": item.route.value if item.route else None,
        "referred_to": item.referred_to,
        "known_content": item.known_content,
        "report_count": item.report_count,
        "hosting_country": item.hosting_country,
        "classification": item.classification.value if item.classification else None,
        "first_reported_at": item.first_reported_at,
        "created_at": item.created_at,
        "lea_notified_at": item.lea_notified_at,
        "ntd_sent_at": item.ntd_sent_at,
        "deadline_at": item.deadline_at,
        "escalated_at": item.escalated_at,
        "closed_at": item.closed_at,
        "origin_node": item.origin_node,
        "origin_item_id": item.origin_item_id,
        "status_sequence": item.status_sequence,
        "referred_by": item.referred_by,
    }


def _item_hash_row(item_id: str, content_hash: ContentHash, provenance: HashProvenance) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "algorithm": content_hash.algorithm.value,
        "digest": content_hash.hex,
        "provenance": provenance.value,
    }


def _report_columns(report: Report, principal: str, recorded_at: datetime) -> dict[str, Any]:
    return {
        "report_id": report.report_id,
        "received_at": report.received_at,
        "recorded_at": recorded_at,
        "referrer_url": report.referrer_url,
        "reporter_anonymous": report.reporter.anonymous,
        "reporter_name": report.reporter.name,
        "reporter_email": report.reporter.email,
        "reporter_reference": report.reporter.reference,
        "submitted_by": principal,
        "submitted_group": report.submitted_group,
    }


def _hosting_columns(item_id: str, record: HostingRecord) -> dict[str, Any]:
    facts = record.facts
    return {
        "item_id": item_id,
        "ip": facts.ip,
        "country": facts.country,
        "asn": facts.asn,
        "organisation": facts.organisation,
        "cdn": facts.cdn,
        "source": facts.source,
        "overridden": record.overridden,
        "override_reason": record.override_reason,
        "actor": record.actor,
        "traced_at": record.traced_at,
    }


def _assessment_columns(a: Assessment) -> dict[str, Any]:
    assert a.assessed_at is not None
    return {
        "classification": a.classification.value,
        "age_group": a.age_group.value,
        "gender": a.gender.value,
        "content_type": a.content_type.value,
        "site_type": a.site_type.value,
        "commerciality": a.commerciality.value,
        "payment_methods": ",".join(sorted(p.value for p in a.payment_methods)),
        "virtual": a.virtual,
        "child_modelling": a.child_modelling,
        "user_generated": a.user_generated,
        "jurisdiction": a.jurisdiction,
        "assessed_by": a.assessed_by,
        "assessed_at": a.assessed_at,
        "automatic": a.automatic,
        "note": a.note,
        "known_hash_id": a.known_hash_id,
    }


_ASSESSMENT_FIELDS = tuple(f.name for f in fields(Assessment))


def _assessment(row: Any) -> Assessment:
    values = {name: getattr(row, name) for name in _ASSESSMENT_FIELDS}
    values["payment_methods"] = [p for p in row.payment_methods.split(",") if p]
    return Assessment.from_values(values)


def _hosting(row: Any) -> HostingRecord:
    facts = HostingFacts(
        ip=row.ip,
        country=row.country,
        asn=row.asn,
        organisation=row.organisation,
        cdn=row.cdn,
        source=row.source,
    )
    return HostingRecord(facts, row.traced_at, row.overridden, row.override_reason, row.actor)


def _hold(row: Any) -> Hold:
    return Hold(**row_values(Hold, row))


def _token(row: Any) -> StoredToken:
    return StoredToken(
        token_id=row.token_id,
        name=row.name,
        secret_hash=row.secret_hash,
        roles=frozenset(Role(r) for r in row.roles.split(",") if r),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        previous_secret_hash=row.previous_secret_hash,
        previous_valid_until=row.previous_valid_until,
        group=row.token_group,
    )
