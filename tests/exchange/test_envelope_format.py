"""Known answers that pin the envelope format: any change to the header, the signature input, the key ids, the
HPKE binding or the batch signature (Merkle root and inclusion proofs) breaks these tests, and so would break
compatibility between nodes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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
from node.crypto.envelope import MessageToSign, sign_batch
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


# A batch signed once: three messages, one Ed25519 signature over the root of their RFC 9162 Merkle tree, an
# inclusion proof in each. Ed25519 is deterministic, so the signed bytes are pinned.
BATCH = [
    MessageToSign(
        envelope_pb2.MESSAGE_KIND_WITHDRAWAL,
        b"\x0a\x04" + f"it{i:02d}".encode(),
        f"01950000-0000-7000-8000-00000000000{i}",
        "de-hotline",
    )
    for i in (1, 2, 3)
]
BATCH_SIGNED_SHA256 = [
    "c5c14e9eb69ce27b39fe466f350a6873fcc0e9be5be46b15e6a8719c906ce41b",
    "5ac7d18f9aa2c18df0be1da6e92482a1b956831b15fe9d91f4ee5740b2db8db3",
    "9b2e369003791d0a4a574acc632d461696200496310e9aa00272dea09cb49cdb",
]


def _sign_batch(messages: list[MessageToSign] = BATCH) -> list[bytes]:
    signed = sign_batch(
        messages,
        sender="nl-hotline",
        signing_keys=[SIGNER],
        created_at=T0,
        expires_at=T0 + timedelta(days=7),
        roster_version=3,
        recipient_key_id=RECIPIENT.key_id,
    )
    assert [message_id for message_id, _ in signed] == [m.message_id for m in messages]
    return [b for _, b in signed]


def _verify(signed: bytes, verified: set[tuple[int, bytes, bytes, bytes]] | None = None) -> None:
    verify_signed_message(
        signed,
        sender_keys=lambda _sender, key: SIGNER.public if key == SIGNER.key_id else None,
        required_algorithms=lambda _sender: [envelope_pb2.SIGNATURE_ALGORITHM_ED25519],
        verified=verified,
    )


def test_a_signed_batch_is_byte_for_byte_stable_and_its_root_is_the_rfc_9162_root() -> None:
    signed = _sign_batch()
    assert [hashlib.sha256(b).hexdigest() for b in signed] == BATCH_SIGNED_SHA256
    parsed = [envelope_pb2.SignedMessage.FromString(b) for b in signed]
    # Recomputed here from the definitions, not with the code under test.
    leaves = [hashlib.sha256(b"\x00" + signature_input(m.header, m.body)).digest() for m in parsed]
    left = hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).digest()
    root = hashlib.sha256(b"\x01" + left + leaves[2]).digest()
    signed_input = b"hotline-exchange/v1/batch-root" + (3).to_bytes(8, "big") + root
    for index, m in enumerate(parsed):
        assert (m.batch_proof.leaf_index, m.batch_proof.tree_size) == (index, 3)
        assert len(m.signatures) == 1 and m.signatures[0].key_id == SIGNER.key_id
        assert SIGNER.public.verify(m.signatures[0].signature, signed_input)
    assert list(parsed[0].batch_proof.path) == [leaves[1], leaves[2]]
    assert list(parsed[2].batch_proof.path) == [left]


def test_each_message_of_a_signed_batch_verifies_on_its_own() -> None:
    for signed in _sign_batch():
        _verify(signed)  # no other message of the batch is needed


def test_a_batch_of_one_is_signed_as_a_single_message() -> None:
    message = BATCH[0]
    (signed,) = _sign_batch([message])
    _, single = sign_message(
        kind=message.kind,
        body=message.body,
        sender="nl-hotline",
        recipient="de-hotline",
        signing_keys=[SIGNER],
        created_at=T0,
        expires_at=T0 + timedelta(days=7),
        roster_version=3,
        recipient_key_id=RECIPIENT.key_id,
        message_id=message.message_id,
    )
    assert signed == single and not envelope_pb2.SignedMessage.FromString(signed).HasField("batch_proof")


def _tampered(signed: bytes, change: Callable[[envelope_pb2.SignedMessage], None]) -> bytes:
    message = envelope_pb2.SignedMessage.FromString(signed)
    change(message)
    return message.SerializeToString()


def _flip_path(m: envelope_pb2.SignedMessage) -> None:
    m.batch_proof.path[0] = bytes([m.batch_proof.path[0][0] ^ 1]) + m.batch_proof.path[0][1:]


def _other_body(m: envelope_pb2.SignedMessage) -> None:
    m.body = b"\x0a\x04it99"


def _other_index(m: envelope_pb2.SignedMessage) -> None:
    m.batch_proof.leaf_index = 1


def _other_size(m: envelope_pb2.SignedMessage) -> None:
    m.batch_proof.tree_size = 4


def _no_proof(m: envelope_pb2.SignedMessage) -> None:
    m.ClearField("batch_proof")


@pytest.mark.parametrize("change", [_flip_path, _other_body, _other_index, _other_size, _no_proof])
def test_a_message_taken_out_of_its_batch_or_altered_does_not_verify(
    change: Callable[[envelope_pb2.SignedMessage], None],
) -> None:
    first = _sign_batch()[0]
    verified: set[tuple[int, bytes, bytes, bytes]] = set()
    _verify(_sign_batch()[1], verified)  # the batch's signature is already known good: it must not help
    with pytest.raises(CryptoError) as caught:
        _verify(_tampered(first, change), verified)
    assert caught.value.reason == "BAD_SIGNATURE"


def test_a_batch_signature_does_not_cover_another_batch() -> None:
    ours = envelope_pb2.SignedMessage.FromString(_sign_batch()[0])
    other = [MessageToSign(m.kind, m.body + b"x", m.message_id, m.recipient) for m in BATCH]
    theirs = envelope_pb2.SignedMessage.FromString(_sign_batch(other)[0])
    ours.signatures[0].signature = theirs.signatures[0].signature
    with pytest.raises(CryptoError) as caught:
        _verify(ours.SerializeToString())
    assert caught.value.reason == "BAD_SIGNATURE"
