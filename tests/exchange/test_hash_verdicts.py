"""Hash verdicts shared between hotlines (issue 16, item 4b), through the real send path (signed, sealed,
delivered once, answered): NL publishes its analysts' verdict on a hash to the peers it opted in to; DE, which
trusts NL's verdicts, banks it and matches it automatically; FR takes NL's verdicts as hints only; NL's
withdrawal (a tombstone) drops it from both banks. A peer DE takes no verdicts from, an oversized batch and a
hash of unknown format are refused with a named reason; a verdict contradicting DE's own list is surfaced, and
DE's list counts by the default precedence.

Every hash is synthetic (not the hash of anything); every URL is under a reserved domain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from node.api._gen.hotline.exchange.v1 import envelope_pb2, messages_pb2
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.app import SYSTEM
from node.cases.exchange_messages import HashVerdict, HashVerdicts
from node.cases.exchange_rules import MAX_VERDICTS_PER_MESSAGE, ExchangeRefusal
from node.cases.model import Assessment, Classification, HashProvenance
from node.cases.requests import NewReport, NewUrl, RawHash
from node.clock import ManualClock
from node.errors import FailedPrecondition
from node.exchange.codec import decode_body
from node.exchange.delivery import is_transient
from node.hashes import ContentHash, HashAlgorithm
from node.store import schema as t
from tests.conftest import ANALYST, HASHER
from tests.exchange.federation import Federation
from tests.exchange.test_insider import accepted, refused, send

NL, DE, FR = "nl-hotline", "de-hotline", "fr-hotline"
H = ContentHash(HashAlgorithm.SHA256, bytes.fromhex("d5" * 32))
SETTINGS: dict[str, dict[str, Any]] = {
    NL: {"publish_verdicts_to": [DE, FR]},
    DE: {"peer_verdicts": {NL: "automatic"}},
    FR: {"peer_verdicts": {NL: "hint"}},
}


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock, database_url: str) -> Iterator[Federation]:
    """NL, DE and FR; DE, the receiver whose bank the attacks aim at, once on SQLite and once on PostgreSQL."""
    federation = Federation(tmp_path, clock, settings=SETTINGS, databases={DE: database_url})
    yield federation
    federation.close()


def node(fed: Federation, node_id: str) -> Any:
    return fed.members[node_id].node


def hashed(fed: Federation, node_id: str, url: str) -> Any:
    """The node's own hashing tool reports `url` with H; the item."""
    cases = node(fed, node_id).cases
    report = cases.submit_report(HASHER, NewReport((NewUrl(url, (RawHash("sha256", H.hex),)),)))
    return cases.get_item(report.items[0].item_id)


def kinds(fed: Federation, node_id: str) -> list[str]:
    return [e.kind for e in node(fed, node_id).cases.list_events(after_seq=0, limit=100_000)]


def verdict(withdrawn: bool = False, content_hash: ContentHash = H) -> HashVerdict:
    return HashVerdict(content_hash, Classification.BASELINE, "ANALYST", datetime(2026, 12, 1, tzinfo=UTC), withdrawn)


def test_a_published_verdict_is_banked_matches_as_configured_and_its_withdrawal_drops_it(fed: Federation) -> None:
    nl = node(fed, NL).cases
    learned = hashed(fed, NL, "https://nl.host.example/listed")
    nl.assess(ANALYST, learned.item_id, Assessment(Classification.BASELINE))  # NL's analyst: known content
    assert nl.publish_hash_verdict(SYSTEM, H) == [DE, FR]
    with node(fed, NL).engine.connect() as c:
        bodies = c.execute(select(t.outbox.c.body).where(t.outbox.c.kind == "hash_verdicts")).scalars().all()
    assert len(bodies) == 2 and "host.example" not in bodies[0] and learned.item_id not in bodies[0]
    [shared] = json.loads(bodies[0])["verdicts"]  # only the hash, its classification, provenance and time
    assert set(shared) == {"algorithm", "value", "classification", "provenance", "decided_at", "withdrawn"}
    fed.deliver_all()

    [banked] = node(fed, DE).cases.peer_bank(NL)
    assert (banked.hash, banked.classification, banked.provenance) == (H, Classification.BASELINE, HashProvenance.PEER)
    assert banked.source == "peer:nl-hotline"
    assert [e.hash for e in node(fed, FR).cases.peer_bank(NL)] == [H]
    # DE trusts NL's verdicts: new content with H is known with no analyst. FR takes them as a hint.
    de_item = hashed(fed, DE, "https://de.host.example/again")
    assert de_item.known_content and de_item.assessment.classification is Classification.BASELINE
    fr_item = hashed(fed, FR, "https://fr.host.example/again")
    assert not fr_item.known_content and fr_item.assessment is None
    assert "item.known_hash_hint" in kinds(fed, FR)

    assert nl.withdraw_hash_verdict(SYSTEM, H) == [DE, FR]
    fed.deliver_all()
    assert node(fed, DE).cases.peer_bank(NL) == [] and node(fed, FR).cases.peer_bank(NL) == []
    later = hashed(fed, DE, "https://de.host.example/after")
    assert not later.known_content and later.assessment is None


