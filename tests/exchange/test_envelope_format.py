"""Known answers that pin the envelope format: any change to the header, the signature input, the key ids or
the HPKE binding breaks these tests, and so would break compatibility between nodes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from node.api._gen.hotline.exchange.v1 import envelope_pb2
from node.crypto import (
    CryptoError,
    HpkeKeyPair,
    PublicHpkeKey,
    SigningKeyPair,
    open_envelope,
    sign_message,
    signature_input,
    verify_signed_message,
)
from node.crypto.keys import X25519_SUITE

SIGNER = SigningKeyPair.from_seed(envelope_pb2.SIGNATURE_ALGORITHM_ED25519, bytes(range(32)))
_HPKE_PRIVATE = x25519.X25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
RECIPIENT = HpkeKeyPair(
    X25519_SUITE, _HPKE_PRIVATE, PublicHpkeKey(X25519_SUITE, _HPKE_PRIVATE.public_key().public_bytes_raw())
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MESSAGE = {
    "kind": envelope_pb2.MESSAGE_KIND_WITHDRAWAL,
    "body": b"\x0a\x04item\x12\x06reason",
    "sender": "nl-hotline",
    "recipient": "de-hotline",
    "signing_keys": [SIGNER],
    "created_at": T0,
    "expires_at": T0 + timedelta(days=7),
    "roster_version": 3,
    "message_id": "01950000-0000-7000-8000-000000000001",
}
# Sealed once with the keys above (HPKE is randomised, so this is a stored vector, not recomputed).
SEALED = bytes.fromhex(
    "0a0a6e6c2d686f746c696e65120a64652d686f746c696e651a177832353531393a61303238393831303033326562343137222430313935303030302d303030302d373030302d383030302d303030303030303030303031280132aa0269e872b3c9ee37a282cad4da1e78548366ce579c3dc452304ca9dd810a18a35de239f0abd2aa2c105d072ce72350cc2b268aa22bcbdd646a9db86bcd3148de11e2aa10008937bc8f13ac65542ad132fd744081ab337cd8b720642c8553cc9dcb68707cd019afb3340bf1dd004321321bdfe1b0a159e2bd53f89c59dfd9ef3b12ae1ff42883c8e00e854ce4ba81d115294de80fc07168b35e5b2464e359ce71252af5c4c47e8eea83c1d6599ff78f01fa1290b53d5f22e1d63aac6e17a186b82da764cb24eddb3c89209335643b2b81eda0a65397429af5c04ecc3d89b54825408817d3a94fb7c98bea7fb27ed562045749b0b3ff8ca9343d648c81632e8a7a367ec8648c32aa69638a1739f3af0b89f5a1e38338045e9fb80a5f1dc3bdb1a965eb17374ce258984560fa"
)


def test_key_ids_name_the_algorithm_and_the_key() -> None:
    assert SIGNER.key_id == "ed25519:56475aa75463474c"
    assert RECIPIENT.key_id == "x25519:a0289810032eb417"


def test_the_signed_message_is_byte_for_byte_stable() -> None:
    _, signed = sign_message(recipient_key_id=RECIPIENT.key_id, **MESSAGE)  # type: ignore[arg-type]
    assert hashlib.sha256(signed).hexdigest() == "f28baaaa5d8b6313c759300a36667acbe27eb17bf412e3c4287f4d83a078efcf"
    parsed = envelope_pb2.SignedMessage.FromString(signed)
    assert signature_input(parsed.header, parsed.body).startswith(b"hotline-exchange/v1/signed-message\x00\x00\x00")


def test_the_stored_vector_opens_to_the_expected_header_and_body() -> None:
    opened = open_envelope(
        SEALED,
        me="de-hotline",
        my_hpke_keys={RECIPIENT.key_id: RECIPIENT},
        sender_keys=lambda sender, key: SIGNER.public if (sender, key) == ("nl-hotline", SIGNER.key_id) else None,
        required_algorithms=lambda _sender: [envelope_pb2.SIGNATURE_ALGORITHM_ED25519],
    )
    header = opened.header
    assert (header.version, header.kind, header.sender, header.recipient) == (
        1,
        envelope_pb2.MESSAGE_KIND_WITHDRAWAL,
        "nl-hotline",
        "de-hotline",
    )
    assert list(header.sender_key_ids) == [SIGNER.key_id] and header.recipient_key_id == RECIPIENT.key_id
    assert (opened.created_at, opened.expires_at, header.roster_version) == (T0, T0 + timedelta(days=7), 3)
    assert opened.body == MESSAGE["body"]


def test_the_stored_vector_does_not_open_for_another_node() -> None:
    with pytest.raises(CryptoError) as caught:
        open_envelope(
            SEALED, me="fr-hotline", my_hpke_keys={}, sender_keys=lambda *_: None, required_algorithms=lambda _s: []
        )
    assert caught.value.reason == "WRONG_RECIPIENT"


def test_a_forged_signature_under_the_senders_real_key_id_is_refused() -> None:
    _, signed = sign_message(recipient_key_id=RECIPIENT.key_id, **MESSAGE)  # type: ignore[arg-type]
    message = envelope_pb2.SignedMessage.FromString(signed)
    forged = bytearray(message.signatures[0].signature)
    forged[0] ^= 0x01
    message.signatures[0].signature = bytes(forged)
    with pytest.raises(CryptoError) as caught:
        verify_signed_message(
            message.SerializeToString(),
            sender_keys=lambda _sender, key: SIGNER.public if key == SIGNER.key_id else None,
            required_algorithms=lambda _sender: [],
        )
    assert caught.value.reason == "BAD_SIGNATURE"
