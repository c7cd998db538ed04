"""Sign exact bytes, then seal to the recipient; open, then verify. The format is in envelope.proto.

    signature input = "hotline-exchange/v1/signed-message" || u32 len(header) || header || u32 len(body) || body
    HPKE info       = "hotline-exchange/v1/seal" || u32-prefixed sender, recipient, recipient key id, message id

A batch may be signed once: its messages' signature inputs are the leaves of an RFC 9162 Merkle tree, the
signatures are over "hotline-exchange/v1/batch-root" || u64 tree size || root, and each message carries its
inclusion proof, so each stays verifiable on its own. The header is parsed from the exact bytes that were
signed and is never re-serialised to be checked.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from uuid6 import uuid7

from node.api._gen.hotline.exchange.v1 import envelope_pb2
from node.crypto.errors import CryptoError, Reason
from node.crypto.keys import SUITES, HpkeKeyPair, PublicHpkeKey, PublicSigningKey, SigningKeyPair
from node.crypto.merkle import MerkleTree, leaf_hash, root_from_proof

__all__ = [
    "FORMAT_VERSION",
    "MAX_SIGNATURES",
    "MessageToSign",
    "OpenedMessage",
    "VerifiedSignatures",
    "batch_root_input",
    "check_times",
    "open_envelope",
    "seal",
    "seal_batch",
    "sign_batch",
    "sign_message",
    "signature_input",
    "verify_signed_message",
]

FORMAT_VERSION = 1
# A member signs with one key per algorithm it holds (Ed25519, ML-DSA-65): a message with more is malformed.
MAX_SIGNATURES = 4
_SIGNED = b"hotline-exchange/v1/signed-message"
_SEAL = b"hotline-exchange/v1/seal"
_BATCH_ROOT = b"hotline-exchange/v1/batch-root"
# Signatures that verified: (algorithm, public key, signature, signed bytes). A batch's messages share one
# signature over the root, so the receiver checks it once; this memoises a pure function, nothing more.
VerifiedSignatures = set[tuple[int, bytes, bytes, bytes]]


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    header: envelope_pb2.EnvelopeHeader
    header_bytes: bytes
    body: bytes
    signed_message: bytes

    @property
    def created_at(self) -> datetime:
        return self.header.created_at.ToDatetime(tzinfo=UTC)

    @property
    def expires_at(self) -> datetime:
        return self.header.expires_at.ToDatetime(tzinfo=UTC)


def signature_input(header: bytes, body: bytes) -> bytes:
    return b"".join((_SIGNED, struct.pack(">I", len(header)), header, struct.pack(">I", len(body)), body))


def batch_root_input(tree_size: int, root: bytes) -> bytes:
    return _BATCH_ROOT + struct.pack(">Q", tree_size) + root


def _info(sender: str, recipient: str, recipient_key_id: str, message_id: str) -> bytes:
    parts = [p.encode() for p in (sender, recipient, recipient_key_id, message_id)]
    return _SEAL + b"".join(struct.pack(">I", len(p)) + p for p in parts)


def _timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _header(
    *,
    kind: int,
    message_id: str,
    sender: str,
    recipient: str,
    sender_key_ids: list[str],
    recipient_key_id: str,
    created_at: datetime,
    expires_at: datetime,
    roster_version: int,
) -> bytes:
    return envelope_pb2.EnvelopeHeader(
        version=FORMAT_VERSION,
        kind=kind,  # type: ignore[arg-type]
        message_id=message_id,
        sender=sender,
        recipient=recipient,
        sender_key_ids=sender_key_ids,
        recipient_key_id=recipient_key_id,
        created_at=_timestamp(created_at),
        expires_at=_timestamp(expires_at),
        roster_version=roster_version,
    ).SerializeToString(deterministic=True)


def _signatures(signing_keys: Sequence[SigningKeyPair], to_sign: bytes) -> list[envelope_pb2.Signature]:
    return [
        envelope_pb2.Signature(key_id=k.key_id, algorithm=k.algorithm, signature=k.sign(to_sign))  # type: ignore[arg-type]
        for k in signing_keys
    ]


def sign_message(
    *,
    kind: int,
    body: bytes,
    sender: str,
    recipient: str,
    signing_keys: Sequence[SigningKeyPair],
    created_at: datetime,
    expires_at: datetime,
    roster_version: int,
    recipient_key_id: str = "",
    message_id: str | None = None,
) -> tuple[str, bytes]:
    """(message id, serialised SignedMessage): the header and body signed by every key given."""
    message_id = message_id or str(uuid7())
    header = _header(
        kind=kind,
        message_id=message_id,
        sender=sender,
        recipient=recipient,
        sender_key_ids=[k.key_id for k in signing_keys],
        recipient_key_id=recipient_key_id,
        created_at=created_at,
        expires_at=expires_at,
        roster_version=roster_version,
    )
    signed = envelope_pb2.SignedMessage(
        header=header, body=body, signatures=_signatures(signing_keys, signature_input(header, body))
    )
    return message_id, signed.SerializeToString(deterministic=True)


@dataclass(frozen=True, slots=True)
class MessageToSign:
    """One message of a batch: what differs from message to message."""

    kind: int
    body: bytes
    message_id: str | None = None
    recipient: str = ""


def sign_batch(
    messages: Sequence[MessageToSign],
    *,
    sender: str,
    signing_keys: Sequence[SigningKeyPair],
    created_at: datetime,
    expires_at: datetime,
    roster_version: int,
    recipient_key_id: str = "",
) -> list[tuple[str, bytes]]:
    """(message id, serialised SignedMessage) for each message, all signed at once: every key signs the
    root of the batch's Merkle tree, and each message carries its inclusion proof. A batch of one is signed
    as a single message (no proof), exactly as sign_message does."""
    if len(messages) == 1:
        m = messages[0]
        return [
            sign_message(
                kind=m.kind,
                body=m.body,
                sender=sender,
                recipient=m.recipient,
                signing_keys=signing_keys,
                created_at=created_at,
                expires_at=expires_at,
                roster_version=roster_version,
                recipient_key_id=recipient_key_id,
                message_id=m.message_id,
            )
        ]
    ids: list[str] = []
    headers: list[bytes] = []
    key_ids = [k.key_id for k in signing_keys]
    for m in messages:
        message_id = m.message_id or str(uuid7())
        ids.append(message_id)
        headers.append(
            _header(
                kind=m.kind,
                message_id=message_id,
                sender=sender,
                recipient=m.recipient,
                sender_key_ids=key_ids,
                recipient_key_id=recipient_key_id,
                created_at=created_at,
                expires_at=expires_at,
                roster_version=roster_version,
            )
        )
    tree = MerkleTree([leaf_hash(signature_input(h, m.body)) for h, m in zip(headers, messages, strict=True)])
    signatures = _signatures(signing_keys, batch_root_input(tree.size, tree.root))
    signed = []
    for index, (message_id, header, m) in enumerate(zip(ids, headers, messages, strict=True)):
        message = envelope_pb2.SignedMessage(
            header=header,
            body=m.body,
            signatures=signatures,
            batch_proof=envelope_pb2.MerkleProof(leaf_index=index, tree_size=tree.size, path=tree.proof(index)),
        )
        signed.append((message_id, message.SerializeToString(deterministic=True)))
    return signed


def seal(
    *,
    kind: int,
    body: bytes,
    sender: str,
    recipient: str,
    signing_keys: Sequence[SigningKeyPair],
    recipient_hpke_key: PublicHpkeKey,
    created_at: datetime,
    expires_at: datetime,
    roster_version: int,
    message_id: str | None = None,
) -> bytes:
    """The serialised SealedEnvelope of a message signed by `signing_keys`, sealed to the recipient's key."""
    return seal_batch(
        [MessageToSign(kind, body, message_id, recipient)],
        sender=sender,
        signing_keys=signing_keys,
        recipient_hpke_key=recipient_hpke_key,
        created_at=created_at,
        expires_at=expires_at,
        roster_version=roster_version,
    )[0]


