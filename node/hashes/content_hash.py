"""Content hashes sent by integrators: the algorithms the node knows, and parsing of their digests.

The node never computes a hash from content; it only validates and compares hashes that an
integrator's own tooling computed (cryptographic hashes for exact match, PDQ for perceptual match).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from node.errors import InvalidArgument

__all__ = [
    "DEFAULT_PDQ_THRESHOLD",
    "DIGEST_SIZES",
    "ContentHash",
    "HashAlgorithm",
    "parse_hash",
]


class HashAlgorithm(enum.StrEnum):
    """A hash algorithm an integrator may send. PDQ is matched by Hamming distance, the others exactly."""

    SHA256 = "sha256"
    SHA1 = "sha1"
    MD5 = "md5"
    PDQ = "pdq"


DIGEST_SIZES: Mapping[HashAlgorithm, int] = MappingProxyType(
    {
        HashAlgorithm.SHA256: 32,
        HashAlgorithm.SHA1: 20,
        HashAlgorithm.MD5: 16,
        HashAlgorithm.PDQ: 32,
    }
)
"""Digest size in bytes of each algorithm."""

DEFAULT_PDQ_THRESHOLD = 31
"""Largest Hamming distance (in bits, of 256) at which two PDQ hashes count as a match."""


@dataclass(frozen=True, slots=True)
class ContentHash:
    """One digest of one algorithm. The digest length always matches the algorithm."""

    algorithm: HashAlgorithm
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, HashAlgorithm):
            raise TypeError(f"algorithm must be a HashAlgorithm, got {type(self.algorithm).__name__}")
        if not isinstance(self.digest, bytes):
            raise TypeError(f"digest must be bytes, got {type(self.digest).__name__}")
        expected = DIGEST_SIZES[self.algorithm]
        if len(self.digest) != expected:
            raise ValueError(f"{self.algorithm} digest must be {expected} bytes, got {len(self.digest)}")

    @property
    def hex(self) -> str:
        """The digest as lower-case hex text."""
        return self.digest.hex()

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.digest.hex()}"


def parse_hash(algorithm: str | HashAlgorithm, value: str | bytes, *, field: str = "hash") -> ContentHash:
    """Validate an integrator's hash and return it as a ContentHash.

    ``algorithm`` is matched case-insensitively. ``value`` is either hex text (upper or lower case,
    surrounding whitespace ignored) or the raw digest bytes. Errors name ``{field}.algorithm`` or
    ``{field}.value``.
    """
    algo = _parse_algorithm(algorithm, field=f"{field}.algorithm")
    digest = _parse_digest(algo, value, field=f"{field}.value")
    return ContentHash(algo, digest)


_HEX_RE = re.compile(r"[0-9A-Fa-f]*")
_ACCEPTED = ", ".join(a.value for a in HashAlgorithm)
_MAX_ECHO = 32  # characters of a bad value quoted back in an error message


def _parse_algorithm(algorithm: str | HashAlgorithm, *, field: str) -> HashAlgorithm:
    if isinstance(algorithm, HashAlgorithm):
        return algorithm
    if not isinstance(algorithm, str):
        raise InvalidArgument(f"algorithm must be text, one of: {_ACCEPTED}", field=field)
    name = algorithm.strip().lower()
    try:
        return HashAlgorithm(name)
    except ValueError:
        shown = _echo(algorithm) if name else "empty"
        raise InvalidArgument(f"unknown hash algorithm {shown}; accepted: {_ACCEPTED}", field=field) from None


def _parse_digest(algorithm: HashAlgorithm, value: str | bytes, *, field: str) -> bytes:
    size = DIGEST_SIZES[algorithm]
    expected = f"{algorithm} digest must be {size} bytes ({size * 2} hex characters)"
    if isinstance(value, bytes | bytearray):
        if len(value) != size:
            raise InvalidArgument(f"{expected}, got {len(value)} bytes", field=field)
        return bytes(value)
    if not isinstance(value, str):
        raise InvalidArgument(f"{expected}; got {type(value).__name__}", field=field)
    text = value.strip()
    if not text:
        raise InvalidArgument(f"{expected}, got an empty value", field=field)
    if not _HEX_RE.fullmatch(text):
        bad = next(ch for ch in text if ch not in "0123456789abcdefABCDEF")
        raise InvalidArgument(
            f"{algorithm} digest must be hex text (0-9, a-f); found {bad!r} in {_echo(text)}", field=field
        )
    if len(text) % 2:
        raise InvalidArgument(f"{expected}, got {len(text)} hex characters (an odd number)", field=field)
    if len(text) != size * 2:
        raise InvalidArgument(f"{expected}, got {len(text) // 2} bytes", field=field)
    return bytes.fromhex(text)


def _echo(text: str) -> str:
    """Quote a bad value back to the caller, shortened so that errors stay small."""
    if len(text) > _MAX_ECHO:
        return repr(text[:_MAX_ECHO] + "...")
    return repr(text)
