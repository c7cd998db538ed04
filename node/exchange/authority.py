"""Tools for the network authority: a member's roster entry as JSON, and a signed roster built from entries.

A member runs `hotline-node member-entry` and sends the JSON (public keys, certificate, endpoint) to the
authority; the authority keeps its signing keys offline and runs `hotline-node roster-sign`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.crypto import SigningKeyPair
from node.crypto.keys import key_id
from node.crypto.keystore import NodeKeys
from node.crypto.roster import sign_roster
from node.errors import InvalidArgument

__all__ = ["FALLBACKS", "STATUSES", "authority_key", "build_roster", "build_signed_roster", "member_entry"]

STATUSES = {
    "full": roster_pb2.MEMBER_STATUS_FULL,
    "provisional": roster_pb2.MEMBER_STATUS_PROVISIONAL,
    "suspended": roster_pb2.MEMBER_STATUS_SUSPENDED,
    "revoked": roster_pb2.MEMBER_STATUS_REVOKED,
}
FALLBACKS = {"direct": roster_pb2.FALLBACK_KIND_DIRECT, "refer": roster_pb2.FALLBACK_KIND_REFER}


def member_entry(
    node_id: str,
    jurisdictions: Sequence[str],
    endpoint: str,
    keys: NodeKeys,
    *,
    organisation: str = "",
    require_all_signatures: bool = False,
    overlap: timedelta | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The member's roster entry. Retired keys stay listed (stored records stay verifiable, messages sealed to
    an old HPKE key still open); with `overlap`, each is valid for new messages until `overlap` after it was
    retired (`not_after`), and a retired TLS certificate is listed as a previous one until then (from `now`)."""

    def until(key_id: str) -> dict[str, str]:
        at = keys.retired_at.get(key_id)
        return {"not_after": (at + overlap).isoformat()} if overlap is not None and at is not None else {}

    previous_tls = [
        {"sha256": t.sha256, "pem": t.cert_pem.decode(), **until(t.sha256)}
        for t in keys.retired_tls
        if overlap is not None and now is not None and keys.retired_at.get(t.sha256, now) + overlap > now
    ]
    return {
        "node_id": node_id,
        "organisation": organisation,
        "jurisdictions": list(jurisdictions),
        "endpoints": [endpoint],
        "signing_keys": [
            {
                "key_id": k.key_id,
                "algorithm": k.algorithm,
                "public_key": base64.b64encode(k.public.public_key).decode(),
                **until(k.key_id),
            }
            for k in (*keys.signing, *keys.retired_signing)
        ],
        "hpke_keys": [
            {
                "key_id": k.key_id,
                "suite": k.suite,
                "public_key": base64.b64encode(k.public.public_key).decode(),
                **until(k.key_id),
            }
            for k in keys.hpke
        ],
        "tls_cert_sha256": keys.tls.sha256,
        "tls_cert_pem": keys.tls.cert_pem.decode(),
        "previous_tls_certs": previous_tls,
        "required_signatures": [k.algorithm for k in keys.signing] if require_all_signatures else [],
    }


def build_signed_roster(
    entries: Sequence[dict[str, Any]],
    *,
    version: int,
    now: datetime,
    valid_for: timedelta,
    authority_keys: Sequence[SigningKeyPair],
    next_authority: Sequence[SigningKeyPair],
    threshold: int,
    network_id: str = "hotline-network",
    fallback: str = "direct",
    fallback_node: str = "",
) -> bytes:
    """A roster of `entries` (see `build_roster`), signed by `authority_keys` (a threshold of the current
    authority), naming `next_authority` (public keys only) as the keys that must sign the next version."""
    roster = build_roster(
        entries,
        version=version,
        now=now,
        valid_for=valid_for,
        authority=[authority_key(k.algorithm, k.public.public_key) for k in next_authority],
        threshold=threshold,
        network_id=network_id,
        fallback=fallback,
        fallback_node=fallback_node,
    )
    return sign_roster(roster, authority_keys)


def authority_key(algorithm: int, public_key: bytes) -> roster_pb2.SigningKey:
    """An authority key as a roster lists it, its key id derived from the public key."""
    return roster_pb2.SigningKey(
        key_id=key_id(algorithm, public_key),
        algorithm=algorithm,  # type: ignore[arg-type]
        public_key=public_key,
    )


def build_roster(
    entries: Sequence[dict[str, Any]],
    *,
    version: int,
    now: datetime,
    valid_for: timedelta,
    authority: Sequence[roster_pb2.SigningKey],
    threshold: int,
    network_id: str = "hotline-network",
    fallback: str = "direct",
    fallback_node: str = "",
) -> roster_pb2.Roster:
    """The (unsigned) roster of `entries`, naming `authority` as the keys that must sign the next version.

    An entry may carry `status` ("full", "provisional", "suspended" or "revoked"; default full). `fallback`
    is the policy for countries with no member: "direct", or "refer" to `fallback_node`."""
    if fallback not in FALLBACKS:
        raise InvalidArgument("must be 'direct' or 'refer'", field="fallback")
    if fallback == "refer" and not any(e.get("node_id") == fallback_node for e in entries):
        raise InvalidArgument("the 'refer' fallback names a member", field="fallback_node")
    if not 1 <= threshold <= len(authority):
        raise InvalidArgument("must be between 1 and the number of authority keys", field="threshold")
    roster = roster_pb2.Roster(
        network_id=network_id,
        version=version,
        authority=roster_pb2.AuthorityKeys(threshold=threshold, keys=list(authority)),
    )
    roster.fallback.kind = FALLBACKS[fallback]
    roster.fallback.node_id = fallback_node if fallback == "refer" else ""
    roster.issued_at.FromDatetime(now)
    roster.expires_at.FromDatetime(now + valid_for)
    for i, entry in enumerate(entries):
        try:
            roster.members.append(_member(entry))
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            raise InvalidArgument(f"bad member entry: {error}", field=f"members[{i}]") from None
    return roster


def _member(entry: dict[str, Any]) -> roster_pb2.Member:
    status = entry.get("status", "full")
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    member = roster_pb2.Member(
        node_id=entry["node_id"],
        organisation=entry.get("organisation", ""),
        jurisdictions=entry["jurisdictions"],
        status=STATUSES[status],
        endpoints=entry["endpoints"],
        signing_keys=[
            roster_pb2.SigningKey(
                key_id=k["key_id"], algorithm=k["algorithm"], public_key=base64.b64decode(k["public_key"])
            )
            for k in entry["signing_keys"]
        ],
        hpke_keys=[
            roster_pb2.HpkeKey(key_id=k["key_id"], suite=k["suite"], public_key=base64.b64decode(k["public_key"]))
            for k in entry["hpke_keys"]
        ],
        tls_cert_sha256=entry["tls_cert_sha256"],
        tls_cert_pem=entry["tls_cert_pem"],
        designated_for=entry.get("designated_for", []),
        required_signatures=entry.get("required_signatures", []),
        previous_tls_certs=[
            roster_pb2.TlsCertificate(sha256=c["sha256"], pem=c["pem"]) for c in entry.get("previous_tls_certs", [])
        ],
    )
    listed: list[tuple[dict[str, Any], Any]] = [
        *zip(entry["signing_keys"], member.signing_keys, strict=True),
        *zip(entry["hpke_keys"], member.hpke_keys, strict=True),
        *zip(entry.get("previous_tls_certs", []), member.previous_tls_certs, strict=True),
    ]
    for given, key in listed:
        if given.get("not_after"):
            key.not_after.FromDatetime(datetime.fromisoformat(given["not_after"]))
    return member
