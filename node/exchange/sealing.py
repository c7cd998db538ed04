"""The exchange's use of node.crypto: seal to a peer's roster key, open and verify against the roster, and
sign and check receipts. Implements node.exchange.delivery's EnvelopeOpener (for the receiver) and
EnvelopeSealer (for the sender)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.cases.fields import MAX_VERSION, check_node_id, check_uuid7
from node.clock import Clock
from node.crypto import (
    CryptoError,
    HpkeKeyPair,
    PublicHpkeKey,
    PublicSigningKey,
    SigningKeyPair,
    open_envelope,
    verify_signed_message,
)
from node.crypto.envelope import (
    MAX_SIGNATURES,
    MessageToSign,
    OpenedMessage,
    VerifiedSignatures,
    seal_batch,
    sign_batch,
)
from node.crypto.keystore import NodeKeys
from node.errors import InvalidArgument
from node.exchange.delivery import OpenedEnvelope, ReceiptRequest, RejectedMessage
from node.exchange.key_choice import listed_signing_keys
from node.exchange.membership import RosterMembership

__all__ = ["RosterCrypto"]

RECEIPT_VALIDITY_DAYS = 3650

_Body = TypeVar("_Body", bound=Message)


class RosterCrypto:
    """This node's keys, and its peers' keys as the current roster lists them."""

    def __init__(
        self,
        *,
        node_id: str,
        signing_keys: Sequence[SigningKeyPair],
        hpke_keys: Sequence[HpkeKeyPair],
        membership: Callable[[], RosterMembership],
        clock: Clock,
        retired_signing_keys: Sequence[SigningKeyPair] = (),
    ) -> None:
        """`retired_signing_keys` (newest first): signed with instead of a new key the roster does not list yet
        (node.exchange.key_choice)."""
        self._me = node_id
        self._signing = list(signing_keys)
        self._retired_signing = list(retired_signing_keys)
        self._hpke = {k.key_id: k for k in hpke_keys}
        self._membership = membership
        self._clock = clock
        # The keys chosen for the last membership seen, with the key lists they were chosen from.
        self._chosen: tuple[object, list[SigningKeyPair], list[SigningKeyPair], list[SigningKeyPair]] | None = None

    def use_keys(self, keys: NodeKeys) -> None:
        """Sign and open with `keys` from now on (read again after a rotation)."""
        self._signing, self._retired_signing = list(keys.signing), list(keys.retired_signing)
        self._hpke = {k.key_id: k for k in keys.hpke}

    # ------------------------------------------------------------------ keys from the roster

    def _signing_keys(self) -> list[SigningKeyPair]:
        """Chosen again only when the membership (a roster change swaps it) or the keys (use_keys) change."""
        membership, signing, retired = self._membership(), self._signing, self._retired_signing
        chosen = self._chosen
        if chosen is None or chosen[0] is not membership or chosen[1] is not signing or chosen[2] is not retired:
            chosen = (membership, signing, retired, listed_signing_keys(signing, retired, membership.member(self._me)))
            self._chosen = chosen
        return list(chosen[3])

    def _sender_key(self, node_id: str, key_id: str) -> PublicSigningKey | None:
        member = self._membership().member(node_id)
        if member is None:
            return None
        now = self._clock.now()
        for key in member.signing_keys:
            if key.key_id == key_id and _valid(key.not_before, key.not_after, now):
                return PublicSigningKey(key.algorithm, key.public_key)
        return None

    def _required(self, node_id: str) -> list[int]:
        member = self._membership().member(node_id)
        return list(member.required_signatures) if member is not None else []

    def _recipient_key(self, node_id: str) -> PublicHpkeKey:
        member = self._membership().member(node_id)
        now = self._clock.now()
        if member is not None:
            for key in member.hpke_keys:
                if _valid(key.not_before, key.not_after, now):
                    return PublicHpkeKey(key.suite, key.public_key)
        raise RejectedMessage("UNKNOWN_KEY", f"the roster lists no valid HPKE key for {node_id}")

    def _accepted_suites(self) -> set[int]:
        member = self._membership().member(self._me)
        return {k.suite for k in member.hpke_keys} if member is not None else set()

    # ------------------------------------------------------------------ EnvelopeSealer

    def seal(
        self, *, kind: int, body: bytes, recipient: str, message_id: str, created_at: datetime, expires_at: datetime
    ) -> bytes:
        return self.seal_batch(
            [(kind, body, message_id)], recipient=recipient, created_at=created_at, expires_at=expires_at
        )[0]

    def seal_batch(
        self,
        messages: Sequence[tuple[int, bytes, str]],
        *,
        recipient: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> list[bytes]:
        """(kind, body, message id) for each message: signed together (one signature over the batch's Merkle
        root, an inclusion proof in each), each sealed on its own to the recipient's roster key."""
        return seal_batch(
            [MessageToSign(kind, body, message_id, recipient) for kind, body, message_id in messages],
            sender=self._me,
            signing_keys=self._signing_keys(),
            recipient_hpke_key=self._recipient_key(recipient),
            created_at=created_at,
            expires_at=expires_at,
            roster_version=self._membership().version,
        )

    def verify_receipt(
        self, receipt: bytes, *, peer: str, message_id: str, verified: VerifiedSignatures | None = None
    ) -> datetime:
        kind = envelope_pb2.MESSAGE_KIND_RECEIPT
        body = self._signed_to_me(receipt, messages_pb2.Receipt, kind, peer, "BAD_RECEIPT", verified)
        if body is None or body.message_id != message_id or body.recipient != peer:
            raise RejectedMessage("BAD_RECEIPT", "the receipt is not the peer's receipt for this message")
        return body.accepted_at.ToDatetime(tzinfo=UTC)

    # ------------------------------------------------------------------ EnvelopeOpener

    def open(self, data: bytes, verified: VerifiedSignatures | None = None) -> OpenedEnvelope:
        claimed = _clear_fields(data)
        sender, message_id = claimed or ("", "")
        if claimed is not None and not message_id:  # a sealed envelope whose message id is no UUIDv7
            raise RejectedMessage("MALFORMED", "the message id must be a UUIDv7 (RFC 9562)", sender=sender)
        try:
            opened = open_envelope(
                data,
                me=self._me,
                my_hpke_keys=self._hpke,
                sender_keys=self._sender_key,
                required_algorithms=self._required,
                accepted_suites=self._accepted_suites(),
                verified=verified,
            )
        except CryptoError as error:
            raise RejectedMessage(str(error.reason), error.message, sender=sender, message_id=message_id) from None
        header = opened.header
        where = {"sender": sender, "message_id": message_id}
        if len(header.sender_key_ids) > MAX_SIGNATURES:
            raise RejectedMessage("MALFORMED", f"at most {MAX_SIGNATURES} sender key ids", **where)
        try:
            created_at, expires_at = opened.created_at, opened.expires_at
        except (ValueError, OverflowError):
            raise RejectedMessage("MALFORMED", "created_at or expires_at is not a valid timestamp", **where) from None
        if header.roster_version > MAX_VERSION:
            raise RejectedMessage("MALFORMED", f"the roster version must be at most {MAX_VERSION}", **where)
        return _envelope(opened, opened.signed_message, created_at, expires_at)

    def sign_receipt(self, *, to: str, message_id: str, signed_message: bytes, accepted_at: datetime) -> bytes:
        return self.sign_receipts([ReceiptRequest(to, message_id, signed_message)], accepted_at=accepted_at)[0]

    def sign_receipts(self, requests: Sequence[ReceiptRequest], *, accepted_at: datetime) -> list[bytes]:
        """A receipt for each accepted message, signed together (one signature over their Merkle root)."""
        if not requests:
            return []
        at = Timestamp()
        at.FromDatetime(accepted_at)
        bodies = [
            MessageToSign(
                envelope_pb2.MESSAGE_KIND_RECEIPT,
                messages_pb2.Receipt(
                    message_id=r.message_id,
                    sender=r.to,
                    recipient=self._me,
                    accepted_at=at,
                    signed_message_sha256=hashlib.sha256(r.signed_message).digest(),
                ).SerializeToString(deterministic=True),
                recipient=r.to,
            )
            for r in requests
        ]
        signed = sign_batch(
            bodies,
            sender=self._me,
            signing_keys=self._signing_keys(),
            created_at=accepted_at,
            expires_at=accepted_at + timedelta(days=RECEIPT_VALIDITY_DAYS),
            roster_version=self._membership().version,
        )
        return [receipt for _, receipt in signed]

    # ------------------------------------------------------------------ referral copies

    def verify_referral_copy(
        self, signed_referral: bytes, receipt: bytes, *, peer: str
    ) -> tuple[OpenedEnvelope, datetime]:
        """A referral this node made to `peer`, as `peer` kept it, and `peer`'s receipt of it: (the referral, when
        `peer` accepted it). Only this node's own signature counts, with a key it signs with or signed with
        before a rotation (never a key a roster lists for it, which a peer could be shown). Raises
        RejectedMessage("BAD_REFERRAL_COPY")."""
        own = {k.key_id: k for k in [*self._signing, *self._retired_signing]}

        def own_key(node_id: str, key_id: str) -> PublicSigningKey | None:
            key = own.get(key_id) if node_id == self._me else None
            return None if key is None else key.public

        try:
            opened = verify_signed_message(signed_referral, sender_keys=own_key, required_algorithms=lambda _: [])
            created_at = opened.created_at
        except CryptoError as error:
            raise RejectedMessage("BAD_REFERRAL_COPY", f"this node's signature does not verify: {error}") from None
        except (ValueError, OverflowError):
            raise RejectedMessage("BAD_REFERRAL_COPY", "the referral's created_at is not a valid time") from None
        header = opened.header
        if header.kind != envelope_pb2.MESSAGE_KIND_REFERRAL or header.sender != self._me or header.recipient != peer:
            raise RejectedMessage("BAD_REFERRAL_COPY", f"not a referral this node sent to {peer}")
        try:
            accepted_at = self.verify_receipt(receipt, peer=peer, message_id=header.message_id)
            digest = messages_pb2.Receipt.FromString(envelope_pb2.SignedMessage.FromString(receipt).body)
        except RejectedMessage as error:
            raise RejectedMessage("BAD_REFERRAL_COPY", f"{peer}'s receipt does not verify: {error.reason}") from None
        if digest.signed_message_sha256 != hashlib.sha256(signed_referral).digest():
            raise RejectedMessage("BAD_REFERRAL_COPY", f"{peer}'s receipt is for another copy of this referral")
        return _envelope(opened, signed_referral, created_at, created_at), accepted_at

    # ------------------------------------------------------------------ membership refusals

    def sign_refusal(self, *, member: str, code: str, reason: str, refused_at: datetime) -> bytes:
        """A refusal of `member` itself (suspended or revoked here), signed by this node."""
        at = Timestamp()
        at.FromDatetime(refused_at)
        body = messages_pb2.MembershipRefusal(
            member=member,
            reason_code=code,
            reason=reason,
            roster_version=self._membership().version,
            refused_at=at,
        ).SerializeToString(deterministic=True)
        ((_, signed),) = sign_batch(
            [MessageToSign(envelope_pb2.MESSAGE_KIND_MEMBERSHIP_REFUSAL, body, recipient=member)],
            sender=self._me,
            signing_keys=self._signing_keys(),
            created_at=refused_at,
            expires_at=refused_at + timedelta(days=1),
            roster_version=self._membership().version,
        )
        return signed

    def verify_refusal(self, refusal: bytes, *, peer: str) -> messages_pb2.MembershipRefusal:
        """The refusal `peer` signed, of this node; raises RejectedMessage("BAD_REFUSAL") if it is not one."""
        kind = envelope_pb2.MESSAGE_KIND_MEMBERSHIP_REFUSAL
        body = self._signed_to_me(refusal, messages_pb2.MembershipRefusal, kind, peer, "BAD_REFUSAL")
        if body is None or body.member != self._me:
            raise RejectedMessage("BAD_REFUSAL", "the refusal is not the peer's refusal of this node")
        return body

    def _signed_to_me(
        self,
        data: bytes,
        body_type: type[_Body],
        kind: int,
        peer: str,
        code: str,
        verified: VerifiedSignatures | None = None,
    ) -> _Body | None:
        """The body of a message `peer` signed to this node as `kind` (None if the header says otherwise); raises
        RejectedMessage(code) if its signature does not verify or its body does not decode."""
        try:
            opened = verify_signed_message(
                data, sender_keys=self._sender_key, required_algorithms=self._required, verified=verified
            )
            body = body_type.FromString(opened.body)
        except (CryptoError, DecodeError) as error:
            raise RejectedMessage(code, str(error)) from None
        header = opened.header
        if header.kind != kind or header.sender != peer or header.recipient != self._me:
            return None
        return body


