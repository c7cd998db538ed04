"""Threshold custody of the roster, as in TUF's and Sigstore's root-signing ceremonies: the roster is drafted
once, each custodian signs it on their own machine with their own key, and the signatures are assembled and
checked against the threshold at the end. No step ever holds more than one private key.

A draft has the format of a signed roster (a SignedRoster), with no signatures yet: `cosign` appends one,
`finalize` merges the signatures of every custodian's copy and refuses unless they meet the threshold of the
authority that must sign this version (the previous version's; for version 1, its own).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2
from node.crypto import SigningKeyPair
from node.crypto.roster import (
    RosterError,
    parse_signed_roster,
    roster_signature,
    verify_first_roster,
    verify_roster,
)
from node.exchange.authority import STATUSES, build_roster
from node.exchange.roster_rules import check_next_version, check_roster_contents

__all__ = ["DraftOptions", "cosign", "draft_roster", "finalize", "roster_digest", "verify_signed"]


@dataclass(frozen=True, slots=True)
class DraftOptions:
    """What the authority decides for a version, beyond the member entries."""

    valid_for: timedelta = timedelta(days=90)
    version: int | None = None  # default: one above the previous version, or 1
    authority: Sequence[roster_pb2.SigningKey] = ()  # default: the previous version's authority
    threshold: int | None = None  # default: the previous version's, or every authority key
    statuses: Mapping[str, str] = field(default_factory=dict)  # node id -> full, provisional, suspended, revoked
    designated: Mapping[str, str] = field(default_factory=dict)  # country -> node id of its designated receiver
    fallback: str = "direct"
    fallback_node: str = ""
    network_id: str = ""  # default: the previous version's, or "hotline-network"


def draft_roster(
    entries: Sequence[dict[str, Any]], options: DraftOptions, *, previous: roster_pb2.Roster | None, now: datetime
) -> bytes:
    """The unsigned draft of the next version after `previous` (or of version 1). Raises RosterError or
    InvalidArgument, naming the rule and the member, if the roster it describes could not be trusted."""
    if options.valid_for <= timedelta(0):
        days = options.valid_for.total_seconds() / 86_400
        raise RosterError("BAD_VALIDITY", f"the validity must be positive, not {days:g} day(s)")
    authority = list(options.authority) or (list(previous.authority.keys) if previous is not None else [])
    if not authority:
        raise RosterError("THRESHOLD", "name the authority keys that sign the next version (public keys)")
    threshold = options.threshold or (
        previous.authority.threshold if previous is not None and not options.authority else len(authority)
    )
    roster = build_roster(
        _with_choices(entries, options),
        version=options.version
        if options.version is not None
        else (previous.version + 1 if previous is not None else 1),
        now=now,
        valid_for=options.valid_for,
        authority=authority,
        threshold=threshold,
        network_id=options.network_id or (previous.network_id if previous is not None else "hotline-network"),
        fallback=options.fallback,
        fallback_node=options.fallback_node,
    )
    check_next_version(roster, previous)
    if previous is not None and roster.network_id != previous.network_id:
        raise RosterError("MALFORMED", f"network {roster.network_id!r} is not the previous {previous.network_id!r}")
    check_roster_contents(roster, now)
    draft = roster_pb2.SignedRoster(roster=roster.SerializeToString(deterministic=True))
    return draft.SerializeToString(deterministic=True)


def _with_choices(entries: Sequence[dict[str, Any]], options: DraftOptions) -> list[dict[str, Any]]:
    """The entries with the statuses and designations chosen on the command line."""
    chosen = [dict(e) for e in entries]
    by_id = {e.get("node_id"): e for e in chosen}
    for node_id, status in options.statuses.items():
        if node_id not in by_id:
            raise RosterError("BAD_STATUS", f"a status for {node_id}, which has no member entry")
        if status not in STATUSES:
            raise RosterError("BAD_STATUS", f"{node_id}: status {status!r} is not one of {', '.join(STATUSES)}")
        by_id[node_id]["status"] = status
    for country, node_id in options.designated.items():
        if node_id not in by_id:
            raise RosterError("BAD_DESIGNATION", f"{node_id}, designated for {country}, has no member entry")
        entry = by_id[node_id]
        entry["designated_for"] = sorted({*entry.get("designated_for", []), country})
    return chosen


def cosign(draft: bytes, key: SigningKeyPair, *, previous: roster_pb2.Roster | None = None) -> bytes:
    """`draft` with `key`'s signature added (replacing an earlier one by the same key). `key` must be in the
    authority set that signs this version: the previous version's (`previous`), or the draft's own."""
    signed, roster = parse_signed_roster(draft)
    authorities = [roster.authority] + ([previous.authority] if previous is not None else [])
    if not any(key.key_id == k.key_id for a in authorities for k in a.keys):
        where = f"version {roster.version}'s authority" + (
            f" or version {previous.version}'s" if previous is not None else ""
        )
        hint = "" if previous is not None else " (give the previous roster if the authority keys change)"
        raise RosterError("NOT_AUTHORITY", f"key {key.key_id} is not in {where}{hint}")
    kept = [s for s in signed.signatures if s.key_id != key.key_id]
    out = roster_pb2.SignedRoster(roster=signed.roster, signatures=[*kept, roster_signature(signed.roster, key)])
    return out.SerializeToString(deterministic=True)


def finalize(copies: Sequence[bytes], *, previous: roster_pb2.Roster | None, now: datetime) -> bytes:
    """The signed roster: the signatures of every custodian's copy of one draft, merged, checked against the
    threshold of the authority that must sign it (the previous version's; for version 1, its own)."""
    if not copies:
        raise RosterError("THRESHOLD", "no signed copy of the draft to assemble")
    parsed = [parse_signed_roster(c) for c in copies]
    body = parsed[0][0].roster
    if any(signed.roster != body for signed, _ in parsed[1:]):
        raise RosterError("DIFFERENT_DRAFTS", "the copies are not of one draft (their roster digests differ)")
    signatures: dict[tuple[str, bytes], envelope_pb2.Signature] = {}
    for signed, _ in parsed:
        for s in signed.signatures:
            signatures.setdefault((s.key_id, s.signature), s)
    merged = roster_pb2.SignedRoster(roster=body, signatures=list(signatures.values()))
    result = merged.SerializeToString(deterministic=True)
    verify_signed(result, previous=previous, now=now)
    return result


def verify_signed(signed: bytes, *, previous: roster_pb2.Roster | None, now: datetime) -> roster_pb2.Roster:
    """The roster in `signed` if it is the version after `previous` (or version 1), keeps the content rules,
    and carries a threshold of valid signatures by the authority that must sign it; RosterError otherwise."""
    _, roster = parse_signed_roster(signed)
    check_next_version(roster, previous)
    check_roster_contents(roster, now)
    if previous is None:
        return verify_first_roster(signed, now=now, pinned=None)
    return verify_roster(signed, trusted=previous, now=now)


def roster_digest(signed_or_draft: bytes) -> str:
    """`sha256:<hex>` of the exact Roster bytes: what custodians compare out of band before they sign."""
    signed, _ = parse_signed_roster(signed_or_draft)
    return "sha256:" + hashlib.sha256(signed.roster).hexdigest()
