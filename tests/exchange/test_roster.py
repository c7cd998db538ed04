"""Roster updates: a threshold of the trusted authority keys, no rollback, no frozen roster, key rotation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.crypto import SigningKeyPair
from node.crypto.roster import RosterError, sign_roster, verify_roster, verify_roster_chain

NOW = datetime(2026, 3, 2, tzinfo=UTC)
OLD_KEYS = [SigningKeyPair.generate() for _ in range(3)]
NEW_KEYS = [SigningKeyPair.generate() for _ in range(3)]


def authority(keys: list[SigningKeyPair], threshold: int = 2) -> roster_pb2.AuthorityKeys:
    return roster_pb2.AuthorityKeys(
        threshold=threshold,
        keys=[
            roster_pb2.SigningKey(key_id=k.key_id, algorithm=k.algorithm, public_key=k.public.public_key)  # type: ignore[arg-type]
            for k in keys
        ],
    )


def roster(version: int, keys: list[SigningKeyPair], *, expires: int = 2027) -> roster_pb2.Roster:
    r = roster_pb2.Roster(network_id="test-network", version=version, authority=authority(keys))
    r.expires_at.FromDatetime(datetime(expires, 1, 1, tzinfo=UTC))
    r.members.append(roster_pb2.Member(node_id="nl-hotline", jurisdictions=["NL"]))
    return r


def test_the_first_roster_needs_a_threshold_of_the_bootstrap_authority() -> None:
    v1 = roster(1, OLD_KEYS)
    assert verify_roster(sign_roster(v1, OLD_KEYS[:2]), trusted=None, now=NOW, bootstrap=authority(OLD_KEYS)) == v1
    with pytest.raises(RosterError) as caught:
        verify_roster(sign_roster(v1, OLD_KEYS[:1]), trusted=None, now=NOW, bootstrap=authority(OLD_KEYS))
    assert caught.value.reason == "THRESHOLD"


def test_one_key_signing_twice_counts_once() -> None:
    with pytest.raises(RosterError, match="1 valid"):
        verify_roster(
            sign_roster(roster(1, OLD_KEYS), [OLD_KEYS[0], OLD_KEYS[0]]),
            trusted=None,
            now=NOW,
            bootstrap=authority(OLD_KEYS),
        )


def test_rollback_and_an_expired_roster_are_refused() -> None:
    v2 = roster(2, OLD_KEYS)
    with pytest.raises(RosterError) as caught:
        verify_roster(sign_roster(roster(1, OLD_KEYS), OLD_KEYS), trusted=v2, now=NOW)
    assert caught.value.reason == "ROLLBACK"
    with pytest.raises(RosterError) as caught:
        verify_roster(sign_roster(roster(3, OLD_KEYS, expires=2026), OLD_KEYS), trusted=v2, now=NOW)
    assert caught.value.reason == "EXPIRED"


def test_authority_keys_rotate_and_the_old_keys_lose_their_power() -> None:
    v1 = roster(1, OLD_KEYS)
    v2 = roster(2, NEW_KEYS)  # introduces new authority keys, signed by the old ones
    v3 = roster(3, NEW_KEYS)
    chain = [sign_roster(v2, OLD_KEYS[:2]), sign_roster(v3, NEW_KEYS[1:])]
    assert verify_roster_chain(chain, trusted=v1, now=NOW) == v3
    with pytest.raises(RosterError) as caught:
        verify_roster(sign_roster(v3, OLD_KEYS), trusted=v2, now=NOW)
    assert caught.value.reason == "THRESHOLD"


def test_malformed_bytes_are_refused() -> None:
    with pytest.raises(RosterError) as caught:
        verify_roster(b"\xff\xff", trusted=roster(1, OLD_KEYS), now=NOW)
    assert caught.value.reason == "MALFORMED"
