"""The signed membership roster, verified like The Update Framework's root metadata.

Version N+1 is trusted only if a threshold of version N's authority keys signed it, so the authority's own
keys can rotate; older versions (rollback) and expired rosters (freeze) are refused.

    signature input = "hotline-exchange/v1/roster" || the exact Roster bytes

Keys count, not labels: every key id in a roster (authority and members) must be the one derived from its
public key (`node.crypto.keys.key_id`), a public key appears once in an authority set, and a threshold counts
distinct public keys whose signatures verify. A roster that breaks this is refused wherever it is met: when
signed, when trusted first, and in every update.

The first roster a node trusts is checked against pinned authority key ids (`PinnedAuthority`, from the
node's config), as a TUF client pins its root; without a pin it is checked against the authority it lists
itself (trust on first use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2
from node.crypto.keys import PublicSigningKey, SigningKeyPair, key_id

__all__ = [
    "PinnedAuthority",
    "RosterError",
    "bad_signatures",
    "check_roster_keys",
    "parse_signed_roster",
    "roster_signature",
    "sign_roster",
    "verify_first_roster",
    "verify_roster",
    "verify_roster_chain",
]

_ROSTER = b"hotline-exchange/v1/roster"


class RosterError(Exception):
    """A roster that must not be trusted. `reason`: MALFORMED, ROLLBACK, EXPIRED, THRESHOLD, KEY_ID_MISMATCH
    (a key id that is not derived from its public key), DUPLICATE_KEY (a public key or key id listed twice in an
    authority set), NOT_PINNED (a first roster without a threshold of the pinned authority's signatures),
    BAD_SIGNATURE (under the threshold, and a signature by an authority key does not verify). The roster tools
    (node.exchange.roster_rules, node.exchange.custody, node.exchange.roster_state) add NOT_NEXT,
    DUPLICATE_NODE, DUPLICATE_MEMBER, NO_KEY, UNKNOWN_COUNTRY, BAD_VALIDITY, BAD_DESIGNATION, BAD_FALLBACK,
    BAD_STATUS, NOT_AUTHORITY and DIFFERENT_DRAFTS."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class PinnedAuthority:
    """The network authority a node trusts before it trusts any roster: key ids and how many must sign."""

    key_ids: frozenset[str]
    threshold: int


def sign_roster(roster: roster_pb2.Roster, authority_keys: Sequence[SigningKeyPair]) -> bytes:
    """The signed roster; raises RosterError if its keys break the rules above (see `check_roster_keys`)."""
    check_roster_keys(roster)
    body = roster.SerializeToString(deterministic=True)
    signed = roster_pb2.SignedRoster(roster=body, signatures=[roster_signature(body, k) for k in authority_keys])
    return signed.SerializeToString(deterministic=True)


def roster_signature(body: bytes, key: SigningKeyPair) -> envelope_pb2.Signature:
    """`key`'s signature on the exact Roster bytes `body`: what each custodian adds on their own machine."""
    return envelope_pb2.Signature(key_id=key.key_id, algorithm=key.algorithm, signature=key.sign(_ROSTER + body))  # type: ignore[arg-type]


def verify_roster(
    signed_bytes: bytes,
    *,
    trusted: roster_pb2.Roster | None,
    now: datetime,
    bootstrap: roster_pb2.AuthorityKeys | None = None,
) -> roster_pb2.Roster:
    """The roster inside `signed_bytes`, if a threshold of the trusted roster's authority keys (or of the
    bootstrap authority, for the first one) signed it, it is newer, and it has not expired."""
    signed, roster = _parse(signed_bytes)
    authority = trusted.authority if trusted is not None else bootstrap
    if authority is None or authority.threshold < 1:
        raise RosterError("THRESHOLD", "no authority to verify the roster against")
    _check_authority(authority, "the trusted authority")
    check_roster_keys(roster)
    if trusted is not None and roster.version <= trusted.version:
        raise RosterError("ROLLBACK", f"version {roster.version} is not newer than the trusted {trusted.version}")
    if roster.expires_at.ToDatetime(tzinfo=UTC) <= now:
        raise RosterError("EXPIRED", f"version {roster.version} expired")
    signers = _signers(signed, authority, now)
    if len(signers) < authority.threshold:
        forged = bad_signatures(signed, authority)
        if forged:
            raise RosterError(
                "BAD_SIGNATURE",
                f"the signature(s) of {', '.join(forged)} do not verify on version {roster.version}; "
                f"{len(signers)} valid authority signature(s), {authority.threshold} are needed",
            )
        raise RosterError("THRESHOLD", f"{len(signers)} valid authority signature(s); {authority.threshold} are needed")
    return roster


def bad_signatures(signed: roster_pb2.SignedRoster, authority: roster_pb2.AuthorityKeys) -> list[str]:
    """The key ids of `authority` whose signature on `signed` does not verify (a tampered roster, or a
    signature made over other bytes)."""
    keys = {k.key_id: PublicSigningKey(k.algorithm, k.public_key) for k in authority.keys}
    return sorted(
        {
            s.key_id
            for s in signed.signatures
            if s.key_id in keys
            and not (
                keys[s.key_id].algorithm == s.algorithm and keys[s.key_id].verify(s.signature, _ROSTER + signed.roster)
            )
        }
    )


def verify_first_roster(signed_bytes: bytes, *, now: datetime, pinned: PinnedAuthority | None) -> roster_pb2.Roster:
    """The first roster a node trusts. With `pinned`, it must carry valid signatures by `pinned.threshold` of
    the pinned keys (which it must list among its authority keys, as that is where their public keys are);
    without, by a threshold of the authority it lists itself (trust on first use)."""
    signed, first = _parse(signed_bytes)
    if pinned is None:
        return verify_roster(signed_bytes, trusted=None, now=now, bootstrap=first.authority)
    check_roster_keys(first)
    listed = [k for k in first.authority.keys if k.key_id in pinned.key_ids]
    bootstrap = roster_pb2.AuthorityKeys(threshold=pinned.threshold, keys=listed)
    signers = _signers(signed, bootstrap, now)
    if len(signers) < pinned.threshold:
        unlisted = sorted(pinned.key_ids - {k.key_id for k in listed})
        note = f" ({', '.join(unlisted)} not among its authority keys)" if unlisted else ""
        raise RosterError(
            "NOT_PINNED",
            f"version {first.version} carries {len(signers)} valid signature(s) by the pinned authority keys{note}; "
            f"it needs {pinned.threshold}",
        )
    return verify_roster(signed_bytes, trusted=None, now=now, bootstrap=bootstrap)


def check_roster_keys(roster: roster_pb2.Roster) -> None:
    """Raise RosterError unless every key id in `roster` is derived from its public key, and its authority
    set lists each public key once, with a threshold its distinct keys can meet."""
    _check_authority(roster.authority, f"version {roster.version}'s authority")
    if not 1 <= roster.authority.threshold <= len(roster.authority.keys):
        raise RosterError(
            "THRESHOLD",
            f"version {roster.version}'s authority threshold {roster.authority.threshold} cannot be met by its "
            f"{len(roster.authority.keys)} key(s)",
        )
    for member in roster.members:
        for signing in member.signing_keys:
            _check_key_id(signing.key_id, signing.algorithm, signing.public_key, f"member {member.node_id}", False)
        for sealing in member.hpke_keys:
            _check_key_id(sealing.key_id, sealing.suite, sealing.public_key, f"member {member.node_id}", True)


def parse_signed_roster(signed_bytes: bytes) -> tuple[roster_pb2.SignedRoster, roster_pb2.Roster]:
    """The signed roster and the roster inside it, checking nothing but the format (MALFORMED)."""
    return _parse(signed_bytes)


def _parse(signed_bytes: bytes) -> tuple[roster_pb2.SignedRoster, roster_pb2.Roster]:
    try:
        signed = roster_pb2.SignedRoster.FromString(signed_bytes)
        return signed, roster_pb2.Roster.FromString(signed.roster)
    except DecodeError:
        raise RosterError("MALFORMED", "not a signed roster") from None


def _check_authority(authority: roster_pb2.AuthorityKeys, where: str) -> None:
    seen: set[bytes | str] = set()
    for key in authority.keys:
        _check_key_id(key.key_id, key.algorithm, key.public_key, where, False)
        if key.public_key in seen or key.key_id in seen:
            raise RosterError("DUPLICATE_KEY", f"{where} lists key {key.key_id} twice")
        seen.update((key.public_key, key.key_id))


def _check_key_id(listed: str, algorithm: int, public_key: bytes, where: str, hpke: bool) -> None:
    try:
        derived = key_id(algorithm, public_key, hpke=hpke)
    except KeyError:
        raise RosterError("MALFORMED", f"{where}: key {listed} has an unsupported algorithm ({algorithm})") from None
    if listed != derived:
        raise RosterError(
            "KEY_ID_MISMATCH", f"{where}: key id {listed} is not the one derived from its public key ({derived})"
        )


def _signers(signed: roster_pb2.SignedRoster, authority: roster_pb2.AuthorityKeys, now: datetime) -> set[bytes]:
    """The distinct public keys of `authority`, valid at `now`, with a valid signature on the roster."""
    keys = {k.key_id: PublicSigningKey(k.algorithm, k.public_key) for k in authority.keys if _valid_at(k, now)}
    return {
        keys[s.key_id].public_key
        for s in signed.signatures
        if s.key_id in keys
        and keys[s.key_id].algorithm == s.algorithm
        and keys[s.key_id].verify(s.signature, _ROSTER + signed.roster)
    }


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
