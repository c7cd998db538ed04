"""Rosters are verified by key, not by label: a key id is the one derived from its public key, a public key
appears once in an authority set, and a threshold counts distinct keys. Every roster path refuses otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from node.api._gen.hotline.exchange.v1 import envelope_pb2, roster_pb2
from node.crypto import SigningKeyPair
from node.crypto.roster import (
    PinnedAuthority,
    RosterError,
    sign_roster,
    verify_first_roster,
    verify_roster,
    verify_roster_chain,
)

NOW = datetime(2026, 3, 2, tzinfo=UTC)
KEYS = [SigningKeyPair.generate() for _ in range(3)]
ALONE = KEYS[0]
FAKE_ID = "ed25519:0123456789abcdef"


def listed(key: SigningKeyPair, key_id: str | None = None) -> roster_pb2.SigningKey:
    return roster_pb2.SigningKey(
        key_id=key_id or key.key_id,
        algorithm=key.algorithm,  # type: ignore[arg-type]
        public_key=key.public.public_key,
    )


def roster(version: int, authority: Sequence[roster_pb2.SigningKey], threshold: int = 2) -> roster_pb2.Roster:
    r = roster_pb2.Roster(
        network_id="test-network",
        version=version,
        authority=roster_pb2.AuthorityKeys(threshold=threshold, keys=list(authority)),
    )
    r.expires_at.FromDatetime(datetime(2027, 1, 1, tzinfo=UTC))
    r.members.append(roster_pb2.Member(node_id="nl-hotline", jurisdictions=["NL"]))
    return r


def forge(r: roster_pb2.Roster, signers: Sequence[tuple[SigningKeyPair, str]]) -> bytes:
    """Signed bytes built by hand, as an attacker would: `sign_roster` itself refuses a bad authority set."""
    body = r.SerializeToString(deterministic=True)
    return roster_pb2.SignedRoster(
        roster=body,
        signatures=[
            envelope_pb2.Signature(
                key_id=key_id,
                algorithm=key.algorithm,  # type: ignore[arg-type]
                signature=key.sign(b"hotline-exchange/v1/roster" + body),
            )
            for key, key_id in signers
        ],
    ).SerializeToString(deterministic=True)


# One public key listed under its own id and a made-up one, signed by its one holder under both: 2-of-2 on paper.
ONE_KEY_TWO_IDS = roster(1, [listed(ALONE), listed(ALONE, FAKE_ID)])
ONE_KEY_TWO_IDS_SIGNED = forge(ONE_KEY_TWO_IDS, [(ALONE, ALONE.key_id), (ALONE, FAKE_ID)])
# The same key listed twice under its own id.
ONE_KEY_TWICE = roster(1, [listed(ALONE), listed(ALONE)])
ONE_KEY_TWICE_SIGNED = forge(ONE_KEY_TWICE, [(ALONE, ALONE.key_id), (ALONE, ALONE.key_id)])


def test_one_public_key_under_two_ids_does_not_meet_a_threshold_of_two() -> None:
    with pytest.raises(RosterError) as caught:
        verify_roster(ONE_KEY_TWO_IDS_SIGNED, trusted=None, now=NOW, bootstrap=ONE_KEY_TWO_IDS.authority)
    assert caught.value.reason == "KEY_ID_MISMATCH"
    assert str(caught.value) == (
        f"KEY_ID_MISMATCH: the trusted authority: key id {FAKE_ID} is not the one derived from its public key "
        f"({ALONE.key_id})"
    )


def test_one_public_key_listed_twice_is_refused_naming_it() -> None:
    with pytest.raises(RosterError) as caught:
        verify_roster(ONE_KEY_TWICE_SIGNED, trusted=None, now=NOW, bootstrap=ONE_KEY_TWICE.authority)
    assert caught.value.reason == "DUPLICATE_KEY"
    assert str(caught.value) == f"DUPLICATE_KEY: the trusted authority lists key {ALONE.key_id} twice"


@pytest.mark.parametrize("signed", [ONE_KEY_TWO_IDS_SIGNED, ONE_KEY_TWICE_SIGNED])
def test_the_first_roster_with_a_bad_authority_set_is_refused_pinned_or_not(signed: bytes) -> None:
    with pytest.raises(RosterError) as caught:
        verify_first_roster(signed, now=NOW, pinned=None)
    assert caught.value.reason in {"KEY_ID_MISMATCH", "DUPLICATE_KEY"}
    with pytest.raises(RosterError) as caught:
        verify_first_roster(signed, now=NOW, pinned=PinnedAuthority(frozenset({ALONE.key_id, FAKE_ID}), 2))
    assert caught.value.reason in {"KEY_ID_MISMATCH", "DUPLICATE_KEY"}
    assert ALONE.key_id in str(caught.value)


def test_an_update_cannot_bring_in_a_bad_authority_set() -> None:
    """Version 2 is signed by a threshold of version 1's keys, but would make 2-of-n into 1-of-n from then on."""
    v1 = roster(1, [listed(k) for k in KEYS])
    v2 = roster(2, [listed(ALONE), listed(ALONE, FAKE_ID)])
    with pytest.raises(RosterError) as caught:
        verify_roster_chain([forge(v2, [(k, k.key_id) for k in KEYS[:2]])], trusted=v1, now=NOW)
    assert caught.value.reason == "KEY_ID_MISMATCH"
    assert "version 2's authority: key id ed25519:0123456789abcdef" in str(caught.value)


