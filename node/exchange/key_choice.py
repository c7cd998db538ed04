"""Which keys and certificates the trusted roster lets a node use, during and after a key rotation.

After `hotline-node keys rotate` a node holds new keys and its retired ones. Until the authority's roster
lists the new keys, peers would refuse what they sign and could not reach the new certificate; so the node
signs with, and presents, the newest of its keys that its trusted roster lists, and switches on its own as
soon as a roster listing the new ones is trusted (no restart). Peers accept a member's current certificate
and the previous ones the roster lists until their `not_after` (the overlap).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.crypto import SigningKeyPair
from node.crypto.keystore import NodeKeys
from node.crypto.tls import TlsIdentity

__all__ = ["accepted_certificates", "listed_signing_keys", "listed_tls_identity", "validity_ends"]


def listed_signing_keys(
    current: Sequence[SigningKeyPair], retired: Sequence[SigningKeyPair], me: roster_pb2.Member | None
) -> list[SigningKeyPair]:
    """For each current key: itself if the roster lists it (or lists nothing of ours), else the newest retired
    key of its algorithm that the roster lists (`retired` is newest first), else itself."""
    if me is None:
        return list(current)
    listed = {k.key_id for k in me.signing_keys}
    chosen = []
    for key in current:
        fallback = next((r for r in retired if r.algorithm == key.algorithm and r.key_id in listed), None)
        chosen.append(key if key.key_id in listed or fallback is None else fallback)
    return chosen


def listed_tls_identity(keys: NodeKeys, me: roster_pb2.Member | None) -> TlsIdentity:
    """The current certificate if the roster lists it (as current or previous) or lists none of ours; else the
    newest retired one it lists."""
    if me is None:
        return keys.tls
    listed = {me.tls_cert_sha256, *(c.sha256 for c in me.previous_tls_certs)}
    if keys.tls.sha256 in listed:
        return keys.tls
    return next((t for t in keys.retired_tls if t.sha256 in listed), keys.tls)


def accepted_certificates(member: roster_pb2.Member, now: datetime) -> list[tuple[str, str]]:
    """(SHA-256, PEM) of each certificate peers accept from `member` now: its current one, and the previous ones
    whose overlap has not ended."""
    accepted = [(member.tls_cert_sha256, member.tls_cert_pem)] if member.tls_cert_pem else []
    for previous in member.previous_tls_certs:
        if not previous.HasField("not_after") or previous.not_after.ToDatetime(tzinfo=UTC) > now:
            accepted.append((previous.sha256, previous.pem))
    return accepted


def validity_ends(keys: NodeKeys, me: roster_pb2.Member | None) -> dict[str, datetime]:
    """When each kind of key this node uses stops being accepted: "tls" (the certificate it presents: its
    notAfter, or the end of the overlap if the roster lists it as a previous one), "signing" and "hpke" (the
    keys in use, if the roster gives them a not_after). A kind with no end is left out."""
    tls = listed_tls_identity(keys, me)
    ends = {"tls": x509.load_pem_x509_certificate(tls.cert_pem).not_valid_after_utc}
    if me is None:
        return ends
    for previous in me.previous_tls_certs:
        if previous.sha256 == tls.sha256 and previous.HasField("not_after"):
            ends["tls"] = min(ends["tls"], previous.not_after.ToDatetime(tzinfo=UTC))
    used = {k.key_id for k in listed_signing_keys(keys.signing, keys.retired_signing, me)}
    held_hpke = {k.key_id for k in keys.hpke}
    listed: list[tuple[str, roster_pb2.SigningKey | roster_pb2.HpkeKey]] = [
        *(("signing", k) for k in me.signing_keys if k.key_id in used),
        *(("hpke", k) for k in me.hpke_keys[:1] if k.key_id in held_hpke),  # the key peers seal to
    ]
    for kind, key in listed:
        if key.HasField("not_after"):
            end = key.not_after.ToDatetime(tzinfo=UTC)
            ends[kind] = min(ends.get(kind, end), end)
    return ends