def seal_batch(
    messages: Sequence[MessageToSign],
    *,
    sender: str,
    signing_keys: Sequence[SigningKeyPair],
    recipient_hpke_key: PublicHpkeKey,
    created_at: datetime,
    expires_at: datetime,
    roster_version: int,
) -> list[bytes]:
    """Sign the messages as one batch (sign_batch), then seal each on its own to its recipient's key: one
    HPKE encapsulation per message, with that message's identities bound into `info`."""
    recipient_key_id = recipient_hpke_key.key_id
    signed = sign_batch(
        messages,
        sender=sender,
        signing_keys=signing_keys,
        created_at=created_at,
        expires_at=expires_at,
        roster_version=roster_version,
        recipient_key_id=recipient_key_id,
    )
    suite, public = SUITES[recipient_hpke_key.suite], recipient_hpke_key.load()
    sealed = []
    for m, (message_id, signed_bytes) in zip(messages, signed, strict=True):
        ciphertext = suite.encrypt(signed_bytes, public, info=_info(sender, m.recipient, recipient_key_id, message_id))
        sealed.append(
            envelope_pb2.SealedEnvelope(
                sender=sender,
                recipient=m.recipient,
                recipient_key_id=recipient_key_id,
                message_id=message_id,
                suite=recipient_hpke_key.suite,  # type: ignore[arg-type]
                ciphertext=ciphertext,
            ).SerializeToString(deterministic=True)
        )
    return sealed