def test_only_an_analysts_illegal_verdict_is_published_and_only_to_peers_opted_in(fed: Federation) -> None:
    nl = node(fed, NL).cases
    hashed(fed, NL, "https://nl.host.example/unassessed")
    with pytest.raises(FailedPrecondition, match="only this node's analysts"):
        nl.publish_hash_verdict(SYSTEM, H)
    with pytest.raises(FailedPrecondition, match=r"node\.publish_verdicts_to"):
        node(fed, DE).cases.publish_hash_verdict(SYSTEM, H)  # DE publishes to nobody
    assert fed.deliver_all() == 0


def test_verdicts_from_a_peer_not_taken_or_in_an_oversized_batch_are_refused_and_change_nothing(
    fed: Federation,
) -> None:
    refused(send(fed, FR, DE, HashVerdicts((verdict(),))), "VERDICTS_NOT_ACCEPTED", FR)
    too_many = tuple(
        verdict(content_hash=ContentHash(HashAlgorithm.SHA256, n.to_bytes(32, "big")))
        for n in range(MAX_VERDICTS_PER_MESSAGE + 1)
    )
    refused(send(fed, NL, DE, HashVerdicts(too_many)), "VERDICT_BATCH_TOO_LARGE", NL)
    assert node(fed, DE).cases.peer_bank(NL) == [] and node(fed, DE).cases.peer_bank(FR) == []
    for code in ("VERDICTS_NOT_ACCEPTED", "VERDICT_BATCH_TOO_LARGE", "UNKNOWN_HASH_FORMAT"):
        assert not is_transient(code)  # final: about the message, never sent again


def test_a_withdrawal_of_a_verdict_never_banked_is_accepted_and_changes_nothing(fed: Federation) -> None:
    accepted(send(fed, NL, DE, HashVerdicts((verdict(withdrawn=True),))))
    assert node(fed, DE).cases.peer_bank(NL) == []
    accepted(send(fed, NL, DE, HashVerdicts((verdict(), verdict(withdrawn=True)))))  # applied in order
    assert node(fed, DE).cases.peer_bank(NL) == []


def test_a_peer_verdict_contradicting_our_list_is_surfaced_and_our_list_counts(fed: Federation) -> None:
    de = node(fed, DE).cases
    de.import_known_hashes(SYSTEM, [(H, Classification.NOT_ILLEGAL)], "bka-list")
    accepted(send(fed, NL, DE, HashVerdicts((verdict(),))))
    conflicts = [e.detail for e in de.list_events(after_seq=0, limit=1000) if e.kind == "known_hash.conflict"]
    assert len(conflicts) == 1 and "bka-list counts" in conflicts[0] and "peer:nl-hotline" in conflicts[0]
    item = hashed(fed, DE, "https://de.host.example/contested")
    assert not item.known_content and item.assessment is None  # the list's NOT_ILLEGAL is a hint: an analyst decides


def test_a_verdict_for_a_hash_of_unknown_format_is_refused_with_its_reason() -> None:
    for bad in (
        pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value="zz"),
        pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value="ab" * 20),  # a SHA-1's length
        pb.ContentHash(algorithm=99, value="ab" * 32),  # type: ignore[arg-type]
    ):
        body = messages_pb2.HashVerdicts(verdicts=[messages_pb2.HashVerdict(hash=bad)]).SerializeToString()
        with pytest.raises(ExchangeRefusal) as caught:
            decode_body(envelope_pb2.MESSAGE_KIND_HASH_LIST, body, sender=NL)
        assert caught.value.code == "UNKNOWN_HASH_FORMAT" and caught.value.field == "verdicts[0].hash"


def test_a_pdq_verdict_matches_near_content_at_once_and_not_after_its_withdrawal(fed: Federation) -> None:
    pdq = ContentHash(HashAlgorithm.PDQ, bytes.fromhex("0f" * 32))
    near = bytearray(pdq.digest)
    near[0] ^= 0xFF  # 8 bits away
    accepted(send(fed, NL, DE, HashVerdicts((verdict(content_hash=pdq),))))
    de = node(fed, DE).cases

    def report(url: str) -> Any:
        submitted = de.submit_report(HASHER, NewReport((NewUrl(url, (RawHash("pdq", near.hex()),)),)))
        return de.get_item(submitted.items[0].item_id)

    assert report("https://de.host.example/near").known_content
    accepted(send(fed, NL, DE, HashVerdicts((verdict(withdrawn=True, content_hash=pdq),))))
    assert not report("https://de.host.example/near-again").known_content
