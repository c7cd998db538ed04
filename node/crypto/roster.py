"""The signed membership roster, verified like The Update Framework's root metadata.

Version N+1 is trusted only if a threshold of version N's authority keys signed it, so the authority's own
keys can rotate; older versions (rollback) and expired rosters (freeze) are refused.

    signature input = "hotline-exchange/v1/roster" || the exact Roster bytes
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf.message import DecodeError

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2
from node.crypto.keys import PublicSigningKey, SigningKeyPair

__all__ = ["RosterError", "sign_roster", "verify_roster", "verify_roster_chain"]

_ROSTER = b"hotline-exchange/v1/roster"


class RosterError(Exception):
    """A roster that must not be trusted. `reason`: MALFORMED, ROLLBACK, EXPIRED, THRESHOLD."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def sign_roster(roster: roster_pb2.Roster, authority_keys: Sequence[SigningKeyPair]) -> bytes:
    body = roster.SerializeToString(deterministic=True)
    signed = roster_pb2.SignedRoster(
        roster=body,
        signatures=[
            envelope_pb2.Signature(key_id=k.key_id, algorithm=k.algorithm, signature=k.sign(_ROSTER + body))  # type: ignore[arg-type]
            for k in authority_keys
        ],
    )
    return signed.SerializeToString(deterministic=True)


def verify_roster(
    signed_bytes: bytes,
    *,
    trusted: roster_pb2.Roster | None,
    now: datetime,
    bootstrap: roster_pb2.AuthorityKeys | None = None,
) -> roster_pb2.Roster:
    """The roster inside `signed_bytes`, if a threshold of the trusted roster's authority keys (or of the
    bootstrap authority, for the first one) signed it, it is newer, and it has not expired."""
    try:
        signed = roster_pb2.SignedRoster.FromString(signed_bytes)
        roster = roster_pb2.Roster.FromString(signed.roster)
    except DecodeError:
        raise RosterError("MALFORMED", "not a signed roster") from None
    authority = trusted.authority if trusted is not None else bootstrap
    if authority is None or authority.threshold < 1:
        raise RosterError("THRESHOLD", "no authority to verify the roster against")
    if trusted is not None and roster.version <= trusted.version:
        raise RosterError("ROLLBACK", f"version {roster.version} is not newer than the trusted {trusted.version}")
    if roster.expires_at.ToDatetime(tzinfo=UTC) <= now:
        raise RosterError("EXPIRED", f"version {roster.version} expired")
    keys = {k.key_id: PublicSigningKey(k.algorithm, k.public_key) for k in authority.keys if _valid_at(k, now)}
    signers = {
        s.key_id
        for s in signed.signatures
        if s.key_id in keys
        and keys[s.key_id].algorithm == s.algorithm
        and keys[s.key_id].verify(s.signature, _ROSTER + signed.roster)
    }
    if len(signers) < authority.threshold:
        raise RosterError("THRESHOLD", f"{len(signers)} valid authority signature(s); {authority.threshold} are needed")
    return roster


def verify_roster_chain(
    signed_rosters: Sequence[bytes],
    *,
    trusted: roster_pb2.Roster | None,
    now: datetime,
    bootstrap: roster_pb2.AuthorityKeys | None = None,
) -> roster_pb2.Roster | None:
    """Apply newer versions in order, each verified by the one before: a node that lags catches up."""
    current = trusted
    for signed in signed_rosters:
        current = verify_roster(signed, trusted=current, now=now, bootstrap=bootstrap)
    return current


def _valid_at(key: roster_pb2.SigningKey, now: datetime) -> bool:
    if key.HasField("not_before") and key.not_before.ToDatetime(tzinfo=UTC) > now:
        return False
    return not (key.HasField("not_after") and key.not_after.ToDatetime(tzinfo=UTC) <= now)
