"""Named random streams: every draw of the world model comes from a stream named by the run's seed, a
purpose and an entity key, e.g. (7, "response", "gb-12-3/0"). A stream is counter-based (BLAKE2b of the
name and a block counter, in the manner of Random123 and ns-3's per-object streams), so its draws depend on
nothing but its name: changing one country's parameters changes only the draws that read them, and
comparisons between scenario variants use common random numbers.

The draws are computed from integers and IEEE doubles only, so they are the same on any machine.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Sequence

__all__ = ["Stream", "poisson"]

_WORDS = 8  # 64-bit words per BLAKE2b-512 block
_UNIT = 2.0**-53
_BLOCK = struct.Struct("<8Q")


class Stream:
    """The draws of one (seed, purpose, key); each method consumes the next words of the stream."""

    __slots__ = ("_block", "_name", "_position", "_words")

    def __init__(self, seed: int, purpose: str, key: str) -> None:
        self._name = f"{seed}\x1f{purpose}\x1f{key}\x1f".encode()
        self._block = 0
        self._words: tuple[int, ...] = ()
        self._position = _WORDS

    def _next_word(self) -> int:
        if self._position == _WORDS:
            digest = hashlib.blake2b(self._name + str(self._block).encode(), digest_size=64).digest()
            self._words = _BLOCK.unpack(digest)
            self._block += 1
            self._position = 0
        word = self._words[self._position]
        self._position += 1
        return word

    def random(self) -> float:
        """Uniform on [0, 1)."""
        return (self._next_word() >> 11) * _UNIT

    def uniform(self, low: float, high: float) -> float:
        """Uniform on [low, high)."""
        return low + (high - low) * self.random()

    def bits32(self) -> int:
        return self._next_word() >> 32

    def randrange(self, start: int, stop: int) -> int:
        """Uniform integer in [start, stop) (the modulo bias of a 64-bit word is below 2**-50 here)."""
        return start + self._next_word() % (stop - start)

    def gauss(self) -> float:
        """Standard normal (Box-Muller; consumes two words)."""
        u1, u2 = 1.0 - self.random(), self.random()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def choose(self, weights: Sequence[float]) -> int:
        """The index of a weighted choice (weights need not sum to 1; one word)."""
        total = math.fsum(weights)
        target = self.random() * total
        running = 0.0
        for index, weight in enumerate(weights):
            running += weight
            if target < running:
                return index
        return len(weights) - 1


def poisson(stream: Stream, mean: float) -> int:
    """A Poisson count by inversion, in pieces of mean at most 200 (so exp(-mean) never underflows)."""
    count = 0
    remaining = mean
    while remaining > 0:
        piece = min(remaining, 200.0)
        remaining -= piece
        u = stream.random()
        p = math.exp(-piece)
        cumulative = p
        k = 0
        while u >= cumulative and p > 0:
            k += 1
            p *= piece / k
            cumulative += p
        count += k
    return count