def test_a_trusted_roster_with_a_bad_authority_set_verifies_nothing() -> None:
    """A roster trusted before these rules (stored by an older node) does not let one key sign for two."""
    v3 = roster(3, [listed(k) for k in KEYS])
    with pytest.raises(RosterError) as caught:
        verify_roster(forge(v3, [(ALONE, ALONE.key_id), (ALONE, ALONE.key_id)]), trusted=ONE_KEY_TWICE, now=NOW)
    assert caught.value.reason == "DUPLICATE_KEY"


def test_a_threshold_counts_distinct_keys() -> None:
    """Two signatures by one key, under the one id it is listed with, count once."""
    v1 = roster(1, [listed(k) for k in KEYS])
    with pytest.raises(RosterError, match="1 valid authority signature"):
        verify_roster(forge(v1, [(ALONE, ALONE.key_id)] * 2), trusted=None, now=NOW, bootstrap=v1.authority)


def test_a_member_key_id_must_be_derived_from_its_key() -> None:
    v1 = roster(1, [listed(k) for k in KEYS])
    v1.members[0].signing_keys.append(listed(KEYS[1], FAKE_ID))
    with pytest.raises(RosterError) as caught:
        sign_roster(v1, KEYS[:2])
    assert str(caught.value) == (
        f"KEY_ID_MISMATCH: member nl-hotline: key id {FAKE_ID} is not the one derived from its public key "
        f"({KEYS[1].key_id})"
    )
    with pytest.raises(RosterError) as caught:
        verify_roster(forge(v1, [(k, k.key_id) for k in KEYS[:2]]), trusted=None, now=NOW, bootstrap=v1.authority)
    assert caught.value.reason == "KEY_ID_MISMATCH"


def test_signing_refuses_a_bad_authority_set_and_an_unreachable_threshold() -> None:
    with pytest.raises(RosterError, match=f"DUPLICATE_KEY: version 1's authority lists key {ALONE.key_id} twice"):
        sign_roster(ONE_KEY_TWICE, [ALONE])
    with pytest.raises(RosterError, match="KEY_ID_MISMATCH"):
        sign_roster(ONE_KEY_TWO_IDS, [ALONE])
    with pytest.raises(RosterError, match="threshold 4 cannot be met by its 3 key"):
        sign_roster(roster(1, [listed(k) for k in KEYS], threshold=4), KEYS)


def test_an_authority_key_of_an_unknown_algorithm_is_malformed() -> None:
    strange = listed(ALONE)
    strange.algorithm = 99  # type: ignore[assignment]
    with pytest.raises(RosterError) as caught:
        sign_roster(roster(1, [strange, *map(listed, KEYS[1:])]), KEYS)
    assert caught.value.reason == "MALFORMED" and "unsupported algorithm (99)" in str(caught.value)
