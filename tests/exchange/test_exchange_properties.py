"""A property of the exchange's boundary, on SQLite and PostgreSQL: a member in good standing (its own real keys,
so the envelope opens and its signature verifies) that puts an out-of-range or malformed value in any field of
any message gets that message REJECTED with a reason of the REFUSALS table (final: the value will not change),
never an exception, never its text; and nothing of the receiver's cases changes.

Every field of the exchange's message bodies (proto/hotline/exchange/v1/messages.proto, and the node types they
carry) has its bad values below; a test checks that none is missing. Booleans, and uint32 fields whose whole
range is legal, have no bad value, and fields a receiver ignores are listed apart.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from uuid6 import uuid7

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as exchange_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.boundary import Boundary, GuardAll
from node.cases.requests import NewReport, NewUrl
from node.clock import ManualClock
from node.crypto.envelope import MessageToSign, _info, seal_batch, signature_input
from node.crypto.keys import SUITES
from node.exchange.delivery import REFUSALS, DeliveryStatus, RefusalKind
from node.store import schema as t
from tests.conftest import ANALYST, INTAKE
from tests.exchange.federation import Federation
from tests.exchange.test_exchange import NATIONAL
from tests.exchange.test_insider import refer
from tests.exchange.test_mtls import Served, member_channel, serve_de

NL, DE = "nl-hotline", "de-hotline"
SHA256 = "a" * 64

# ------------------------------------------------------------------------------------------ bad values

NUL_IN = st.text(max_size=12).map(lambda s: s + "\x00")
ESC_IN = st.text(max_size=12).map(lambda s: "\x1b[31m" + s)
NEWLINE_IN = st.text(max_size=12).map(lambda s: s + "\n" + s)
LONG = st.integers(min_value=5_000, max_value=6_000).map(lambda n: "a" * n)
NOT_AN_ID = st.one_of(
    NUL_IN,
    ESC_IN,
    NEWLINE_IN,
    LONG,
    st.sampled_from(
        ["NL-Hotline", "nl_hotline", "\u202enl-hotline", "n", "-x", "01950000-0000-7000-8000-0000000000cc!"]
    ),
)
NOT_A_MEMBER = st.one_of(NOT_AN_ID, st.sampled_from(["xx-hotline", "be-hotline"]))
NOT_A_UUID = st.one_of(NOT_AN_ID, st.just(""), st.sampled_from(["01950000-0000-7000-8000-0000000000c\u202e", "x" * 36]))
NOT_A_UUID7 = st.one_of(NOT_A_UUID, st.uuids(version=4).map(str), st.sampled_from(["nl-hotline", "1"]))
TOO_LONG_NOTE = st.integers(min_value=2_001, max_value=2_100).map(lambda n: "n" * n)
BAD_NOTE = st.one_of(NUL_IN, ESC_IN, TOO_LONG_NOTE, st.text(max_size=8).map(lambda s: s + "\x7f"))
BAD_LINE = st.one_of(NUL_IN, ESC_IN, NEWLINE_IN, st.integers(min_value=201, max_value=300).map(lambda n: "o" * n))
BAD_COUNTRY = st.one_of(NUL_IN, st.sampled_from(["NLD", "N1", "\u00d1L", "D\x00", "d e"]), LONG)
BAD_URL = st.one_of(
    st.just(""),
    NUL_IN.map(lambda s: "https://de.host.example/" + s),
    st.integers(min_value=8_200, max_value=9_000).map(lambda n: "https://de.host.example/?q=" + "A" * n),
    st.sampled_from(["not a url", "https://", "javascript:alert(1)", "https://de.host.example/\x1b"]),
)
BAD_IP = st.one_of(NUL_IN, st.sampled_from(["999.1.1.1", "not-an-ip", "fe80::1%eth0", "192.0.2.1/24"]), LONG)
SEQUENCE = st.one_of(st.just(0), st.integers(min_value=2**31, max_value=2**64 - 1))
UNKNOWN_ENUM = st.integers(min_value=1_000, max_value=2**31 - 1)
REQUIRED_ENUM = st.one_of(st.just(0), UNKNOWN_ENUM)
NOW = 1_772_442_000  # tests.conftest.START, in seconds
OUT_OF_RANGE = st.one_of(
    st.tuples(st.integers(min_value=253_402_300_800, max_value=2**62), st.just(0)),
    st.tuples(st.integers(min_value=-(2**62), max_value=-62_135_596_801), st.just(0)),
    st.tuples(st.just(NOW), st.one_of(st.integers(min_value=10**9, max_value=2**31 - 1), st.just(-1))),
)
OUT_OF_WINDOW = st.one_of(
    OUT_OF_RANGE,
    st.tuples(st.integers(min_value=-62_135_596_800, max_value=946_684_799), st.just(0)),  # before 2000
    st.tuples(st.integers(min_value=NOW + 2 * 86_400, max_value=253_402_300_799), st.just(0)),  # days ahead
)


def _hash(algorithm: int = pb.HASH_ALGORITHM_SHA256, value: str = SHA256) -> pb.ContentHash:
    return pb.ContentHash(algorithm=algorithm, value=value)  # type: ignore[arg-type]


BAD_HASHES = st.one_of(
    st.integers(min_value=17, max_value=40).map(lambda n: [_hash(value=f"{i:064x}") for i in range(n)]),
    st.sampled_from(["zz", "a" * 63, "a" * 5_000, "\x00" * 64]).map(lambda v: [_hash(value=v)]),
    REQUIRED_ENUM.map(lambda a: [_hash(algorithm=a)]),
)
BAD_PAYMENT_METHODS = st.one_of(
    UNKNOWN_ENUM.map(lambda p: [p]),
    st.integers(min_value=33, max_value=60).map(lambda n: [pb.PAYMENT_METHOD_CARD] * n),
)

REFERRAL, STATUS, WITHDRAWAL = "referral", "status_update", "withdrawal"
# Each field, by its path (the body's kind, then its fields), and values it must refuse.
BAD: dict[str, st.SearchStrategy[Any]] = {
    "referral.origin_node": st.one_of(NOT_A_MEMBER, st.just("")),
    "referral.origin_item_id": NOT_A_UUID,
    "referral.url": BAD_URL,
    "referral.hashes": BAD_HASHES,
    "referral.assessment.classification": REQUIRED_ENUM,
    "referral.assessment.age_group": UNKNOWN_ENUM,
    "referral.assessment.gender": UNKNOWN_ENUM,
    "referral.assessment.content_type": UNKNOWN_ENUM,
    "referral.assessment.site_type": UNKNOWN_ENUM,
    "referral.assessment.commerciality": UNKNOWN_ENUM,
    "referral.assessment.payment_methods": BAD_PAYMENT_METHODS,
    "referral.assessment.jurisdiction": BAD_COUNTRY,
    "referral.assessment.assessed_by": BAD_LINE,
    "referral.assessment.assessed_at": OUT_OF_WINDOW,
    "referral.assessment.note": BAD_NOTE,
    "referral.hosting.ip": BAD_IP,
    "referral.hosting.country": BAD_COUNTRY,
    "referral.hosting.organisation": BAD_LINE,
    "referral.hosting.source": BAD_LINE,
    "referral.hosting.override_reason": BAD_NOTE,
    "referral.hosting.traced_at": OUT_OF_RANGE,
    "referral.first_reported_at": OUT_OF_WINDOW,
    "referral.next_status_sequence": SEQUENCE,
    "referral.referred_by": NOT_A_MEMBER,
    "status_update.origin_item_id": NOT_A_UUID,
    "status_update.sequence": SEQUENCE,
    "status_update.assigned_node": st.one_of(NOT_A_MEMBER, st.just("")),
    "status_update.action": UNKNOWN_ENUM,
    "status_update.occurred_at": st.one_of(OUT_OF_WINDOW, st.none()),
    "status_update.state": REQUIRED_ENUM,
    "status_update.classification": UNKNOWN_ENUM,
    "status_update.moved_to_country": BAD_COUNTRY,
    "status_update.reassigned_to": NOT_AN_ID,
    "withdrawal.origin_item_id": NOT_A_UUID,
    "withdrawal.reason": BAD_NOTE,
}
# No value of these is out of range: booleans, an AS number (uint32, as the column and the rules allow), and the
# hosting trace's outcome, which a receiver never reads (the referral's hosting is the origin's; it keeps none).
NO_BAD_VALUE = {
    "referral.hosting.trace_outcome",
    "referral.assessment.virtual",
    "referral.assessment.child_modelling",
    "referral.assessment.user_generated",
    "referral.assessment.automatic",
    "referral.hosting.cdn",
    "referral.hosting.overridden",
    "referral.hosting.asn",
}
# The envelope's own fields that the sender sets (the rest are checked by the crypto: tests/exchange/
# test_envelope_format.py): the message id must be a UUIDv7, the kind one with a case body, the roster version
# within its BIGINT column.
HEADER: dict[str, st.SearchStrategy[Any]] = {
    "header.message_id": NOT_A_UUID7.filter(bool),  # (the crypto gives a message without an id a fresh one)
    "header.kind": st.one_of(
        st.sampled_from(
            [
                envelope_pb2.MESSAGE_KIND_UNSPECIFIED,
                envelope_pb2.MESSAGE_KIND_RECEIPT,
                envelope_pb2.MESSAGE_KIND_HASH_LIST,
            ]
        ),
        UNKNOWN_ENUM,
    ),
    "header.roster_version": st.integers(min_value=2**63, max_value=2**64 - 1),
}


def _paths(descriptor: Descriptor, prefix: str) -> Iterator[str]:
    for field in descriptor.fields:
        path = f"{prefix}.{field.name}"
        nested = field.message_type
        if nested is not None and nested.full_name.startswith("hotline.") and not field.is_repeated:
            yield from _paths(nested, path)
        else:
            yield path


def test_every_field_of_every_message_has_bad_values() -> None:
    bodies: dict[str, Any] = {
        REFERRAL: messages_pb2.Referral.DESCRIPTOR,
        STATUS: messages_pb2.StatusUpdate.DESCRIPTOR,
        WITHDRAWAL: messages_pb2.Withdrawal.DESCRIPTOR,
    }
    every = {path for kind, body in bodies.items() for path in _paths(body, kind)}
    assert every == set(BAD) | NO_BAD_VALUE


# ------------------------------------------------------------------------------------------ the federation


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock, database_url: str) -> Iterator[Federation]:
    """The receiver, de-hotline, on the backend under test."""
    federation = Federation(tmp_path, clock, databases={DE: database_url})
    yield federation
    federation.close()


def _put(message: Message, path: str, value: Any) -> None:
    *parents, name = path.split(".")[1:]
    for parent in parents:
        message = getattr(message, parent)
    field = message.DESCRIPTOR.fields_by_name[name]
    if value is None:
        message.ClearField(name)
    elif field.message_type is Timestamp.DESCRIPTOR:
        stamp = getattr(message, name)
        stamp.seconds, stamp.nanos = value
    elif field.is_repeated:
        del getattr(message, name)[:]
        getattr(message, name).extend(value)
    else:
        setattr(message, name, value)


@dataclasses.dataclass
class Bases:
    """A valid message of each kind from nl-hotline to de-hotline."""

    clock: ManualClock
    nl_item_at_de: str  # nl's item, referred to de: what nl may withdraw
    de_item_at_nl: str  # de's item, referred to nl: what nl, its assignee, sends status updates about

    def body(self, kind: str) -> Message:
        now = Timestamp()
        now.FromDatetime(self.clock.now())
        if kind == REFERRAL:
            return messages_pb2.Referral(
                origin_node=NL,
                origin_item_id=str(uuid7()),
                url="https://de.host.example/property",
                hashes=[_hash()],
                assessment=pb.Assessment(classification=pb.CLASSIFICATION_NATIONAL, jurisdiction="NL"),
                hosting=pb.HostingFacts(ip="198.51.100.20", country="DE", asn=64501, organisation="Example DE"),
                first_reported_at=now,
                next_status_sequence=1,
            )
        if kind == STATUS:
            return messages_pb2.StatusUpdate(
                origin_item_id=self.de_item_at_nl,
                sequence=1,
                assigned_node=NL,
                occurred_at=now,
                state=pb.ITEM_STATE_AWAITING_LEA,
            )
        return messages_pb2.Withdrawal(origin_item_id=self.nl_item_at_de, reason="a mistake")


def _bases(fed: Federation) -> Bases:
    nl_item, _ = refer(fed)
    de = fed.members[DE].node
    de_item = de.cases.submit_report(INTAKE, NewReport((NewUrl("https://nl.host.example/property"),))).items[0].item_id
    de.cases.assess(ANALYST, de_item, NATIONAL)
    fed.deliver_all()
    assert de.cases.get_item(de_item).assigned_node == NL
    return Bases(fed.clock, nl_item, de_item)


CASE_TABLES = (
    t.items,
    t.actions,
    t.hosting_records,
    t.assessments,
    t.item_hashes,
    t.pending_status_updates,
    t.held_messages,
    t.outbox,
    t.audit_log,
)


def _cases(fed: Federation) -> dict[str, Any]:
    """What de-hotline holds of its cases (not its inbox or events, where a refusal is recorded)."""
    with fed.members[DE].node.engine.connect() as c:
        counts = {table.name: c.execute(select(func.count()).select_from(table)).scalar_one() for table in CASE_TABLES}
        items = c.execute(
            select(t.items.c.item_id, t.items.c.state, t.items.c.assigned_node, t.items.c.status_sequence)
        ).all()
    return {"counts": counts, "items": sorted(tuple(i) for i in items)}


KINDS = {
    REFERRAL: envelope_pb2.MESSAGE_KIND_REFERRAL,
    STATUS: envelope_pb2.MESSAGE_KIND_STATUS_UPDATE,
    WITHDRAWAL: envelope_pb2.MESSAGE_KIND_WITHDRAWAL,
}


def _deliver(fed: Federation, kind: int, body: bytes, *, message_id: str | None = None, roster_version: int = 0) -> Any:
    """nl-hotline signs and seals the message with its real keys; de-hotline's receiver answers."""
    nl, de = fed.members[NL], fed.members[DE]
    now = fed.clock.now()
    (sealed,) = seal_batch(
        [MessageToSign(kind, body, str(uuid7()) if message_id is None else message_id, DE)],
        sender=NL,
        signing_keys=nl.signing,
        recipient_hpke_key=de.hpke[0].public,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        roster_version=roster_version or fed.membership.version,
    )
    assert de.receiver is not None
    (result,) = de.receiver.deliver([sealed], peer=NL)
    return result


