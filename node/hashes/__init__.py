"""Known-content matching helpers: hashes that integrators computed, and matching them against known lists.

Domain code: the node handles digests only, never content bytes, and never computes a hash itself.
Exact algorithms (SHA-256, SHA-1, MD5) match by equality; PDQ matches by Hamming distance (PdqIndex).
"""

from node.hashes.content_hash import (
    DEFAULT_PDQ_THRESHOLD,
    DIGEST_SIZES,
    ContentHash,
    HashAlgorithm,
    parse_hash,
)
from node.hashes.hash_list import (
    KNOWN_HASH_CLASSIFICATIONS,
    MAX_SOURCE_LENGTH,
    KnownHashEntry,
    parse_hash_list_csv,
)
from node.hashes.pdq_index import PdqIndex

__all__ = [
    "DEFAULT_PDQ_THRESHOLD",
    "DIGEST_SIZES",
    "KNOWN_HASH_CLASSIFICATIONS",
    "MAX_SOURCE_LENGTH",
    "ContentHash",
    "HashAlgorithm",
    "KnownHashEntry",
    "PdqIndex",
    "parse_hash",
    "parse_hash_list_csv",
]
