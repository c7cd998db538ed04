"""What a roster the authority signs must say: the rules the roster tools check before anyone signs, and again
when the signatures are assembled (`roster draft`, `roster finalize`, `roster-sign`, `roster verify`).

The cryptographic rules (key ids derived from public keys, no key twice in the authority, the threshold) are
node.crypto.roster's; these are about the content. Nodes do not apply them to a roster the authority has
signed (its signature is what they trust); the authority's own tools refuse to produce one that breaks them.
Every refusal is a RosterError whose reason names the rule and whose message names the member or field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.crypto.roster import RosterError, check_roster_keys
from node.crypto.tls import cert_sha256
from node.hosting.countries import is_assigned_country

__all__ = ["check_next_version", "check_roster_contents"]


def check_roster_contents(roster: roster_pb2.Roster, now: datetime) -> None:
    """Raise RosterError for the first rule `roster` breaks: a version from 1, a validity that has begun and
    not ended, each node id once, no key or certificate shared by two members, every member with a signing
    and an HPKE key, assigned ISO 3166-1 country codes, a status, designations a member can hold, and a
    fallback that names a member."""
    if roster.version < 1:
        raise RosterError("NOT_NEXT", f"version {roster.version}: versions start at 1")
    _check_validity(roster, now)
    check_roster_keys(roster)
    seen_ids: set[str] = set()
    owners: dict[bytes | str, str] = {}
    for member in roster.members:
        where = f"member {member.node_id or '(no node id)'}"
        if not member.node_id:
            raise RosterError("NO_KEY", f"{where}: a member needs a node id")
        if member.node_id in seen_ids:
            raise RosterError("DUPLICATE_NODE", f"node id {member.node_id} is listed twice")
        seen_ids.add(member.node_id)
        if not member.signing_keys or not member.hpke_keys:
            missing = "signing key" if not member.signing_keys else "HPKE key"
            raise RosterError("NO_KEY", f"{where} has no {missing}")
        keys: list[bytes | str] = [k.public_key for k in member.signing_keys]
        keys += [k.public_key for k in member.hpke_keys]
        keys += [member.tls_cert_sha256] if member.tls_cert_sha256 else []
        keys += [c.sha256 for c in member.previous_tls_certs]
        for previous in member.previous_tls_certs:
            if _fingerprint(previous.pem) != previous.sha256:
                raise RosterError("MALFORMED", f"{where}: a previous TLS certificate does not match its SHA-256")
        for key in keys:
            other = owners.setdefault(key, member.node_id)
            if other != member.node_id:
                raise RosterError(
                    "DUPLICATE_MEMBER", f"{where} and member {other} share a key or certificate (one member twice?)"
                )
        if member.status == roster_pb2.MEMBER_STATUS_UNSPECIFIED:
            raise RosterError("BAD_STATUS", f"{where} has no status")
        if not member.jurisdictions:
            raise RosterError("UNKNOWN_COUNTRY", f"{where} lists no jurisdiction")
        _check_countries(member.jurisdictions, f"{where}'s jurisdictions")
        _check_countries(member.designated_for, f"{where}'s designated countries")
        outside = sorted(set(member.designated_for) - set(member.jurisdictions))
        if outside:
            raise RosterError(
                "BAD_DESIGNATION", f"{where} is designated for {', '.join(outside)}, outside its jurisdictions"
            )
    _check_designations(roster)
    if roster.fallback.kind == roster_pb2.FALLBACK_KIND_REFER and roster.fallback.node_id not in seen_ids:
        raise RosterError("BAD_FALLBACK", f"the fallback refers to {roster.fallback.node_id!r}, which is no member")


def check_next_version(roster: roster_pb2.Roster, current: roster_pb2.Roster | None) -> None:
    """Raise RosterError unless `roster` is version 1 (no current roster) or exactly one above `current`."""
    expected = 1 if current is None else current.version + 1
    if current is not None and roster.version <= current.version:
        raise RosterError("ROLLBACK", f"version {roster.version} is not newer than the current {current.version}")
    if roster.version != expected:
        after = f"after version {current.version}" if current is not None else "for a new network"
        raise RosterError("NOT_NEXT", f"version {roster.version} is not the next version {after}: {expected} is")


def _check_validity(roster: roster_pb2.Roster, now: datetime) -> None:
    expires = roster.expires_at.ToDatetime(tzinfo=UTC)
    if not roster.HasField("expires_at") or expires <= now:
        raise RosterError("BAD_VALIDITY", f"version {roster.version} expires at {expires.isoformat()}, not after now")
    if roster.HasField("issued_at") and roster.issued_at.ToDatetime(tzinfo=UTC) >= expires:
        raise RosterError("BAD_VALIDITY", f"version {roster.version} expires before it is issued")


def _check_countries(codes: Iterable[str], where: str) -> None:
    unknown = sorted(c for c in codes if not is_assigned_country(c))
    if unknown:
        raise RosterError("UNKNOWN_COUNTRY", f"{where}: {', '.join(unknown)} not ISO 3166-1 alpha-2 country codes")


def _check_designations(roster: roster_pb2.Roster) -> None:
    designated: dict[str, str] = {}
    for member in roster.members:
        for country in member.designated_for:
            other = designated.setdefault(country, member.node_id)
            if other != member.node_id:
                raise RosterError("BAD_DESIGNATION", f"{other} and {member.node_id} are both designated for {country}")


def _fingerprint(pem: str) -> str:
    """The SHA-256 of a PEM certificate ("" if it is not one)."""
    try:
        return cert_sha256(pem.encode()) if pem.strip() else ""
    except ValueError:
        return ""
