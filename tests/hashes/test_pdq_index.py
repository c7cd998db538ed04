"""PdqIndex: exact and near matches, threshold boundaries, ties, growth, validation, and a property test
against a brute-force popcount. All digests are synthetic random bytes."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.errors import InvalidArgument
from node.hashes import DEFAULT_PDQ_THRESHOLD, PdqIndex
from node.hashes import pdq_index as pdq_module


def _random_digest(rng: random.Random) -> bytes:
    return rng.randbytes(32)


def _flip(digest: bytes, bits: list[int]) -> bytes:
    """Return ``digest`` with the given bit positions (0..255) inverted."""
    value = int.from_bytes(digest, "big")
    for bit in bits:
        value ^= 1 << bit
    return value.to_bytes(32, "big")


def _at_distance(digest: bytes, distance: int, rng: random.Random) -> bytes:
    return _flip(digest, rng.sample(range(256), distance))


def _hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def test_default_threshold() -> None:
    assert DEFAULT_PDQ_THRESHOLD == 31
    assert PdqIndex().threshold == 31


def test_empty_index() -> None:
    index = PdqIndex()
    query = _random_digest(random.Random(1))
    assert len(index) == 0
    assert index.nearest(query) is None
    assert index.matches(query) == []


def test_exact_match() -> None:
    rng = random.Random(2)
    index = PdqIndex()
    digests = [_random_digest(rng) for _ in range(50)]
    for ref, digest in enumerate(digests, start=100):
        index.add(digest, ref)
    assert len(index) == 50
    assert index.nearest(digests[17]) == (117, 0)
    assert index.matches(digests[17]) == [(117, 0)]


def test_near_match_reports_distance() -> None:
    rng = random.Random(3)
    index = PdqIndex()
    known = _random_digest(rng)
    index.add(known, 7)
    for _ in range(20):
        index.add(_random_digest(rng), 1_000 + _)
    query = _at_distance(known, 12, rng)
    assert index.nearest(query) == (7, 12)
    assert index.matches(query) == [(7, 12)]


def test_random_digests_do_not_match() -> None:
    # Unrelated random 256-bit hashes differ in ~128 bits; nothing is within 31.
    rng = random.Random(4)
    index = PdqIndex()
    index.add_many([_random_digest(rng) for _ in range(1000)], list(range(1000)))
    assert index.nearest(_random_digest(rng)) is None
    assert index.matches(_random_digest(rng)) == []


@pytest.mark.parametrize("threshold", [0, 1, 31, 100, 255, 256])
def test_threshold_boundary(threshold: int) -> None:
    rng = random.Random(threshold)
    base = _random_digest(rng)
    positions = rng.sample(range(256), 256)
    index = PdqIndex(threshold)
    index.add(base, 1)

    at = _flip(base, positions[:threshold])
    assert index.nearest(at) == (1, threshold)
    assert index.matches(at) == [(1, threshold)]
    if threshold < 256:
        beyond = _flip(base, positions[: threshold + 1])
        assert index.nearest(beyond) is None
        assert index.matches(beyond) == []


def test_max_distance_overrides_threshold() -> None:
    rng = random.Random(5)
    base = _random_digest(rng)
    index = PdqIndex()
    index.add(base, 1)
    query = _at_distance(base, 20, rng)
    assert index.nearest(query) == (1, 20)
    assert index.nearest(query, max_distance=19) is None
    assert index.nearest(query, max_distance=20) == (1, 20)
    assert index.matches(query, max_distance=19) == []
    far = _at_distance(base, 40, rng)
    assert index.nearest(far) is None
    assert index.nearest(far, max_distance=40) == (1, 40)


def test_nearest_prefers_closest_then_lowest_ref() -> None:
    rng = random.Random(6)
    base = _random_digest(rng)
    index = PdqIndex()
    index.add(_at_distance(base, 5, rng), 50)
    index.add(_at_distance(base, 3, rng), 90)
    index.add(_at_distance(base, 3, rng), 30)  # tie at 3, lower ref, added later
    index.add(_at_distance(base, 3, rng), 60)
    assert index.nearest(base) == (30, 3)


def test_identical_digests_tie_on_lowest_ref() -> None:
    rng = random.Random(7)
    digest = _random_digest(rng)
    index = PdqIndex()
    for ref in (42, 17, 99, 23):
        index.add(digest, ref)
    assert index.nearest(digest) == (17, 0)
    assert index.matches(digest) == [(17, 0), (23, 0), (42, 0), (99, 0)]


def test_matches_sorted_by_distance_then_ref_and_limited() -> None:
    rng = random.Random(8)
    base = _random_digest(rng)
    index = PdqIndex()
    wanted = [(4, 10), (9, 10), (1, 2), (8, 31), (3, 0), (5, 2), (2, 31)]
    for ref, distance in wanted:
        index.add(_at_distance(base, distance, rng), ref)
    index.add(_at_distance(base, 32, rng), 0)  # just outside the threshold
    expected = sorted(((ref, d) for ref, d in wanted), key=lambda p: (p[1], p[0]))
    assert index.matches(base) == expected
    assert index.matches(base, limit=3) == expected[:3]
    assert index.matches(base, limit=1) == [(3, 0)]
    assert index.matches(base, limit=100) == expected


def test_matches_limit_with_many_ties_at_cutoff() -> None:
    # More candidates than the limit, with the cut falling inside a group of equal distances:
    # the lowest refs of that group must be kept.
    rng = random.Random(9)
    base = _random_digest(rng)
    index = PdqIndex()
    refs = list(range(200))
    rng.shuffle(refs)
    for ref in refs:
        distance = 1 if ref < 3 else 4
        index.add(_at_distance(base, distance, rng), ref)
    assert index.matches(base, limit=10) == [(0, 1), (1, 1), (2, 1)] + [(r, 4) for r in range(3, 10)]
    assert index.matches(base, limit=3) == [(0, 1), (1, 1), (2, 1)]
    assert len(index.matches(base, limit=150)) == 150


def test_grows_past_initial_capacity() -> None:
    rng = random.Random(10)
    initial = pdq_module._INITIAL_CAPACITY
    count = initial * 4 + 3
    digests = [_random_digest(rng) for _ in range(count)]
    index = PdqIndex()
    for ref, digest in enumerate(digests):
        index.add(digest, ref)
    assert len(index) == count
    # Entries written before, across and after each doubling are all still found.
    for ref in (0, initial - 1, initial, initial + 1, 2 * initial, count - 1):
        assert index.nearest(digests[ref]) == (ref, 0)
    capacity = len(index._state.hashes)
    assert capacity >= count
    assert capacity == initial * 8  # doubled, not grown per item


def test_add_many_matches_individual_adds() -> None:
    rng = random.Random(11)
    digests = [_random_digest(rng) for _ in range(3000)]
    refs = [rng.randrange(-(2**63), 2**63) for _ in digests]
    bulk = PdqIndex()
    bulk.add(digests[0], refs[0])
    bulk.add_many(digests[1:], refs[1:])
    single = PdqIndex()
    for digest, ref in zip(digests, refs, strict=True):
        single.add(digest, ref)
    assert len(bulk) == len(single) == 3000
    for i in rng.sample(range(3000), 50):
        query = _at_distance(digests[i], 6, rng)
        assert bulk.nearest(query) == single.nearest(query) == (refs[i], 6)
        assert bulk.matches(query) == single.matches(query)


def test_add_many_empty_and_bytearray() -> None:
    rng = random.Random(12)
    index = PdqIndex()
    index.add_many([], [])
    assert len(index) == 0
    digest = _random_digest(rng)
    index.add_many([bytearray(digest)], [5])  # type: ignore[list-item]
    assert index.nearest(digest) == (5, 0)


def test_add_many_is_all_or_nothing() -> None:
    rng = random.Random(13)
    index = PdqIndex()
    good = [_random_digest(rng) for _ in range(3)]
    with pytest.raises(InvalidArgument) as info:
        index.add_many([*good, b"\x00" * 31], [1, 2, 3, 4])
    assert info.value.field == "pdq[3]"
    with pytest.raises(InvalidArgument) as info:
        index.add_many(good, [1, 2, 2**63])
    assert info.value.field == "refs[2]"
    with pytest.raises(InvalidArgument) as info:
        index.add_many(good, [1, 2])
    assert info.value.field == "refs"
    assert len(index) == 0
    assert index.nearest(good[0]) is None


@pytest.mark.parametrize("threshold", [-1, 257, 1000])
def test_bad_threshold(threshold: int) -> None:
    with pytest.raises(InvalidArgument) as info:
        PdqIndex(threshold)
    assert info.value.field == "pdq_threshold"
    assert "0 to 256" in info.value.message


def test_threshold_must_be_an_integer() -> None:
    with pytest.raises(InvalidArgument) as info:
        PdqIndex(True)
    assert info.value.field == "pdq_threshold"
    with pytest.raises(InvalidArgument):
        PdqIndex(3.5)  # type: ignore[arg-type]


def test_bad_query_and_arguments() -> None:
    rng = random.Random(14)
    index = PdqIndex()
    index.add(_random_digest(rng), 1)
    for bad in (b"", b"\x00" * 31, b"\x00" * 33, _random_digest(rng).hex().encode()):
        with pytest.raises(InvalidArgument) as info:
            index.nearest(bad)
        assert info.value.field == "pdq"
        assert "32 bytes" in info.value.message
        with pytest.raises(InvalidArgument) as info:
            index.matches(bad)
        assert info.value.field == "pdq"
        with pytest.raises(InvalidArgument) as info:
            index.add(bad, 2)
        assert info.value.field == "pdq"
    with pytest.raises(InvalidArgument) as info:
        index.nearest(_random_digest(rng).hex())  # type: ignore[arg-type]
    assert info.value.field == "pdq"
    with pytest.raises(InvalidArgument) as info:
        index.nearest(_random_digest(rng), max_distance=257)
    assert info.value.field == "max_distance"
    with pytest.raises(InvalidArgument) as info:
        index.matches(_random_digest(rng), limit=0)
    assert info.value.field == "limit"
    with pytest.raises(InvalidArgument) as info:
        index.add(_random_digest(rng), "1")  # type: ignore[arg-type]
    assert info.value.field == "ref"
    assert len(index) == 1


def test_table_popcount_matches_bitwise_count() -> None:
    # The fallback for numpy < 2 must agree with np.bitwise_count.
    words = np.random.default_rng(15).integers(0, 2**64, size=(1000, 4), dtype=np.uint64, endpoint=False)
    words[0] = 0
    words[1] = np.iinfo(np.uint64).max
    by_table = np.empty(words.shape, dtype=np.uint8)
    pdq_module._popcount_words_by_table(words, by_table)
    assert (by_table == np.bitwise_count(words)).all()
    assert by_table[1].sum() == 256


def test_distances_span_chunks_and_reach_256() -> None:
    rng = random.Random(16)
    index = PdqIndex(threshold=256)
    count = pdq_module._CHUNK_ROWS * 2 + 5
    digests = [_random_digest(rng) for _ in range(count)]
    index.add_many(digests, list(range(count)))
    query = _random_digest(rng)
    complement = _flip(query, list(range(256)))
    index.add(complement, -1)
    # The full complement is at distance 256, which must not wrap around to 0.
    assert index.matches(query, limit=count + 1)[-1] == (-1, 256)
    for i in (0, pdq_module._CHUNK_ROWS - 1, pdq_module._CHUNK_ROWS, count - 1):
        assert index.nearest(digests[i], max_distance=0) == (i, 0)


def test_concurrent_readers_during_writes() -> None:
    rng = random.Random(17)
    first = _random_digest(rng)
    index = PdqIndex()
    index.add(first, 0)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                assert index.nearest(first) == (0, 0)
                assert len(index) >= 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    writer_rng = random.Random(18)
    for ref in range(1, 5000):
        index.add(writer_rng.randbytes(32), ref)
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert len(index) == 5000


_digests = st.binary(min_size=32, max_size=32)


@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(st.tuples(_digests, st.integers(min_value=-(2**63), max_value=2**63 - 1)), max_size=60),
    query=_digests,
    max_distance=st.integers(min_value=0, max_value=256),
    flips=st.lists(st.integers(min_value=0, max_value=255), max_size=40),
)
def test_nearest_and_matches_agree_with_brute_force(
    stored: list[tuple[bytes, int]], query: bytes, max_distance: int, flips: list[int]
) -> None:
    if stored:
        # Plant a near neighbour so that matches are not only ever at ~128 bits.
        stored = [*stored, (_flip(query, flips), stored[0][1])]
    index = PdqIndex()
    index.add_many([d for d, _ in stored], [r for _, r in stored])

    within = sorted((_hamming(query, d), ref) for d, ref in stored if _hamming(query, d) <= max_distance)
    expected_nearest = (within[0][1], within[0][0]) if within else None
    assert index.nearest(query, max_distance=max_distance) == expected_nearest
    expected = [(ref, distance) for distance, ref in within]
    assert index.matches(query, max_distance=max_distance, limit=len(stored) + 1) == expected
    assert index.matches(query, max_distance=max_distance, limit=5) == expected[:5]
