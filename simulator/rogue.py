"""A rogue member: a roster member in good standing that misbehaves.

It has real keys (signing, HPKE, and the TLS identity the roster pins) and connects to its victims like
any member, over mutual TLS with its own certificate and the victim's pinned one. Through the real Deliver
RPC, one envelope per call so that each gets its own answer, it sends:

- ``forged``: an envelope whose signature does not verify (signed over other bytes, or by a key the roster
  does not list);
- ``impersonating``: an envelope that claims another member as its sender (signed with the rogue's own keys,
  or, when the simulator hands it another member's stolen signing keys, validly signed: then only the TLS
  binding stops it);
- ``replayed``: a legitimate referral of a synthetic URL (``https://rogue.invalid/...``), which the victim may
  accept once, then the exact same bytes again, which must come back DUPLICATE; then a legitimate withdrawal,
  so the synthetic item is closed and the victim owes the rogue no status updates;
- ``misaddressed``: an envelope signed and sealed to another member, delivered to the victim;
- ``malformed``: random bytes, a truncated envelope, a garbage ciphertext, a body that is not protobuf, or a
  DeliverRequest that is not protobuf;
- ``expired`` and ``future_dated``: validly signed and sealed, outside the victim's time window.

Every answer is an `AttackRecord`; `expected_outcome(kind)` says which answers are safe, and `violations`
lists the records whose answer is not.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2, roster_pb2
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as pb
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2_grpc as pb_grpc
from node.clock import Clock
from node.crypto import PublicHpkeKey, SigningKeyPair, seal
from node.crypto.keystore import KeyStore, NodeKeys
from node.crypto.roster import verify_roster, verify_roster_chain
from node.exchange.delivery import DeliveryStatus, EnvelopeReceiver
from node.exchange.membership import RosterMembership

__all__ = [
    "ACCEPTED",
    "ATTACK_KINDS",
    "DUPLICATE",
    "LEGITIMATE",
    "NOT_SENT",
    "REFUSED",
    "REJECTED",
    "VARIANTS",
    "AttackRecord",
    "RogueMember",
    "expected_outcome",
    "load_membership",
    "violations",
]

ATTACK_KINDS: tuple[str, ...] = (
    "forged",
    "impersonating",
    "replayed",
    "misaddressed",
    "malformed",
    "expired",
    "future_dated",
)
# The kind of the records of the rogue's legitimate messages (the original of a replay, and its withdrawal).
LEGITIMATE = "legitimate"

VARIANTS: dict[str, tuple[str, ...]] = {
    "forged": ("bad_signature", "unlisted_key"),
    "impersonating": ("own_key", "stolen_key"),  # stolen_key: only with another member's stolen keys
    "replayed": ("referral",),
    "misaddressed": ("sealed_to_other",),
    "malformed": ("random_bytes", "truncated", "garbage_ciphertext", "bad_body", "garbage_request"),
    "expired": ("expired",),
    "future_dated": ("future_dated",),
}

# What the victim answered for the message...
ACCEPTED = "ACCEPTED"
DUPLICATE = "DUPLICATE"
REJECTED = "REJECTED"
# ...or the gRPC code name when the call itself was refused (UNAVAILABLE, PERMISSION_DENIED, ...), or the
# victim's signed refusal of the caller itself (a suspended or revoked member: DeliverResponse.refusal)...
MEMBERSHIP_REFUSED = "MEMBERSHIP_REFUSED"
REFUSED: frozenset[str] = frozenset(
    [*(code.name for code in grpc.StatusCode if code is not grpc.StatusCode.OK), MEMBERSHIP_REFUSED]
)
# ...or: a replay that was not sent, because its original was not accepted.
NOT_SENT = "NOT_SENT"

_STATUS = {
    pb.DELIVERY_STATUS_ACCEPTED: ACCEPTED,
    pb.DELIVERY_STATUS_DUPLICATE: DUPLICATE,
    pb.DELIVERY_STATUS_REJECTED: REJECTED,
}
_LOCAL_STATUS = {
    DeliveryStatus.ACCEPTED: ACCEPTED,
    DeliveryStatus.DUPLICATE: DUPLICATE,
    DeliveryStatus.REJECTED: REJECTED,
}
_DELIVER = "/hotline.exchange.v1.ExchangeService/Deliver"
# A protobuf field 2 (length-delimited) that claims far more bytes than follow: never parses.
_NOT_PROTOBUF = b"\x12\xff\xff\xff\xff\x0f"


@dataclass(frozen=True, slots=True)
class AttackRecord:
    """One message the rogue sent, and what the victim answered.

    `status` is ACCEPTED, DUPLICATE or REJECTED; a gRPC code name if the call was refused; NOT_SENT for a
    replay whose original was not accepted; or, always a violation, NO_RESULT (not one result for the one
    envelope), UNSPECIFIED (an unknown delivery status) or ANSWERED (a garbage request got an answer).

    When the message carried a referral, `origin_node` and `origin_item_id` name it, so a checker can look
    for it in the victim's store (`find_item_by_origin(origin_node, origin_item_id)`); `claimed_sender` is
    the sender the envelope claimed (the victim's inbox is keyed by it and `message_id`).
    """

    kind: str
    target: str
    message_id: str
    status: str
    reason_code: str = ""
    detail: str = ""
    claimed_sender: str = ""
    origin_node: str = ""
    origin_item_id: str = ""


def expected_outcome(kind: str) -> frozenset[str]:
    """The answers that are safe for a record of `kind`.

    A legitimate message may be accepted (once: its replay is a separate record). A replay must come back
    DUPLICATE. Every other attack must be REJECTED. A call refused at the RPC level delivered nothing, so it
    is safe for every kind.
    """
    if kind == LEGITIMATE:
        return frozenset({ACCEPTED, DUPLICATE}) | REFUSED
    if kind == "replayed":
        return frozenset({DUPLICATE, NOT_SENT}) | REFUSED
    if kind in ATTACK_KINDS:
        return frozenset({REJECTED}) | REFUSED
    raise ValueError(f"unknown attack kind {kind!r}")


def violations(records: Sequence[AttackRecord]) -> list[AttackRecord]:
    """The records whose answer is not in `expected_outcome` of their kind."""
    return [r for r in records if r.status not in expected_outcome(r.kind)]


def load_membership(signed_rosters: bytes | Sequence[bytes], now: datetime) -> RosterMembership:
    """The membership of the newest of `signed_rosters` (oldest first): the first is verified against its own
    authority, as a node bootstraps from its shipped roster, and each later one against the one before."""
    chain = [signed_rosters] if isinstance(signed_rosters, bytes) else list(signed_rosters)
    if not chain:
        raise ValueError("no signed roster given")
    first = roster_pb2.Roster.FromString(roster_pb2.SignedRoster.FromString(chain[0]).roster)
    trusted = verify_roster(chain[0], trusted=None, now=now, bootstrap=first.authority)
    newest = verify_roster_chain(chain[1:], trusted=trusted, now=now)
    assert newest is not None
    return RosterMembership(newest)


class _WrongSignature(SigningKeyPair):
    """A real key that signs other bytes than it is given: its signatures are well formed and do not verify."""

    def sign(self, message: bytes) -> bytes:
        return SigningKeyPair.sign(self, message + b"\x00altered after signing")


@dataclass(frozen=True, slots=True)
class _Answer:
    status: str
    reason_code: str
    reason: str


class RogueMember:
    """A listed member that attacks other members. `close()` (or ``async with``) closes its channels."""

    def __init__(
        self,
        node_id: str,
        keys: NodeKeys,
        membership: Callable[[], RosterMembership],
        clock: Clock,
        *,
        stolen_keys: Mapping[str, NodeKeys] | None = None,
        timeout: float = 10.0,
        proxy: str = "",
        message_ttl: timedelta = timedelta(days=7),
        local: Callable[[str], EnvelopeReceiver | None] | None = None,
    ) -> None:
        """`local`: hand envelopes to the target's receiver in this process instead of calling it over mutual
        TLS (the simulator's deterministic mode; the sender is this member, as its certificate would prove).
        It gives None for a member that is down. A request that is not a DeliverRequest needs gRPC: not sent."""
        self.node_id = node_id
        self._local = local
        self._keys = keys
        self._membership = membership
        self._clock = clock
        self._stolen = dict(stolen_keys or {})
        self._timeout = timeout
        self._options: list[tuple[str, Any]] = [("grpc.http_proxy", f"http://{proxy}")] if proxy else []
        self._ttl = message_ttl
        self._channels: dict[str, tuple[str, aio.Channel]] = {}

    @classmethod
    def from_key_dir(
        cls,
        node_id: str,
        key_dir: Path,
        membership: Callable[[], RosterMembership],
        clock: Clock,
        *,
        post_quantum: bool = False,
        stolen_key_dirs: Mapping[str, Path] | None = None,
        timeout: float = 10.0,
        proxy: str = "",
    ) -> RogueMember:
        """Keys from the key directories a node would use (created if missing, as a node does)."""
        now = clock.now()
        keys = KeyStore(key_dir).load_or_create(node_id, now, post_quantum=post_quantum)
        stolen = {
            member: KeyStore(path).load_or_create(member, now, post_quantum=post_quantum)
            for member, path in (stolen_key_dirs or {}).items()
        }
        return cls(node_id, keys, membership, clock, stolen_keys=stolen, timeout=timeout, proxy=proxy)

    async def __aenter__(self) -> RogueMember:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        channels = [channel for _, channel in self._channels.values()]
        self._channels.clear()
        for channel in channels:
            await channel.close()

    # ------------------------------------------------------------------ campaigns

    async def run_campaign(
        self, targets: Sequence[str], kinds: Sequence[str], rng: random.Random
    ) -> list[AttackRecord]:
        """Every kind against every target, in that order; `rng` picks the variants, ids and bytes."""
        records: list[AttackRecord] = []
        for target in targets:
            for kind in kinds:
                records.extend(await self.attack(kind, target, rng))
        return records

    async def attack(
        self, kind: str, target: str, rng: random.Random, variant: str | None = None
    ) -> list[AttackRecord]:
        """One attack on `target`: one record, or three for a replay (original, replay, withdrawal)."""
        if kind not in VARIANTS:
            raise ValueError(f"unknown attack kind {kind!r}; one of {', '.join(ATTACK_KINDS)}")
        if target == self.node_id:
            raise ValueError("the rogue does not attack itself")
        if variant is None:
            variant = rng.choice(self._available(kind, target))
        elif variant not in self._available(kind, target):
            raise ValueError(f"{kind} has no variant {variant!r} here; one of {self._available(kind, target)}")
        if kind == "forged":
            return [await self._forged(target, rng, variant)]
        if kind == "impersonating":
            return [await self._impersonating(target, rng, variant)]
        if kind == "replayed":
            return await self._replayed(target, rng)
        if kind == "misaddressed":
            return [await self._misaddressed(target, rng)]
        if kind == "malformed":
            return [await self._malformed(target, rng, variant)]
        return [await self._out_of_time(kind, target, rng)]

    def _available(self, kind: str, target: str) -> tuple[str, ...]:
        if kind == "impersonating" and not any(m in self._stolen for m in self._others(target)):
            return ("own_key",)
        if self._local is not None:
            return tuple(v for v in VARIANTS[kind] if v != "garbage_request")
        return VARIANTS[kind]

    # ------------------------------------------------------------------ the attacks

    async def _forged(self, target: str, rng: random.Random, variant: str) -> AttackRecord:
        if variant == "bad_signature":
            keys: list[SigningKeyPair] = [_WrongSignature(k.algorithm, k.private_key) for k in self._keys.signing]
            detail = "signed with the rogue's listed keys over other bytes than it carries"
        else:
            keys = [SigningKeyPair.from_seed(envelope_pb2.SIGNATURE_ALGORITHM_ED25519, rng.randbytes(32))]
            detail = "signed with a key the roster does not list"
        origin_item_id, message_id, envelope = self._new_referral(target, rng, signing_keys=keys)
        answer = await self._deliver(target, envelope)
        return self._record("forged", target, message_id, answer, f"{variant}: {detail}", origin_item_id)

    async def _impersonating(self, target: str, rng: random.Random, variant: str) -> AttackRecord:
        if variant == "stolen_key":
            claimed = rng.choice([m for m in self._others(target) if m in self._stolen])
            keys = self._stolen[claimed].signing
            detail = f"as {claimed}, validly signed with {claimed}'s stolen keys, over the rogue's TLS certificate"
        else:
            claimed = rng.choice(self._others(target) or [target])
            keys = self._keys.signing
            detail = f"as {claimed}, signed with the rogue's own keys"
        origin_item_id, message_id, envelope = self._new_referral(target, rng, sender=claimed, signing_keys=keys)
        answer = await self._deliver(target, envelope)
        return self._record(
            "impersonating", target, message_id, answer, f"{variant}: {detail}", origin_item_id, claimed=claimed
        )

    async def _replayed(self, target: str, rng: random.Random) -> list[AttackRecord]:
        origin_item_id, message_id, envelope = self._new_referral(target, rng)
        first = await self._deliver(target, envelope)
        records = [self._record(LEGITIMATE, target, message_id, first, "the original referral", origin_item_id)]
        if first.status not in (ACCEPTED, DUPLICATE):
            records.append(
                AttackRecord(
                    "replayed",
                    target,
                    message_id,
                    NOT_SENT,
                    detail=f"the original was answered {first.status}; nothing to replay",
                    claimed_sender=self.node_id,
                    origin_node=self.node_id,
                    origin_item_id=origin_item_id,
                )
            )
            return records
        again = await self._deliver(target, envelope)
        records.append(self._record("replayed", target, message_id, again, "the same bytes again", origin_item_id))
        withdrawal_id = self._uuid7(rng)
        body = messages_pb2.Withdrawal(origin_item_id=origin_item_id, reason="synthetic referral of a rogue member")
        withdrawal = self._valid(
            target, body.SerializeToString(deterministic=True), withdrawal_id, envelope_pb2.MESSAGE_KIND_WITHDRAWAL
        )
        answer = await self._deliver(target, withdrawal)
        records.append(self._record(LEGITIMATE, target, withdrawal_id, answer, "withdrawal of the replayed referral"))
        return records

    async def _misaddressed(self, target: str, rng: random.Random) -> AttackRecord:
        other = rng.choice(self._others(target) or [self.node_id])
        origin_item_id, message_id, envelope = self._new_referral(other, rng)
        answer = await self._deliver(target, envelope)
        detail = f"signed and sealed to {other}, delivered to {target}"
        return self._record("misaddressed", target, message_id, answer, detail, origin_item_id)

    async def _malformed(self, target: str, rng: random.Random, variant: str) -> AttackRecord:
        origin_item_id, message_id = "", ""
        if variant == "garbage_request":
            answer = await self._deliver_raw(target, _NOT_PROTOBUF + rng.randbytes(32))
            return self._record("malformed", target, "", answer, f"{variant}: the DeliverRequest is not protobuf")
        if variant == "random_bytes":
            envelope = rng.randbytes(rng.randint(1, 512))
            detail = f"{len(envelope)} random bytes"
        elif variant == "truncated":
            origin_item_id, message_id, whole = self._new_referral(target, rng)
            envelope = whole[: len(whole) // 2]
            detail = f"a valid envelope cut to {len(envelope)} of its {len(whole)} bytes"
        elif variant == "garbage_ciphertext":
            message_id = self._uuid7(rng)
            key = self._hpke_key(target)
            envelope = envelope_pb2.SealedEnvelope(
                sender=self.node_id,
                recipient=target,
                recipient_key_id=key.key_id,
                message_id=message_id,
                suite=key.suite,  # type: ignore[arg-type]
                ciphertext=rng.randbytes(256),
            ).SerializeToString(deterministic=True)
            detail = "a well-formed envelope around random ciphertext"
        else:  # bad_body
            message_id = self._uuid7(rng)
            envelope = self._valid(target, _NOT_PROTOBUF + rng.randbytes(16), message_id)
            detail = "validly signed and sealed; the referral body is not protobuf"
        answer = await self._deliver(target, envelope)
        return self._record("malformed", target, message_id, answer, f"{variant}: {detail}", origin_item_id)

    async def _out_of_time(self, kind: str, target: str, rng: random.Random) -> AttackRecord:
        now = self._clock.now()
        if kind == "expired":
            created, expires = now - self._ttl - timedelta(hours=1), now - timedelta(hours=1)
        else:
            created, expires = now + timedelta(days=1), now + timedelta(days=1) + self._ttl
        origin_item_id, message_id, envelope = self._new_referral(target, rng, created_at=created, expires_at=expires)
        answer = await self._deliver(target, envelope)
        detail = f"validly signed, created {created.isoformat()}, expires {expires.isoformat()}"
        return self._record(kind, target, message_id, answer, detail, origin_item_id)

    # ------------------------------------------------------------------ building messages

    def _others(self, target: str) -> list[str]:
        """Active members other than the rogue and the target, in roster order."""
        membership = self._membership()
        return [
            m.node_id
            for m in membership.roster.members
            if m.node_id not in (self.node_id, target) and membership.is_active(m.node_id)
        ]

    def _hpke_key(self, node_id: str) -> PublicHpkeKey:
        """The member's first HPKE key that is valid now, as a sender picks it."""
        member = self._membership().member(node_id)
        now = self._clock.now()
        if member is not None:
            for key in member.hpke_keys:
                if _valid(key.not_before, key.not_after, now):
                    return PublicHpkeKey(key.suite, key.public_key)
        raise ValueError(f"the roster lists no valid HPKE key for {node_id}")

    def _referral(self, origin_node: str, origin_item_id: str) -> bytes:
        referral = messages_pb2.Referral(
            origin_node=origin_node,
            origin_item_id=origin_item_id,
            url=f"https://rogue.invalid/{quote(self.node_id, safe='')}/{origin_item_id}",
            next_status_sequence=1,
        )
        referral.first_reported_at.FromDatetime(self._clock.now())
        return referral.SerializeToString(deterministic=True)

    def _new_referral(
        self,
        recipient: str,
        rng: random.Random,
        *,
        sender: str | None = None,
        signing_keys: Sequence[SigningKeyPair] | None = None,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[str, str, bytes]:
        """A new referral sealed to `recipient`: its origin item id, its message id and the envelope. Sent as
        `sender` (the rogue unless given) and signed with `signing_keys` (the rogue's own unless given)."""
        origin_item_id = self._uuid7(rng)
        message_id = self._uuid7(rng)
        claimed = sender or self.node_id
        envelope = self._seal(
            kind=envelope_pb2.MESSAGE_KIND_REFERRAL,
            body=self._referral(claimed, origin_item_id),
            sender=claimed,
            recipient=recipient,
            signing_keys=self._keys.signing if signing_keys is None else signing_keys,
            message_id=message_id,
            created_at=created_at,
            expires_at=expires_at,
        )
        return origin_item_id, message_id, envelope

    def _valid(
        self, recipient: str, body: bytes, message_id: str, kind: int = envelope_pb2.MESSAGE_KIND_REFERRAL
    ) -> bytes:
        return self._seal(
            kind=kind,
            body=body,
            sender=self.node_id,
            recipient=recipient,
            signing_keys=self._keys.signing,
            message_id=message_id,
        )

    def _seal(
        self,
        *,
        kind: int,
        body: bytes,
        sender: str,
        recipient: str,
        signing_keys: Sequence[SigningKeyPair],
        message_id: str,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> bytes:
        now = self._clock.now()
        created = created_at or now
        return seal(
            kind=kind,
            body=body,
            sender=sender,
            recipient=recipient,
            signing_keys=signing_keys,
            recipient_hpke_key=self._hpke_key(recipient),
            created_at=created,
            expires_at=expires_at or created + self._ttl,
            roster_version=self._membership().version,
            message_id=message_id,
        )

    def _uuid7(self, rng: random.Random) -> str:
        """A UUIDv7 at the clock's time, its random bits from `rng` (the same seed gives the same ids)."""
        ms = int(self._clock.now().timestamp() * 1000) & ((1 << 48) - 1)
        value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
        return str(uuid.UUID(int=value))

    def _record(
        self,
        kind: str,
        target: str,
        message_id: str,
        answer: _Answer,
        detail: str,
        origin_item_id: str = "",
        *,
        claimed: str = "",
    ) -> AttackRecord:
        sender = claimed or self.node_id
        reason = f" ({answer.reason})" if answer.reason else ""
        return AttackRecord(
            kind=kind,
            target=target,
            message_id=message_id,
            status=answer.status,
            reason_code=answer.reason_code,
            detail=f"{detail}{reason}",
            claimed_sender=sender,
            origin_node=sender if origin_item_id else "",
            origin_item_id=origin_item_id,
        )

    # ------------------------------------------------------------------ the wire

    def _channel(self, target: str) -> aio.Channel:
        member = self._membership().member(target)
        if member is None or not member.endpoints or not member.tls_cert_pem:
            raise ValueError(f"the roster lists no endpoint and certificate for {target}")
        key = f"{member.endpoints[0]}|{member.tls_cert_sha256}"
        cached = self._channels.get(target)
        if cached is None or cached[0] != key:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=member.tls_cert_pem.encode(),
                private_key=self._keys.tls.key_pem,
                certificate_chain=self._keys.tls.cert_pem,
            )
            channel = aio.secure_channel(
                member.endpoints[0],
                credentials,
                options=[("grpc.ssl_target_name_override", target), *self._options],
            )
            self._channels[target] = (key, channel)
        return self._channels[target][1]

    async def _deliver(self, target: str, envelope: bytes) -> _Answer:
        if self._local is not None:
            receiver = self._local(target)
            if receiver is None:
                return _Answer("UNAVAILABLE", "", f"{target} is not running")
            answer = receiver.deliver([envelope], peer=self.node_id)[0]
            return _Answer(_LOCAL_STATUS[answer.status], answer.reason_code, answer.reason)
        stub: Any = pb_grpc.ExchangeServiceStub(self._channel(target))
        request = pb.DeliverRequest(roster_version=self._membership().version, envelopes=[envelope])
        try:
            response: pb.DeliverResponse = await stub.Deliver(request, timeout=self._timeout)
        except aio.AioRpcError as error:
            return _Answer(error.code().name, "", error.details() or "")
        if response.refusal:
            return _Answer(MEMBERSHIP_REFUSED, "", "the victim refused this member itself")
        if len(response.results) != 1:
            return _Answer("NO_RESULT", "", f"{len(response.results)} results for one envelope")
        result = response.results[0]
        return _Answer(_STATUS.get(result.status, "UNSPECIFIED"), result.reason_code, result.reason)

    async def _deliver_raw(self, target: str, request: bytes) -> _Answer:
        """Call Deliver with bytes that are not a DeliverRequest."""
        call = cast(Any, self._channel(target)).unary_unary(
            _DELIVER, request_serializer=None, response_deserializer=pb.DeliverResponse.FromString
        )
        try:
            await call(request, timeout=self._timeout)
        except aio.AioRpcError as error:
            return _Answer(error.code().name, "", error.details() or "")
        return _Answer("ANSWERED", "", "the victim answered a request that is not protobuf")


def _valid(not_before: Timestamp, not_after: Timestamp, now: datetime) -> bool:
    if not_before.seconds and not_before.ToDatetime(tzinfo=UTC) > now:
        return False
    return not (not_after.seconds and not_after.ToDatetime(tzinfo=UTC) <= now)
