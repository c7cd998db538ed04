"""The outbox JSON form of the messages between nodes: the stored text is pinned (the outbox keeps it, the
simulator reads it), the peer subset leaves the analyst's details behind, and every kind reads back."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from node.cases.exchange_messages import (
    ExchangeMessage,
    Referral,
    StatusUpdate,
    Withdrawal,
    dump_body,
    from_outbox,
)
from node.cases.model import (
    ActionType,
    AgeGroup,
    Assessment,
    Classification,
    Commerciality,
    ContentType,
    Gender,
    HostingRecord,
    Item,
    ItemState,
    PaymentMethod,
    SiteType,
)
from node.hashes import ContentHash, HashAlgorithm
from node.hosting import HostingFacts

T = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
HASHES = [
    ContentHash(HashAlgorithm.SHA256, bytes(range(32))),
    ContentHash(HashAlgorithm.PDQ, bytes(range(1, 33))),
    ContentHash(HashAlgorithm.MD5, bytes(range(16))),
    ContentHash(HashAlgorithm.SHA1, bytes(range(20))),
]
ASSESSMENT = Assessment(
    Classification.NATIONAL,
    AgeGroup.INFANT,
    Gender.BOTH,
    ContentType.VIDEO,
    SiteType.FORUM,
    Commerciality.COMMERCIAL,
    frozenset({PaymentMethod.E_WALLET, PaymentMethod.CARD, PaymentMethod.OTHER}),
    virtual=True,
    user_generated=True,
    note="secret note",
    jurisdiction="NL",
    assessed_by="analyst-anna",
    assessed_at=T,
)
FACTS = HostingFacts("192.0.2.7", "DE", 64500, "Example Hosting GmbH", True, "geoip")
OWN_ITEM = Item(
    item_id="01950000-0000-7000-8000-0000000000aa",
    url="http://example.test/a?b=c",
    host="example.test",
    state=ItemState.REFERRED,
    assigned_node="de-hotline",
    first_reported_at=T,
    created_at=T,
    assessment=ASSESSMENT,
    hosting=HostingRecord(FACTS, T, overridden=True, override_reason="analyst checked", actor="analyst-anna"),
    hashes=list(HASHES),
    status_sequence=3,
)
OWN_REFERRAL_JSON = (
    '{"assessment":{"age_group":"INFANT","child_modelling":false,"classification":"NATIONAL","commerciali'
    'ty":"COMMERCIAL","content_type":"VIDEO","gender":"BOTH","jurisdiction":"NL","payment_methods":["CARD'
    '","E_WALLET","OTHER"],"site_type":"FORUM","user_generated":true,"virtual":true},"first_reported_at":'
    '"2026-03-02T09:00:00.123456+00:00","hashes":[{"algorithm":"sha256","value":"000102030405060708090a0b'
    '0c0d0e0f101112131415161718191a1b1c1d1e1f"},{"algorithm":"pdq","value":"0102030405060708090a0b0c0d0e0'
    'f101112131415161718191a1b1c1d1e1f20"},{"algorithm":"md5","value":"000102030405060708090a0b0c0d0e0f"}'
    ',{"algorithm":"sha1","value":"000102030405060708090a0b0c0d0e0f10111213"}],"hosting":{"asn":64500,"cd'
    'n":true,"country":"DE","ip":"192.0.2.7","organisation":"Example Hosting GmbH"},"next_status_sequence'
    '":4,"origin_item_id":"01950000-0000-7000-8000-0000000000aa","origin_node":"nl-hotline","referred_by"'
    ':"","url":"http://example.test/a?b=c"}'
)
PASSED_ON_ITEM = dataclasses.replace(
    OWN_ITEM,
    assessment=Assessment(Classification.BASELINE),
    hosting=HostingRecord(HostingFacts(None, None, None, None, False, "failed"), T),
    hashes=HASHES[:1],
    origin_node="fr-hotline",
    origin_item_id="01950000-0000-7000-8000-0000000000bb",
    status_sequence=7,
    referred_by="fr-hotline",
)
PASSED_ON_REFERRAL_JSON = (
    '{"assessment":{"age_group":"UNDETERMINED","child_modelling":false,"classification":"BASELINE","comme'
    'rciality":"UNDETERMINED","content_type":"OTHER","gender":"UNDETERMINED","jurisdiction":"","payment_m'
    'ethods":[],"site_type":"UNDETERMINED","user_generated":false,"virtual":false},"first_reported_at":"2'
    '026-03-02T09:00:00.123456+00:00","hashes":[{"algorithm":"sha256","value":"000102030405060708090a0b0c'
    '0d0e0f101112131415161718191a1b1c1d1e1f"}],"hosting":{"asn":null,"cdn":false,"country":null,"ip":null'
    ',"organisation":null},"next_status_sequence":8,"origin_item_id":"01950000-0000-7000-8000-0000000000b'
    'b","origin_node":"fr-hotline","referred_by":"nl-hotline","url":"http://example.test/a?b=c"}'
)


def test_the_referral_of_an_own_item_is_stored_as_this_text() -> None:
    assert dump_body(Referral.of_item(OWN_ITEM, node_id="nl-hotline").to_json()) == OWN_REFERRAL_JSON


def test_an_item_passed_on_keeps_its_origin_and_names_this_node_as_the_referrer() -> None:
    assert dump_body(Referral.of_item(PASSED_ON_ITEM, node_id="nl-hotline").to_json()) == PASSED_ON_REFERRAL_JSON


def test_the_analysts_name_note_and_override_stay_on_the_node() -> None:
    text = dump_body(Referral.of_item(OWN_ITEM, node_id="nl-hotline").to_json())
    for private in ("secret note", "analyst-anna", "analyst checked", "geoip", "assessed_at"):
        assert private not in text


@pytest.mark.parametrize(
    "message",
    [
        Referral.of_item(OWN_ITEM, node_id="nl-hotline"),
        Referral.of_item(PASSED_ON_ITEM, node_id="nl-hotline"),
        StatusUpdate("o-2", 4, "de-hotline", T, ItemState.REFERRED, ActionType.MOVED, None, "FR", "fr-hotline"),
        StatusUpdate("o-3", 2, "de-hotline", T, ItemState.AWAITING_LEA, classification=Classification.DOUBTFUL),
        Withdrawal("nl-hotline", "o-9", "reported in error"),
    ],
)
def test_every_kind_reads_back_from_the_outbox_as_its_peer_subset(message: ExchangeMessage) -> None:
    text = dump_body(message.to_json())
    read = from_outbox(message.kind, text)
    assert type(read) is type(message) and dump_body(read.to_json()) == text
    if isinstance(message, Referral):
        assert isinstance(read, Referral) and message.assessment is not None and read.assessment is not None
        assert read.assessment == Assessment(
            **{
                f.name: getattr(message.assessment, f.name)
                for f in dataclasses.fields(Assessment)
                if f.name not in ("note", "assessed_by", "assessed_at", "automatic")
            }
        )
        assert read.hosting is not None and read.hosting.source == "referral"
    else:
        assert read == message


def test_an_unknown_outbox_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="no message of outbox kind 'receipt'"):
        from_outbox("receipt", "{}")