def _refused_for_what_it_is(result: Any, label: str) -> None:
    assert result.status is DeliveryStatus.REJECTED, f"{label}: {result}"
    assert REFUSALS.get(result.reason_code) is RefusalKind.FINAL, f"{label}: {result.reason_code}"
    for leaked in ("Traceback", "Error(", "<class", "sqlalchemy", "psycopg", "sqlite3"):
        assert leaked not in result.reason, f"{label}: {result.reason!r}"


def _each(strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def run(value: Any) -> None:
        check(value)

    run()


def test_a_bad_value_in_any_field_of_any_message_is_refused_and_changes_nothing(fed: Federation) -> None:
    bases = _bases(fed)
    before = _cases(fed)

    for path, strategy in BAD.items():
        kind = path.split(".")[0]

        def check(value: Any, path: str = path, kind: str = kind) -> None:
            body = bases.body(kind)
            _put(body, path, value)
            result = _deliver(fed, KINDS[kind], body.SerializeToString())
            _refused_for_what_it_is(result, f"{path}={value!r:.80}")
            assert _cases(fed) == before, f"{path}={value!r:.80} changed de-hotline's cases"

        _each(strategy, check, examples=6)


def test_a_bad_envelope_field_or_undecodable_body_is_refused_and_changes_nothing(fed: Federation) -> None:
    bases = _bases(fed)
    before = _cases(fed)
    body = bases.body(REFERRAL).SerializeToString()

    def bad_id(value: str) -> None:
        result = _deliver(fed, KINDS[REFERRAL], body, message_id=value)
        _refused_for_what_it_is(result, f"message_id={value!r:.80}")
        assert result.reason_code == "MALFORMED" and result.message_id == ""  # a bad id is never echoed

    def bad_kind(value: int) -> None:
        _refused_for_what_it_is(_deliver(fed, value, body), f"kind={value}")

    def bad_version(value: int) -> None:
        result = _deliver(fed, KINDS[REFERRAL], body, roster_version=value)
        _refused_for_what_it_is(result, f"roster_version={value}")

    def random_body(value: tuple[str, bytes]) -> None:
        kind, raw = value
        _refused_for_what_it_is(_deliver(fed, KINDS[kind], raw), f"{kind} body {raw!r:.80}")

    _each(HEADER["header.message_id"], bad_id, examples=15)
    _each(HEADER["header.kind"], bad_kind, examples=8)
    _each(HEADER["header.roster_version"], bad_version, examples=5)
    _each(st.tuples(st.sampled_from(list(KINDS)), st.binary(min_size=1, max_size=64)), random_body, examples=30)
    assert _cases(fed) == before


def test_the_unchanged_messages_are_accepted(fed: Federation) -> None:
    """The control: each base message, as it is, applies (so the refusals above are the bad value's doing)."""
    bases = _bases(fed)
    for kind in (REFERRAL, STATUS, WITHDRAWAL):
        result = _deliver(fed, KINDS[kind], bases.body(kind).SerializeToString())
        assert (result.status, result.reason_code) == (DeliveryStatus.ACCEPTED, ""), kind


def test_the_largest_legal_values_fit_their_columns(fed: Federation) -> None:
    """The longest reason of the widest characters, in a withdrawal held for its referral (its JSON escaped),
    and the longest URL: accepted and stored whole, on both backends."""
    bases = _bases(fed)
    widest = "\U0001f600" * 2000  # JSON writes each as a 12-character surrogate pair escape
    early = messages_pb2.Withdrawal(origin_item_id=str(uuid7()), reason=widest)
    result = _deliver(fed, KINDS[WITHDRAWAL], early.SerializeToString())
    assert (result.status, result.reason_code) == (DeliveryStatus.ACCEPTED, "")
    longest = bases.body(REFERRAL)
    assert isinstance(longest, messages_pb2.Referral)
    longest.url = "https://de.host.example/?q=" + "a" * (8192 - len("https://de.host.example/?q="))
    result = _deliver(fed, KINDS[REFERRAL], longest.SerializeToString())
    assert (result.status, result.reason_code) == (DeliveryStatus.ACCEPTED, "")
    with fed.members[DE].node.engine.connect() as c:
        assert c.execute(select(func.max(func.length(t.items.c.url)))).scalar_one() == 8192
        held = c.execute(select(t.held_messages.c.body)).scalar_one()
    assert json.loads(held)["reason"] == widest


def _seal_header(fed: Federation, body: bytes, **header: Any) -> bytes:
    """nl-hotline's real keys sign a header of its own making (fields as given, the rest as a sender sets them)
    and seal it to de-hotline, as node.crypto.envelope does."""
    nl, de = fed.members[NL], fed.members[DE]
    key, hpke = nl.signing[0], de.hpke[0].public
    now = int(fed.clock.now().timestamp())
    fields: dict[str, Any] = {
        "version": 1,
        "kind": envelope_pb2.MESSAGE_KIND_WITHDRAWAL,
        "message_id": str(uuid7()),
        "sender": NL,
        "recipient": DE,
        "sender_key_ids": [key.key_id],
        "recipient_key_id": hpke.key_id,
        "created_at": (now, 0),
        "expires_at": (now + 3600, 0),
        "roster_version": fed.membership.version,
    }
    fields.update(header)
    wire = envelope_pb2.EnvelopeHeader()
    for name, value in fields.items():
        _put(wire, f"header.{name}", value)
    header_bytes = wire.SerializeToString()
    signed = envelope_pb2.SignedMessage(
        header=header_bytes,
        body=body,
        signatures=[
            envelope_pb2.Signature(
                key_id=key.key_id,
                algorithm=key.algorithm,  # type: ignore[arg-type]
                signature=key.sign(signature_input(header_bytes, body)),
            )
        ],
    ).SerializeToString()
    info = _info(NL, DE, hpke.key_id, fields["message_id"])
    return envelope_pb2.SealedEnvelope(
        sender=NL,
        recipient=DE,
        recipient_key_id=hpke.key_id,
        message_id=fields["message_id"],
        suite=hpke.suite,  # type: ignore[arg-type]
        ciphertext=SUITES[hpke.suite].encrypt(signed, hpke.load(), info=info),
    ).SerializeToString()


# The signed header's fields a sender sets that the crypto does not already pin (sender, recipient and key ids
# must match the sealed envelope: HEADER_MISMATCH), with values that must be refused MALFORMED.
BAD_HEADER: dict[str, st.SearchStrategy[Any]] = {
    "created_at": OUT_OF_RANGE,
    "expires_at": OUT_OF_RANGE,
    "version": st.one_of(st.just(0), st.integers(min_value=2, max_value=2**32 - 1)),
    "sender_key_ids": st.integers(min_value=5, max_value=40).map(lambda n: [f"ed25519:{i:016x}" for i in range(n)]),
}


def test_a_bad_signed_header_field_is_refused_malformed(fed: Federation) -> None:
    body = _bases(fed).body(WITHDRAWAL).SerializeToString()
    receiver = fed.members[DE].receiver
    assert receiver is not None
    assert receiver.deliver([_seal_header(fed, body)], peer=NL)[0].status is DeliveryStatus.ACCEPTED  # the control
    before = _cases(fed)
    for name, strategy in BAD_HEADER.items():

        def check(value: Any, name: str = name) -> None:
            (result,) = receiver.deliver([_seal_header(fed, body, **{name: value})], peer=NL)
            _refused_for_what_it_is(result, f"header.{name}={value!r:.80}")
            assert result.reason_code == "MALFORMED", f"header.{name}: {result}"

        _each(strategy, check, examples=6)
    assert _cases(fed) == before


# ------------------------------------------------------------------------------------------ the server


@pytest.fixture
async def served(tmp_path: Path, clock: ManualClock, database_url: str) -> AsyncIterator[Served]:
    """de-hotline's exchange server, with mutual TLS and the error boundary the node runs it with."""
    federation = Federation(tmp_path, clock, databases={DE: database_url})
    served = await serve_de(federation, interceptors=[GuardAll(Boundary())])
    yield served
    await served.server.stop(0)
    federation.close()


CANONICAL = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
METHODS = ["/hotline.exchange.v1.ExchangeService/Deliver", "/hotline.exchange.v1.ExchangeService/GetRoster"]


async def _call(served: Served, method: str, raw: bytes) -> tuple[grpc.StatusCode, str]:
    async with member_channel(served, served.identities[NL]) as channel:
        call: Any = channel.unary_unary(method)
        try:
            await call(raw, timeout=10)
        except aio.AioRpcError as error:
            return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def _canonical(outcome: tuple[grpc.StatusCode, str], label: str) -> None:
    code, details = outcome
    assert code in CANONICAL, f"{label}: {code} {details!r}"
    for leaked in ("Traceback", "Exception", "Unexpected", "<class", "sqlalchemy", "psycopg", "sqlite3"):
        assert leaked not in details, f"{label}: {details!r}"


async def test_versions_past_their_column_get_canonical_codes(served: Served) -> None:
    # Asking for the rosters after a version past BIGINT is refused; claiming one is a newer roster (stale here).
    beyond = exchange_pb.GetRosterRequest(have_version=2**64 - 1).SerializeToString()
    assert (await _call(served, METHODS[1], beyond))[0] is grpc.StatusCode.INVALID_ARGUMENT
    newer = exchange_pb.DeliverRequest(roster_version=2**64 - 1, envelopes=[b"\x00"]).SerializeToString()
    _canonical(await _call(served, METHODS[0], newer), "roster_version 2^64-1")
    nested = b"\x12\x02\x0a\x00" * 2_000  # well-formed repeated envelopes, each holding an empty message
    _canonical(await _call(served, METHODS[0], nested), "many nested envelopes")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(METHODS), raw=st.binary(max_size=96))
async def test_any_bytes_to_the_exchange_server_get_canonical_codes(served: Served, method: str, raw: bytes) -> None:
    _canonical(await _call(served, method, raw), f"{method} {raw!r:.80}")
