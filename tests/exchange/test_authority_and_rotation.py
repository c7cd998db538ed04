"""The authority's roster builder (member status, fallback policy) and key rotation in the key store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.crypto import SigningKeyPair
from node.crypto.keystore import KeyStore
from node.errors import InvalidArgument
from node.exchange.authority import build_signed_roster, member_entry

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def _entries(tmp: Path) -> list[dict[str, Any]]:
    return [
        member_entry(node, [country], f"127.0.0.1:{port}", KeyStore(tmp / node).load_or_create(node, NOW))
        for node, country, port in (("nl-hotline", "NL", 20001), ("de-hotline", "DE", 20002))
    ]


def _build(entries: list[dict[str, Any]], **kwargs: Any) -> bytes:
    authority = [SigningKeyPair.generate() for _ in range(3)]
    return build_signed_roster(
        entries,
        version=1,
        now=NOW,
        valid_for=timedelta(days=30),
        authority_keys=authority[:2],
        next_authority=authority,
        threshold=2,
        **kwargs,
    )


def test_member_status_and_the_refer_fallback_reach_the_signed_roster(tmp_path: Path) -> None:
    entries = _entries(tmp_path)
    entries[1]["status"] = "suspended"
    signed = _build(entries, fallback="refer", fallback_node="nl-hotline")
    roster = roster_pb2.Roster.FromString(roster_pb2.SignedRoster.FromString(signed).roster)
    assert [m.status for m in roster.members] == [roster_pb2.MEMBER_STATUS_FULL, roster_pb2.MEMBER_STATUS_SUSPENDED]
    assert roster.fallback.kind == roster_pb2.FALLBACK_KIND_REFER and roster.fallback.node_id == "nl-hotline"


@pytest.mark.parametrize(
    ("change", "kwargs", "field"),
    [
        (lambda e: None, {"fallback": "nearest"}, "fallback"),
        (lambda e: None, {"fallback": "refer", "fallback_node": "fr-hotline"}, "fallback_node"),
        (lambda e: e[0].update(status="dormant"), {}, "members[0]"),
    ],
)
def test_a_bad_status_or_fallback_is_refused_naming_the_field(
    tmp_path: Path, change: Any, kwargs: dict[str, str], field: str
) -> None:
    entries = _entries(tmp_path)
    change(entries)
    with pytest.raises(InvalidArgument) as refused:
        _build(entries, **kwargs)
    assert refused.value.field == field


def test_rotation_signs_with_new_keys_and_keeps_the_old_ones_listed_and_able_to_open(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.load_or_create("nl-hotline", NOW)
    new = store.rotate("nl-hotline", NOW)
    assert [k.key_id for k in new.signing] != [k.key_id for k in old.signing]
    assert [k.key_id for k in new.retired_signing] == [k.key_id for k in old.signing]
    assert new.hpke[0].key_id != old.hpke[0].key_id
    assert old.hpke[0].key_id in {k.key_id for k in new.hpke}  # messages sealed to the old key still open
    assert new.tls.cert_pem == old.tls.cert_pem
    again = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW)  # a restart loads the same set
    assert [k.key_id for k in again.signing] == [k.key_id for k in new.signing]
    assert [k.key_id for k in again.hpke] == [k.key_id for k in new.hpke]
    entry = member_entry("nl-hotline", ["NL"], "127.0.0.1:20001", new)
    listed = {k["key_id"] for k in entry["signing_keys"]}
    assert {k.key_id for k in old.signing} <= listed and {k.key_id for k in new.signing} <= listed