def open_envelope(
    data: bytes,
    *,
    me: str,
    my_hpke_keys: Mapping[str, HpkeKeyPair],
    sender_keys: Callable[[str, str], PublicSigningKey | None],
    required_algorithms: Callable[[str], Collection[int]],
    accepted_suites: Collection[int] | None = None,
    verified: VerifiedSignatures | None = None,
) -> OpenedMessage:
    """Decrypt a SealedEnvelope addressed to `me` and verify its signatures. Raises CryptoError. `verified`
    remembers signatures that verified, across the messages of a batch."""
    try:
        sealed = envelope_pb2.SealedEnvelope.FromString(data)
    except DecodeError:
        raise CryptoError(Reason.MALFORMED, "not a sealed envelope") from None
    if sealed.recipient != me:
        raise CryptoError(Reason.WRONG_RECIPIENT, f"addressed to {sealed.recipient[:64]!r}, not {me!r}")
    if sealed.suite not in SUITES or (accepted_suites is not None and sealed.suite not in accepted_suites):
        raise CryptoError(Reason.UNSUPPORTED_SUITE, f"HPKE suite {sealed.suite} is not accepted here")
    key = my_hpke_keys.get(sealed.recipient_key_id)
    if key is None or key.suite != sealed.suite:
        raise CryptoError(Reason.UNKNOWN_KEY, f"no HPKE key {sealed.recipient_key_id[:80]!r} for that suite")
    info = _info(sealed.sender, sealed.recipient, sealed.recipient_key_id, sealed.message_id)
    try:
        signed_bytes = SUITES[sealed.suite].decrypt(sealed.ciphertext, key.private_key, info=info)
    except Exception:  # any failure of the AEAD or the KEM: tampered, or not for this key
        raise CryptoError(Reason.DECRYPTION_FAILED, "the envelope does not open with this node's key") from None
    opened = verify_signed_message(
        signed_bytes, sender_keys=sender_keys, required_algorithms=required_algorithms, verified=verified
    )
    header = opened.header
    clear = (sealed.sender, sealed.recipient, sealed.recipient_key_id, sealed.message_id)
    if (header.sender, header.recipient, header.recipient_key_id, header.message_id) != clear:
        raise CryptoError(Reason.HEADER_MISMATCH, "the signed header does not match the envelope")
    return opened


def verify_signed_message(
    signed_bytes: bytes,
    *,
    sender_keys: Callable[[str, str], PublicSigningKey | None],
    required_algorithms: Callable[[str], Collection[int]],
    verified: VerifiedSignatures | None = None,
) -> OpenedMessage:
    """Parse a SignedMessage and verify every signature over the exact bytes (or, for a message of a signed
    batch, its inclusion proof and the signatures over the batch's root). Raises CryptoError."""
    try:
        signed = envelope_pb2.SignedMessage.FromString(signed_bytes)
        header = envelope_pb2.EnvelopeHeader.FromString(signed.header)
    except DecodeError:
        raise CryptoError(Reason.MALFORMED, "not a signed message") from None
    if header.version != FORMAT_VERSION or not header.message_id or not header.sender:
        raise CryptoError(Reason.MALFORMED, f"unsupported or incomplete header (version {header.version})")
    if len(signed.signatures) > MAX_SIGNATURES or len(header.sender_key_ids) > MAX_SIGNATURES:
        raise CryptoError(Reason.MALFORMED, f"at most {MAX_SIGNATURES} signatures")
    if not signed.signatures:
        raise CryptoError(Reason.MISSING_SIGNATURE, "the message is not signed")
    to_verify = signature_input(signed.header, signed.body)
    if signed.HasField("batch_proof"):
        proof = signed.batch_proof
        root = root_from_proof(leaf_hash(to_verify), proof.leaf_index, proof.tree_size, proof.path)
        if root is None:
            raise CryptoError(Reason.BAD_SIGNATURE, "the batch inclusion proof does not fit its position")
        to_verify = batch_root_input(proof.tree_size, root)
    done: set[int] = set()
    for signature in signed.signatures:
        public = sender_keys(header.sender, signature.key_id)
        if public is None:
            raise CryptoError(Reason.UNKNOWN_KEY, f"{header.sender[:64]} has no valid key {signature.key_id[:80]!r}")
        if public.algorithm != signature.algorithm:
            raise CryptoError(Reason.BAD_SIGNATURE, f"the signature by {signature.key_id} does not verify")
        memo = (public.algorithm, public.public_key, signature.signature, to_verify)
        if verified is None or memo not in verified:
            if not public.verify(signature.signature, to_verify):
                raise CryptoError(Reason.BAD_SIGNATURE, f"the signature by {signature.key_id} does not verify")
            if verified is not None and signed.HasField("batch_proof"):
                verified.add(memo)  # the other messages of the batch carry the same signature
        done.add(public.algorithm)
    missing = set(required_algorithms(header.sender)) - done
    if missing:
        raise CryptoError(Reason.MISSING_SIGNATURE, f"{header.sender} must also sign with {sorted(missing)}")
    return OpenedMessage(header, signed.header, signed.body, signed_bytes)


def check_times(opened: OpenedMessage, now: datetime, max_skew: timedelta) -> None:
    if opened.expires_at <= now:
        raise CryptoError(Reason.EXPIRED, f"expired at {opened.expires_at.isoformat()}")
    if opened.created_at > now + max_skew:
        raise CryptoError(Reason.NOT_YET_VALID, "dated beyond the allowed clock skew")
