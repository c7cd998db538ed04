"""An item and an action, turned into the notice to send: its recipient, subject and text (from the
operator's template or the built-in one), and for an NTD an X-ARF v4 report, the abuse-report format hosting
providers' abuse desks parse (https://xarf.org: category `content`, type `csam`).

The URL appears only where the template asks for it (`$url`); the built-in templates do, since neither the
police nor a hosting provider can act without it. Hashes go only of trusted provenance (the hotline's own
tools or an analyst), never those an intake caller merely claimed. Never any content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from string import Template

from uuid6 import uuid7

from node.cases.hash_trust import TRUSTED_ITEM_HASHES
from node.cases.model import Classification, ContentType, Item
from node.hashes.content_hash import HashAlgorithm
from node.notices.settings import NoticeKind, NoticeSettings

__all__ = ["LEA_TEMPLATE", "NTD_TEMPLATE", "TEMPLATE_FIELDS", "Notice", "compose", "render_check"]

LEA_TEMPLATE = """\
$organisation refers the following item to you for investigation.

Item:            $item_id
URL:             $url
Classification:  $classification
Hosted:          $ip ($country, AS$asn $hosting_organisation)
First reported:  $first_reported_at

Please quote the item id in any reply.
"""

NTD_TEMPLATE = """\
$organisation, a member of the international network of internet hotlines, asks you to remove the
following material, which it has classified as child sexual abuse material ($classification), from your
service without delay.

URL:             $url
Hosted at:       $ip (AS$asn $hosting_organisation)
Item:            $item_id
Notice sent:     $sent_at

Do not access the URL beyond what your removal requires. Please quote the item id in any reply.
"""

# The placeholders a template may use.
TEMPLATE_FIELDS = (
    "organisation",
    "item_id",
    "url",
    "host",
    "classification",
    "ip",
    "country",
    "asn",
    "hosting_organisation",
    "first_reported_at",
    "sent_at",
    "deadline_at",
)

_XARF_MEDIA = {ContentType.IMAGE: "image", ContentType.VIDEO: "video", ContentType.TEXT: "text"}
_XARF_HASHES = (HashAlgorithm.SHA256, HashAlgorithm.SHA1, HashAlgorithm.MD5)


@dataclass(frozen=True)
class Notice:
    """One notice to deliver. `notice_id` is its message id: the SMTP Message-ID and the webhook's
    Idempotency-Key, so a receiver recognises a notice sent twice (after a crash between sending and
    recording it)."""

    notice_id: str
    item_id: str
    kind: NoticeKind
    channel: str
    recipient: str
    subject: str
    text: str
    xarf: str  # the X-ARF v4 JSON, or ""
    created_at: datetime


def compose(item: Item, kind: NoticeKind, settings: NoticeSettings, now: datetime) -> Notice | str:
    """The notice for `item`, or why none can be sent (no recipient configured or known)."""
    recipient = _recipient(item, kind, settings)
    if not recipient:
        return "no LEA address is configured" if kind is NoticeKind.LEA else "no abuse address is known for its host"
    fields = _fields(item, settings, now)
    template = (settings.lea_template if kind is NoticeKind.LEA else settings.ntd_template) or (
        LEA_TEMPLATE if kind is NoticeKind.LEA else NTD_TEMPLATE
    )
    what = "LEA notice" if kind is NoticeKind.LEA else "Notice and takedown"
    return Notice(
        notice_id=str(uuid7()),
        item_id=item.item_id,
        kind=kind,
        channel=str(settings.channel),
        recipient=recipient,
        subject=f"[{settings.organisation}] {what}: item {item.item_id}",
        text=Template(template).safe_substitute(fields),
        xarf=_xarf(item, settings, now) if kind is NoticeKind.NTD and settings.xarf else "",
        created_at=now,
    )


def render_check(template: str) -> list[str]:
    """The placeholders of `template` that no notice fills (a typo such as `$ur1`), for the config check."""
    found = Template(template).get_identifiers()
    return [name for name in found if name not in TEMPLATE_FIELDS]


def _recipient(item: Item, kind: NoticeKind, settings: NoticeSettings) -> str:
    if kind is NoticeKind.LEA:
        return settings.lea_email
    if not settings.ntd:
        return ""
    facts = item.hosting.facts if item.hosting else None
    return settings.abuse_email(facts.asn if facts else None, facts.organisation or "" if facts else "")


def _fields(item: Item, settings: NoticeSettings, now: datetime) -> dict[str, str]:
    facts = item.hosting.facts if item.hosting else None
    return {
        "organisation": settings.organisation,
        "item_id": item.item_id,
        "url": item.url,
        "host": item.host,
        "classification": _classification(item),
        "ip": (facts.ip if facts else None) or "unknown address",
        "country": (facts.country if facts else None) or "unknown country",
        "asn": str(facts.asn) if facts and facts.asn is not None else "?",
        "hosting_organisation": (facts.organisation if facts else None) or "",
        "first_reported_at": item.first_reported_at.isoformat(),
        "sent_at": now.isoformat(),
        "deadline_at": item.deadline_at.isoformat() if item.deadline_at else "",
    }


def _classification(item: Item) -> str:
    if item.assessment is None:
        return "not classified"
    if item.assessment.classification is Classification.BASELINE:
        return "illegal everywhere (INHOPE baseline)"
    return f"illegal under the law of {item.assessment.jurisdiction or 'the assessing hotline'}"


def _xarf(item: Item, settings: NoticeSettings, now: datetime) -> str:
    """An X-ARF v4 `content`/`csam` report, for a BASELINE item. The format's `classification` has no value
    for a classification under one country's law, so the NTD of a NATIONAL item carries its text only."""
    if item.assessment is None or item.assessment.classification is not Classification.BASELINE:
        return ""
    facts = item.hosting.facts if item.hosting else None
    domain = settings.from_email.rpartition("@")[2]
    contact = {"org": settings.organisation, "contact": settings.from_email, "domain": domain}
    hashes = {
        str(h.algorithm): h.hex
        for h in item.hashes
        if h.algorithm in _XARF_HASHES and item.provenance_of(h) in TRUSTED_ITEM_HASHES
    }
    report: dict[str, object] = {
        "xarf_version": "4.0.0",
        "report_id": str(uuid7()),
        "timestamp": item.first_reported_at.isoformat().replace("+00:00", "Z"),
        "reporter": contact,
        "sender": contact,
        "source_identifier": (facts.ip if facts else None) or item.host,
        "category": "content",
        "type": "csam",
        "url": item.url,
        "domain": item.host,
        "classification": "baseline",
        "detection_method": "hash_match" if item.known_content else "manual_review",
        "content_removed": False,
        "description": f"Item {item.item_id}, notice sent {now.isoformat()}",
    }
    media = _XARF_MEDIA.get(item.assessment.content_type)
    if media:
        report["media_type"] = media
    if hashes:
        report["hash_values"] = hashes
    return json.dumps(report, sort_keys=True)
