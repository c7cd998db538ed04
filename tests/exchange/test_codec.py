"""Known answers that pin the bodies of node-to-node messages: the protobuf bytes each outbox body is sent as
(they are signed, so a change breaks compatibility between nodes), and what a receiver decodes them into."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

import pytest

from node.api._gen.hotline.exchange.v1 import envelope_pb2
from node.cases.exchange_messages import (
    KIND_REFERRAL,
    REFERRAL_MAX_HASHES,
    ExchangeMessage,
    Referral,
    StatusUpdate,
    Withdrawal,
    dump_body,
    from_outbox,
)
from node.cases.model import ActionType, Classification, HashProvenance, ItemState
from node.errors import InvalidArgument
from node.exchange.codec import decode_body, encode_body
from node.hashes import ContentHash, HashAlgorithm
from tests.cases.test_exchange_messages import OWN_ITEM, OWN_REFERRAL_JSON, PASSED_ON_REFERRAL_JSON

T = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
STATUS = StatusUpdate("o-1", 1, "de-hotline", T, ItemState.NTD_SENT, ActionType.HP_NOTIFIED, Classification.NATIONAL)
MOVED = StatusUpdate("o-2", 4, "de-hotline", T, ItemState.REFERRED, ActionType.MOVED, None, "FR", "fr-hotline")
ASSESSED = StatusUpdate("o-3", 2, "de-hotline", T, ItemState.AWAITING_LEA)
WITHDRAWAL = Withdrawal("nl-hotline", "o-9", "mistake \u00fc")


@pytest.mark.parametrize(
    ("body", "sha256"),
    [
        (OWN_REFERRAL_JSON, "ee2ca5ff360da0e062e0dfd9f90ae5b60fb191fa34fe54fc730f40abe56e524b"),
        (PASSED_ON_REFERRAL_JSON, "f73293cb262bbcabc01fc8b33c35535641662f50b7551339f3c5dacbaa121a28"),
    ],
)
def test_a_referral_is_sent_as_these_bytes(body: str, sha256: str) -> None:
    kind, wire = encode_body(KIND_REFERRAL, body)
    assert kind == envelope_pb2.MESSAGE_KIND_REFERRAL
    assert hashlib.sha256(wire).hexdigest() == sha256


def test_the_note_and_the_analyst_never_reach_the_wire() -> None:
    _, wire = encode_body(KIND_REFERRAL, OWN_REFERRAL_JSON)
    assert b"secret note" not in wire and b"analyst-anna" not in wire and b"geoip" not in wire
    assert OWN_ITEM.assessment is not None and OWN_ITEM.assessment.note == "secret note"


@pytest.mark.parametrize(
    ("message", "kind", "wire_hex"),
    [
        (
            STATUS,
            envelope_pb2.MESSAGE_KIND_STATUS_UPDATE,
            "0a036f2d3110011a0a64652d686f746c696e6520022a0b0890a395cd06108094ef3a30053802",
        ),
        (
            MOVED,
            envelope_pb2.MESSAGE_KIND_STATUS_UPDATE,
            "0a036f2d3210041a0a64652d686f746c696e6520052a0b0890a395cd06108094ef3a3006420246524a0a66722d686f746c696e65",
        ),
        (
            ASSESSED,
            envelope_pb2.MESSAGE_KIND_STATUS_UPDATE,
            "0a036f2d3310021a0a64652d686f746c696e652a0b0890a395cd06108094ef3a3003",
        ),
        (WITHDRAWAL, envelope_pb2.MESSAGE_KIND_WITHDRAWAL, "0a036f2d39120a6d697374616b6520c3bc"),
    ],
)
def test_status_updates_and_withdrawals_are_sent_as_these_bytes(
    message: ExchangeMessage, kind: int, wire_hex: str
) -> None:
    assert encode_body(message.kind, dump_body(message.to_json())) == (kind, bytes.fromhex(wire_hex))


@pytest.mark.parametrize("body", [OWN_REFERRAL_JSON, PASSED_ON_REFERRAL_JSON])
def test_a_received_referral_is_what_the_sender_stored(body: str) -> None:
    decoded = decode_body(*encode_body(KIND_REFERRAL, body), sender="nl-hotline")
    assert isinstance(decoded, Referral) and decoded == from_outbox(KIND_REFERRAL, body)


# A receiver takes only the ids nodes issue (UUIDs); the known answers above pin the bytes of short ones.
ITEM = "01950000-0000-7000-8000-0000000000cc"


@pytest.mark.parametrize("message", [STATUS, MOVED, ASSESSED])
def test_a_received_status_update_is_the_one_sent(message: StatusUpdate) -> None:
    message = dataclasses.replace(message, origin_item_id=ITEM)
    assert decode_body(*encode_body(message.kind, dump_body(message.to_json())), sender="de-hotline") == message


def test_a_withdrawal_names_its_sender_as_the_origin() -> None:
    withdrawal = dataclasses.replace(WITHDRAWAL, origin_item_id=ITEM)
    kind, wire = encode_body(withdrawal.kind, dump_body(withdrawal.to_json()))
    assert decode_body(kind, wire, sender="fr-hotline") == Withdrawal("fr-hotline", ITEM, "mistake \u00fc")


def test_an_outbox_kind_with_no_wire_form_is_refused() -> None:
    with pytest.raises(ValueError, match="no wire form for outbox kind 'receipt'"):
        encode_body("receipt", "{}")


def test_a_body_that_is_not_protobuf_is_refused_naming_the_body() -> None:
    with pytest.raises(InvalidArgument) as caught:
        decode_body(envelope_pb2.MESSAGE_KIND_REFERRAL, b"\xff\xff", sender="nl-hotline")
    assert caught.value.field == "body"


def test_an_item_with_more_hashes_than_a_referral_carries_is_referred_with_the_vouched_ones_first() -> None:
    """Repeat reports add their hashes to an item; a referral carries at most REFERRAL_MAX_HASHES (peers refuse
    more), those the hotline's own tools vouched for first: the peer accepts it."""
    hashes = [ContentHash(HashAlgorithm.SHA256, hashlib.sha256(bytes([n])).digest()) for n in range(20)]
    vouched = hashes[-3:]
    item = dataclasses.replace(OWN_ITEM, hashes=hashes, hash_provenance=dict.fromkeys(vouched, HashProvenance.HASHER))
    referral = Referral.of_item(item, node_id="nl-hotline")
    assert len(referral.hashes) == REFERRAL_MAX_HASHES == 16
    assert list(referral.hashes) == vouched + hashes[:13]
    decoded = decode_body(*encode_body(KIND_REFERRAL, dump_body(referral.to_json())), sender="nl-hotline")
    assert isinstance(decoded, Referral) and decoded.hashes == referral.hashes
