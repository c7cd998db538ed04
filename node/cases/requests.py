"""Validated inputs of the case service. The API's serde builds them; every field is checked by the rules of
node.cases.fields (re-exported here for the use cases)."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime

from node.cases.fields import (
    MAX_NOTE_CHARS,
    MAX_TEXT_CHARS,
    check_country,
    check_node_id,
    check_note,
    check_request_id,
    check_text,
)
from node.cases.model import ActionType, Reporter
from node.errors import InvalidArgument
from node.hosting import HostingFacts

__all__ = [
    "MAX_NOTE_CHARS",
    "MAX_TEXT_CHARS",
    "NewReport",
    "NewUrl",
    "RawHash",
    "check_country",
    "check_hosting_facts",
    "check_node_id",
    "check_note",
    "check_request_id",
    "check_text",
]

_MAX_ASN = 2**32 - 1


@dataclass(frozen=True, slots=True)
class RawHash:
    algorithm: str
    value: str


@dataclass(frozen=True, slots=True)
class NewUrl:
    url: str
    hashes: tuple[RawHash, ...] = ()


@dataclass(frozen=True, slots=True)
class NewReport:
    urls: tuple[NewUrl, ...]
    referrer_url: str = ""
    reporter: Reporter = field(default_factory=Reporter)
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewAction:
    type: ActionType
    note: str = ""
    moved_to_country: str = ""


@dataclass(frozen=True, slots=True)
class HostingOverride:
    facts: HostingFacts
    reason: str


def check_hosting_facts(facts: HostingFacts, *, field: str) -> HostingFacts:
    """Hosting facts from outside the node's own resolver (an analyst's override, a peer's referral), checked
    field by field and put in canonical form: the address as an IP address, the country in upper case."""
    ip = None
    if facts.ip:
        try:
            address = ipaddress.ip_address(facts.ip.strip().removeprefix("[").removesuffix("]"))
        except ValueError:
            raise InvalidArgument("must be an IPv4 or IPv6 address", field=f"{field}.ip") from None
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
            raise InvalidArgument("must be an address without a zone (%...)", field=f"{field}.ip")
        ip = str(address)
    country = check_country(facts.country, field=f"{field}.country") if facts.country else None
    if facts.asn is not None and not 0 <= facts.asn <= _MAX_ASN:
        raise InvalidArgument(f"must be an AS number from 0 to {_MAX_ASN}", field=f"{field}.asn")
    organisation = None
    if facts.organisation and facts.organisation.strip():
        organisation = check_text(facts.organisation.strip(), field=f"{field}.organisation")
    return dataclasses.replace(facts, ip=ip, country=country, organisation=organisation)
