"""The tables of issue 16's disputes, peer opinions and peer banks, on each backend: a dispute counts until the
entry is confirmed, a peer's latest opinion per item replaces its earlier one, and a source's entries list."""

from __future__ import annotations

from datetime import UTC, datetime

from node.cases.model import Classification, HashProvenance
from node.cases.ports import PeerOpinions
from node.hashes import ContentHash, HashAlgorithm
from node.store.sql_store import SqlStore
from tests.store.test_sql_store import plain_item

AT = datetime(2026, 12, 6, tzinfo=UTC)
H = ContentHash(HashAlgorithm.SHA256, bytes.fromhex("f7" * 32))


def test_disputes_count_until_confirmed_and_a_bank_lists_its_source(store: SqlStore) -> None:
    with store.transaction() as tx:
        ours = tx.insert_known_hash(H, Classification.BASELINE, "official", None, AT, provenance=HashProvenance.LIST)
        tx.insert_known_hash(H, Classification.NATIONAL, "peer:de-hotline", None, AT, provenance=HashProvenance.PEER)
        assert [tx.dispute_known_hash(ours) for _ in range(2)] == [1, 2]
    with store.transaction() as tx:
        assert tx.get_known_hash(ours).disputes == 2  # type: ignore[union-attr]
        tx.confirm_known_hash(ours)
        assert tx.get_known_hash(ours).disputes == 0  # type: ignore[union-attr]
        [banked] = tx.list_known_hashes("peer:de-hotline")
        assert (banked.hash, banked.provenance, banked.disputes) == (H, HashProvenance.PEER, 0)
        assert tx.list_known_hashes("peer:fr-hotline") == []


def test_a_peers_latest_opinion_per_item_counts_once(store: SqlStore) -> None:
    first, second = plain_item("https://de.host.example/1"), plain_item("https://de.host.example/2")
    with store.transaction() as tx:
        tx.insert_item(first)
        tx.insert_item(second)
        assert tx.put_peer_opinion(first.item_id, "de-hotline", Classification.NATIONAL, True, AT)
        assert not tx.put_peer_opinion(first.item_id, "de-hotline", Classification.NATIONAL, True, AT)  # the same
        assert tx.put_peer_opinion(first.item_id, "de-hotline", Classification.NOT_ILLEGAL, False, AT)  # changed
        assert tx.put_peer_opinion(second.item_id, "de-hotline", Classification.NATIONAL, True, AT)
        assert tx.put_peer_opinion(second.item_id, "fr-hotline", Classification.NATIONAL, True, AT)
    with store.transaction(read_only=True) as tx:
        assert tx.peer_opinion_counts() == [PeerOpinions("de-hotline", 1, 1), PeerOpinions("fr-hotline", 1, 0)]
