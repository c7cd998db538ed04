"""Key rotation: every kind of key rotates, a crash at any step leaves a complete set (old or new), the node uses
the keys its roster lists, and peers accept a retired certificate only during the overlap."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.clock import ManualClock
from node.crypto import SigningKeyPair
from node.crypto.keystore import KeyStore, KeyStoreError, NodeKeys
from node.exchange.authority import authority_key, build_roster, member_entry
from node.exchange.key_choice import accepted_certificates, listed_signing_keys, listed_tls_identity
from tests.exchange.test_two_nodes import NODES, _free_port, _roster, build_exchange_node

NOW = datetime(2026, 3, 2, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _ids(keys: NodeKeys) -> tuple[list[str], list[str], str]:
    return [k.key_id for k in keys.signing], [k.key_id for k in keys.hpke[:1]], keys.tls.sha256


def _member(keys: NodeKeys, **entry_options: Any) -> roster_pb2.Member:
    entry = member_entry("nl-hotline", ["NL"], "127.0.0.1:20001", keys, **entry_options)
    authority = SigningKeyPair.generate()
    roster = build_roster(
        [entry],
        version=1,
        now=NOW,
        valid_for=timedelta(days=30),
        authority=[authority_key(authority.algorithm, authority.public.public_key)],
        threshold=1,
    )
    return roster.members[0]


def test_rotating_every_kind_keeps_the_old_keys_and_a_restart_loads_the_new_set(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.load_or_create("nl-hotline", NOW)
    new = store.rotate("nl-hotline", LATER, kinds=["signing", "hpke", "tls"])
    old_signing, old_hpke, old_tls = _ids(old)
    new_signing, new_hpke, new_tls = _ids(new)
    assert set(new_signing).isdisjoint(old_signing) and new_hpke != old_hpke and new_tls != old_tls
    assert [k.key_id for k in new.retired_signing] == old_signing
    assert old_hpke[0] in {k.key_id for k in new.hpke}  # messages sealed to the old key still open
    assert [t.sha256 for t in new.retired_tls] == [old_tls]
    assert new.retired_at[old_tls] == LATER and new.retired_at[old_signing[0]] == LATER
    assert _ids(KeyStore(tmp_path / "keys").load_or_create("nl-hotline", LATER)) == _ids(new)
    assert not (tmp_path / "keys" / "rotation").exists()


def test_rotating_only_the_tls_certificate_keeps_the_message_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.load_or_create("nl-hotline", NOW)
    new = store.rotate("nl-hotline", LATER, kinds=["tls"])
    assert _ids(new)[:2] == _ids(old)[:2] and new.tls.sha256 != old.tls.sha256
    assert not new.retired_signing


def test_an_unknown_kind_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.load_or_create("nl-hotline", NOW)
    with pytest.raises(KeyStoreError, match="kinds must be among signing, hpke, tls"):
        store.rotate("nl-hotline", LATER, kinds=["signing", "ssh"])
    assert _ids(store.load_or_create("nl-hotline", LATER)) == _ids(old)


@pytest.mark.parametrize("crash_at", range(9))  # the commit, then 2 renames for each of 4 files
def test_a_rotation_killed_at_any_step_leaves_the_old_or_the_new_keys_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    """A crash (kill -9) between any two renames: the next load has a complete set, old or new, and holds
    every old key (retired or current), so what peers seal or verify against either roster still works."""
    store = KeyStore(tmp_path / "keys")
    old = store.load_or_create("nl-hotline", NOW)
    renames = {"count": 0}
    real_rename = os.rename

    def crashing_rename(src: Any, dst: Any) -> None:
        if renames["count"] == crash_at:
            raise KeyboardInterrupt("killed")  # nothing after this step runs, as after kill -9
        renames["count"] += 1
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", crashing_rename)
    with pytest.raises(KeyboardInterrupt):
        store.rotate("nl-hotline", LATER, kinds=["signing", "hpke", "tls"])
    monkeypatch.setattr(os, "rename", real_rename)
    after = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", LATER)
    assert _ids(after) == _ids(old) or set(_ids(after)[0]).isdisjoint(_ids(old)[0])
    rotated = _ids(after) != _ids(old)
    if rotated:  # all three kinds switched together, and the old ones are kept
        assert _ids(after)[1] != _ids(old)[1] and after.tls.sha256 != old.tls.sha256
        assert [k.key_id for k in after.retired_signing] == _ids(old)[0]
        assert [t.sha256 for t in after.retired_tls] == [old.tls.sha256]
    assert {k.key_id for k in old.hpke} <= {k.key_id for k in after.hpke}
    assert not (tmp_path / "keys" / "rotation").exists() and not (tmp_path / "keys" / "rotation.tmp").exists()
    assert rotated == (crash_at >= 1)  # past the commit point (staging renamed), the rotation is finished


def test_the_node_signs_and_presents_what_its_roster_lists_until_the_new_keys_are_listed(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.load_or_create("nl-hotline", NOW)
    new = store.rotate("nl-hotline", LATER, kinds=["signing", "hpke", "tls"])
    listing_old = _member(old)
    assert [k.key_id for k in listed_signing_keys(new.signing, new.retired_signing, listing_old)] == _ids(old)[0]
    assert listed_tls_identity(new, listing_old).sha256 == old.tls.sha256
    listing_both = _member(new, overlap=timedelta(days=14), now=LATER)
    assert [k.key_id for k in listed_signing_keys(new.signing, new.retired_signing, listing_both)] == _ids(new)[0]
    assert listed_tls_identity(new, listing_both).sha256 == new.tls.sha256
    assert listed_tls_identity(new, None).sha256 == new.tls.sha256  # no roster entry yet: the current keys


def test_the_new_entry_lists_the_retired_keys_until_the_overlap_ends(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.load_or_create("nl-hotline", NOW)
    new = store.rotate("nl-hotline", LATER, kinds=["signing", "hpke", "tls"])
    member = _member(new, overlap=timedelta(days=14), now=LATER)
    end = LATER + timedelta(days=14)
    retired_signing = [k for k in member.signing_keys if k.key_id in _ids(old)[0]]
    assert [k.not_after.ToDatetime(tzinfo=UTC) for k in retired_signing] == [end]
    assert not any(k.HasField("not_after") for k in member.signing_keys if k.key_id in _ids(new)[0])
    assert [(c.sha256, c.not_after.ToDatetime(tzinfo=UTC)) for c in member.previous_tls_certs] == [
        (old.tls.sha256, end)
    ]
    assert [sha for sha, _ in accepted_certificates(member, end - timedelta(seconds=1))] == [
        new.tls.sha256,
        old.tls.sha256,
    ]
    assert [sha for sha, _ in accepted_certificates(member, end)] == [new.tls.sha256]  # the overlap is over
    assert not _member(new, overlap=timedelta(days=14), now=end).previous_tls_certs


def test_a_certificate_nearing_its_end_is_warned_about_once_then_reported_expired(
    tmp_path: Path, clock: ManualClock
) -> None:
    ports = {node_id: _free_port() for node_id in NODES}
    roster_file = _roster(tmp_path, ports, clock)
    node = build_exchange_node(tmp_path, "nl-hotline", "NL", ports["nl-hotline"], roster_file, clock)
    try:
        exchange = node.exchange
        assert exchange is not None
        assert exchange.check_key_expiry(timedelta(days=14)) == {}
        ends = exchange.key_expiries()["tls"]  # a new certificate is valid for 825 days
        clock.advance(ends - clock.now() - timedelta(days=10))
        assert exchange.check_key_expiry(timedelta(days=14)) == {"tls": "expiring"}
        assert exchange.check_key_expiry(timedelta(days=14)) == {"tls": "expiring"}
        clock.advance(timedelta(days=11))
        assert exchange.check_key_expiry(timedelta(days=14)) == {"tls": "expired"}
        events = [(e.kind, e.detail) for e in node.cases.list_events(after_seq=0, limit=1000)]
        warned = [detail for kind, detail in events if kind in ("keys.expiring", "keys.expired")]
        assert warned == [
            f"KEY_EXPIRING: this node's TLS certificate stops being accepted at {ends.isoformat()}: run "
            "`hotline-node keys rotate --tls` and send the entry to the authority",
            f"KEY_EXPIRED: this node's TLS certificate stopped being accepted at {ends.isoformat()}: run "
            "`hotline-node keys rotate --tls` and send the entry to the authority",
        ]
    finally:
        node.engine.dispose()


def test_two_rotations_at_one_instant_keep_every_retired_key(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.load_or_create("nl-hotline", NOW)
    second = store.rotate("nl-hotline", LATER)
    third = store.rotate("nl-hotline", LATER)
    retired = {k.key_id for k in third.retired_signing}
    assert retired == {first.signing[0].key_id, second.signing[0].key_id}
    assert {first.hpke[0].key_id, second.hpke[0].key_id} <= {k.key_id for k in third.hpke}
