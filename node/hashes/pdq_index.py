"""In-memory index of known PDQ hashes, matched by Hamming distance.

Digests are kept as an ``(n, 4)`` array of uint64. A query XORs itself against every stored row and
counts the differing bits, in fixed-size chunks so that a query needs only about a megabyte of scratch
memory however large the index is. A million stored hashes take about 10 ms per query on one core.

Thread safety: one writer at a time (``add`` and ``add_many`` take a lock) and any number of concurrent
readers. Readers never lock: they read one immutable snapshot (arrays, count). A writer only ever
writes rows past the published count, or into freshly grown arrays, and then publishes a new snapshot
in a single attribute assignment, so a reader sees either the old or the new state, never a torn one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from node.errors import InvalidArgument
from node.hashes.content_hash import DEFAULT_PDQ_THRESHOLD, DIGEST_SIZES, HashAlgorithm

__all__ = ["PdqIndex"]


class PdqIndex:
    """In-memory index of known PDQ hashes, for matching by Hamming distance."""

    def __init__(self, threshold: int = DEFAULT_PDQ_THRESHOLD) -> None:
        self._threshold = _check_distance(threshold, field="pdq_threshold")
        self._lock = threading.Lock()
        self._state = _Snapshot(
            np.zeros((_INITIAL_CAPACITY, _WORDS), dtype=np.uint64),
            np.zeros(_INITIAL_CAPACITY, dtype=np.int64),
            0,
        )

    @property
    def threshold(self) -> int:
        """The default largest distance that counts as a match."""
        return self._threshold

    def __len__(self) -> int:
        return self._state.length

    def add(self, digest: bytes, ref: int) -> None:
        """Store one digest with ``ref``, the integer id of its known-hash record (amortised O(1))."""
        row = _digest_words(digest, field="pdq")
        checked_ref = _check_ref(ref, field="ref")
        with self._lock:
            hashes, refs, count = self._ensure_capacity(1)
            hashes[count] = row
            refs[count] = checked_ref
            self._state = _Snapshot(hashes, refs, count + 1)

    def add_many(self, digests: Sequence[bytes], refs: Sequence[int]) -> None:
        """Store many digests at once; all are validated first, so a bad one adds nothing."""
        if len(digests) != len(refs):
            raise InvalidArgument(f"got {len(digests)} digests but {len(refs)} refs; they must pair up", field="refs")
        if not digests:
            return
        for i, digest in enumerate(digests):
            _check_digest(digest, field=f"pdq[{i}]")
        checked_refs = [_check_ref(ref, field=f"refs[{i}]") for i, ref in enumerate(refs)]
        rows = np.frombuffer(b"".join(digests), dtype=np.uint64).reshape(-1, _WORDS)
        new_refs = np.asarray(checked_refs, dtype=np.int64)
        with self._lock:
            hashes, stored_refs, count = self._ensure_capacity(len(rows))
            end = count + len(rows)
            hashes[count:end] = rows
            stored_refs[count:end] = new_refs
            self._state = _Snapshot(hashes, stored_refs, end)

    def nearest(self, digest: bytes, max_distance: int | None = None) -> tuple[int, int] | None:
        """Return ``(ref, distance)`` of the closest stored hash within ``max_distance`` (default: the
        index threshold), or None. Ties go to the lowest ref."""
        limit_distance = self._max_distance(max_distance)
        query = _digest_words(digest, field="pdq")
        hashes, refs, count = self._state
        if count == 0:
            return None
        distances = _distances(hashes[:count], query)
        best = int(distances.min())
        if best > limit_distance:
            return None
        tied = np.flatnonzero(distances == best)
        return int(refs[tied].min()), best

    def matches(self, digest: bytes, max_distance: int | None = None, limit: int = 10) -> list[tuple[int, int]]:
        """Return up to ``limit`` ``(ref, distance)`` pairs within ``max_distance`` (default: the index
        threshold), sorted by distance, then ref. A ref stored with several digests may appear once
        for each of them."""
        limit_distance = self._max_distance(max_distance)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidArgument(f"limit must be a positive integer, got {limit!r}", field="limit")
        query = _digest_words(digest, field="pdq")
        hashes, refs, count = self._state
        if count == 0:
            return []
        distances = _distances(hashes[:count], query)
        hits = np.flatnonzero(distances <= limit_distance)
        if len(hits) > limit:
            hits = _closest(hits, distances[hits], refs[hits], limit)
        hit_distances = distances[hits]
        hit_refs = refs[hits]
        order = np.lexsort((hit_refs, hit_distances))[:limit]
        return [(int(r), int(d)) for r, d in zip(hit_refs[order], hit_distances[order], strict=True)]

    def _max_distance(self, max_distance: int | None) -> int:
        if max_distance is None:
            return self._threshold
        return _check_distance(max_distance, field="max_distance")

    def _ensure_capacity(self, extra: int) -> _Snapshot:
        """Under the lock: return the current snapshot, grown (by doubling) to fit ``extra`` more rows."""
        hashes, refs, count = self._state
        needed = count + extra
        if needed <= len(hashes):
            return self._state
        capacity = len(hashes)
        while capacity < needed:
            capacity *= 2
        grown_hashes = np.zeros((capacity, _WORDS), dtype=np.uint64)
        grown_hashes[:count] = hashes[:count]
        grown_refs = np.zeros(capacity, dtype=np.int64)
        grown_refs[:count] = refs[:count]
        return _Snapshot(grown_hashes, grown_refs, count)


_WORDS = 4  # uint64 words per 256-bit PDQ hash
_BITS = 256
_PDQ_SIZE = DIGEST_SIZES[HashAlgorithm.PDQ]
_INITIAL_CAPACITY = 1024
_CHUNK_ROWS = 32_768  # rows per step of a scan: keeps scratch arrays in cache
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_U64Array = npt.NDArray[np.uint64]
_U16Array = npt.NDArray[np.uint16]
_U8Array = npt.NDArray[np.uint8]
_IntpArray = npt.NDArray[np.intp]
_I64Array = npt.NDArray[np.int64]

# Bits set in each byte value, for numpy releases without np.bitwise_count (added in numpy 2.0).
_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class _Snapshot(NamedTuple):
    hashes: _U64Array  # (capacity, 4); rows [count:] are unused
    refs: _I64Array  # (capacity,)
    length: int  # rows in use


def _check_distance(value: int, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _BITS:
        raise InvalidArgument(f"must be an integer from 0 to {_BITS} (bits), got {value!r}", field=field)
    return value


def _check_ref(ref: int, *, field: str) -> int:
    if isinstance(ref, bool) or not isinstance(ref, int | np.integer):
        raise InvalidArgument(f"ref must be an integer, got {type(ref).__name__}", field=field)
    value = int(ref)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidArgument(f"ref must fit in a signed 64-bit integer, got {value}", field=field)
    return value


def _check_digest(digest: bytes, *, field: str) -> None:
    if not isinstance(digest, bytes | bytearray):
        raise InvalidArgument(f"PDQ digest must be {_PDQ_SIZE} raw bytes, got {type(digest).__name__}", field=field)
    if len(digest) != _PDQ_SIZE:
        raise InvalidArgument(f"PDQ digest must be {_PDQ_SIZE} bytes, got {len(digest)} bytes", field=field)


def _digest_words(digest: bytes, *, field: str) -> _U64Array:
    _check_digest(digest, field=field)
    return np.frombuffer(bytes(digest), dtype=np.uint64)


def _distances(hashes: _U64Array, query: _U64Array) -> _U16Array:
    """Hamming distance from ``query`` (4 words) to each row of ``hashes`` (n, 4)."""
    n = len(hashes)
    out = np.empty(n, dtype=np.uint16)
    rows = min(n, _CHUNK_ROWS)
    xored = np.empty((rows, _WORDS), dtype=np.uint64)
    counts = np.empty((rows, _WORDS), dtype=np.uint8)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(n, start + _CHUNK_ROWS)
        k = stop - start
        x = xored[:k]
        c = counts[:k]
        np.bitwise_xor(hashes[start:stop], query, out=x)
        _popcount_words(x, c)
        # Per-row sum by columns: much faster than .sum(axis=1) over a 4-wide axis. uint16, since 4 * 64
        # = 256 does not fit in uint8.
        o = out[start:stop]
        np.add(c[:, 0], c[:, 1], out=o, dtype=np.uint16)
        o += c[:, 2]
        o += c[:, 3]
    return out


def _popcount_words(words: _U64Array, out: _U8Array) -> None:
    """Bits set in each uint64 of ``words``, written to ``out`` (same shape, uint8)."""
    if _HAS_BITWISE_COUNT:
        np.bitwise_count(words, out=out)
    else:
        _popcount_words_by_table(words, out)


def _popcount_words_by_table(words: _U64Array, out: _U8Array) -> None:
    per_byte = _BYTE_POPCOUNT[words.view(np.uint8)]
    per_byte.reshape(*words.shape, 8).sum(axis=-1, dtype=np.uint8, out=out)


_HAS_BITWISE_COUNT = hasattr(np, "bitwise_count")


def _closest(hits: _IntpArray, distances: _U16Array, refs: _I64Array, limit: int) -> _IntpArray:
    """Of ``hits``, keep the ``limit`` best by (distance, ref), in O(len(hits)) rather than a full sort."""
    per_distance = np.bincount(distances, minlength=_BITS + 1)
    cumulative = np.cumsum(per_distance)
    cutoff = int(np.searchsorted(cumulative, limit))  # smallest distance reaching `limit` hits
    below = hits[distances < cutoff]
    at_cutoff = np.flatnonzero(distances == cutoff)
    room = limit - len(below)
    if len(at_cutoff) > room:
        # Keep the `room` lowest refs among those at the cutoff distance.
        at_cutoff = at_cutoff[np.argpartition(refs[at_cutoff], room - 1)[:room]]
    return np.concatenate((below, hits[at_cutoff]))