def _envelope(
    opened: OpenedMessage, signed_message: bytes, created_at: datetime, expires_at: datetime
) -> OpenedEnvelope:
    """A verified message as the exchange takes it: its header's sender, id, kind and roster version."""
    h = opened.header
    return OpenedEnvelope(
        h.sender, h.message_id, h.kind, opened.body, signed_message, created_at, expires_at, h.roster_version
    )


def _valid(not_before: Timestamp, not_after: Timestamp, now: datetime) -> bool:
    if not_before.seconds and not_before.ToDatetime(tzinfo=UTC) > now:
        return False
    return not (not_after.seconds and not_after.ToDatetime(tzinfo=UTC) <= now)


def _clear_fields(data: bytes) -> tuple[str, str] | None:
    """The sender and message id an envelope claims, for the rejection record (unauthenticated): each only
    if it has its format (a node id, a UUIDv7), else empty, so no malformed value is echoed or recorded."""
    try:
        sealed = envelope_pb2.SealedEnvelope.FromString(data)
    except DecodeError:
        return None
    return _formatted(check_node_id, sealed.sender), _formatted(check_uuid7, sealed.message_id)


def _formatted(check: Callable[..., str], value: str) -> str:
    try:
        return check(value, field="")
    except InvalidArgument:
        return ""
