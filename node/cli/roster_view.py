"""A roster as the operator reads it: `describe` (the JSON of `roster show --json`) and `render` (the text)."""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2

__all__ = ["describe", "render"]

_STATUS = {v: k.removeprefix("MEMBER_STATUS_").lower() for k, v in roster_pb2.MemberStatus.items()}
_FALLBACK = {v: k.removeprefix("FALLBACK_KIND_").lower() for k, v in roster_pb2.FallbackKind.items()}
_ALGORITHM = {v: k.removeprefix("SIGNATURE_ALGORITHM_").lower() for k, v in envelope_pb2.SignatureAlgorithm.items()}


def _time(ts: Timestamp, present: bool) -> str | None:
    return ts.ToDatetime().isoformat() + "Z" if present else None


def _validity(key: roster_pb2.SigningKey | roster_pb2.HpkeKey) -> dict[str, str | None]:
    return {
        "not_before": _time(key.not_before, key.HasField("not_before")),
        "not_after": _time(key.not_after, key.HasField("not_after")),
    }


def describe(signed: roster_pb2.SignedRoster, roster: roster_pb2.Roster) -> dict[str, Any]:
    """Everything the roster says, and who signed it (key ids only: whether they verify is `roster verify`)."""
    return {
        "network_id": roster.network_id,
        "version": roster.version,
        "digest": "sha256:" + hashlib.sha256(signed.roster).hexdigest(),
        "issued_at": _time(roster.issued_at, roster.HasField("issued_at")),
        "expires_at": _time(roster.expires_at, roster.HasField("expires_at")),
        "authority": {
            "threshold": roster.authority.threshold,
            "keys": [
                {"key_id": k.key_id, "algorithm": _ALGORITHM.get(k.algorithm, str(k.algorithm)), **_validity(k)}
                for k in roster.authority.keys
            ],
        },
        "signatures": [s.key_id for s in signed.signatures],
        "fallback": {"kind": _FALLBACK.get(roster.fallback.kind, "unspecified"), "node_id": roster.fallback.node_id},
        "members": [
            {
                "node_id": m.node_id,
                "organisation": m.organisation,
                "status": _STATUS.get(m.status, str(m.status)),
                "jurisdictions": list(m.jurisdictions),
                "designated_for": list(m.designated_for),
                "endpoints": list(m.endpoints),
                "signing_keys": [{"key_id": k.key_id, **_validity(k)} for k in m.signing_keys],
                "hpke_keys": [{"key_id": k.key_id, **_validity(k)} for k in m.hpke_keys],
                "tls_cert_sha256": m.tls_cert_sha256,
                "previous_tls_certs": [
                    {"sha256": c.sha256, "not_after": _time(c.not_after, c.HasField("not_after"))}
                    for c in m.previous_tls_certs
                ],
                "required_signatures": [_ALGORITHM.get(a, str(a)) for a in m.required_signatures],
            }
            for m in roster.members
        ],
    }


def render(view: dict[str, Any]) -> str:
    """The text of `roster show`."""
    authority = view["authority"]
    fallback = view["fallback"]
    lines = [
        f"network {view['network_id']}  version {view['version']}  {view['digest']}",
        f"issued {view['issued_at']}  expires {view['expires_at']}",
        f"authority: {authority['threshold']} of {len(authority['keys'])} key(s) sign the next version",
        *(f"  {k['key_id']}{_window(k)}" for k in authority["keys"]),
        f"signed by: {', '.join(view['signatures']) or '(nobody yet: a draft)'}",
        f"fallback: {fallback['kind']}" + (f" to {fallback['node_id']}" if fallback["node_id"] else ""),
        f"members ({len(view['members'])}):",
    ]
    for m in view["members"]:
        designated = f"; designated for {', '.join(m['designated_for'])}" if m["designated_for"] else ""
        lines += [
            f"  {m['node_id']} [{m['status']}] {m['organisation']}",
            f"    countries {', '.join(m['jurisdictions'])}{designated}; endpoints {', '.join(m['endpoints'])}",
            *(f"    signing {k['key_id']}{_window(k)}" for k in m["signing_keys"]),
            *(f"    hpke {k['key_id']}{_window(k)}" for k in m["hpke_keys"]),
            f"    tls sha256 {m['tls_cert_sha256']}",
            *(
                f"    previous tls sha256 {c['sha256']}{_window({'not_before': None, **c})}"
                for c in m["previous_tls_certs"]
            ),
        ]
    return "\n".join(lines)


def _window(key: dict[str, Any]) -> str:
    parts = [
        f"from {key['not_before']}" if key["not_before"] else "",
        f"until {key['not_after']}" if key["not_after"] else "",
    ]
    text = " ".join(p for p in parts if p)
    return f" ({text})" if text else ""
