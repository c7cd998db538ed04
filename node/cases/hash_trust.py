"""Which hashes the node trusts, and what a known hash may decide on its own.

The seeds' promise is narrow: content "previously reported and classified as images of sexual abuse" need not
be examined again. So:
- an item's hash matches automatically only if the node's own tools computed it (HASHER) or an analyst attested
  it (ANALYST); a hash an intake caller merely claims (CLAIMED) is a hint for the analyst, nothing more;
- a known hash decides on its own only if it is trusted (an imported list, or learned from this node's analysts)
  and illegal (BASELINE or NATIONAL); a known "not illegal" (or DOUBTFUL) is a hint, never a closing;
- every source keeps its own entry for a hash; where the trusted entries disagree, the configured precedence
  (source names, first wins) picks the one that counts, and the disagreement is surfaced as an event;
- a peer's shared verdicts sit in their own bank (source "peer:<node id>"), a hint unless the operator trusts
  that peer's verdicts to match automatically (node.peer_verdicts = {"<node id>" = "automatic"});
- an entry whose matches analysts disputed `dispute_limit` times (since it was last confirmed) is suspended: it
  is a hint until someone re-confirms it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.cases.model import Classification, HashProvenance, KnownHash, Principal, Role

__all__ = [
    "DEFAULT_DISPUTE_LIMIT",
    "ILLEGAL",
    "LEARNED_NOT_ILLEGAL_SOURCE",
    "LEARNED_SOURCE",
    "PEER_SOURCE_PREFIX",
    "RESERVED_SOURCES",
    "TRUSTED_ITEM_HASHES",
    "KnownHashPolicy",
    "MatchDecision",
    "caller_provenance",
    "describe",
    "peer_source",
]

ILLEGAL = frozenset({Classification.BASELINE, Classification.NATIONAL})
DEFAULT_DISPUTE_LIMIT = 3
# An item's hash of these provenances may match and teach; CLAIMED and PEER may not (yet).
TRUSTED_ITEM_HASHES = frozenset({HashProvenance.HASHER, HashProvenance.ANALYST})
# Known-hash entries of these provenances may decide; CLAIMED entries (learned before provenance was recorded,
# from hashes nobody vouched for) are hints only.
_TRUSTED_ENTRIES = frozenset({HashProvenance.LIST, HashProvenance.ANALYST})
# What this node's analysts taught it: illegal verdicts (auto-matching), and the opt-in "known not illegal" set.
LEARNED_SOURCE = "learned"
LEARNED_NOT_ILLEGAL_SOURCE = "learned-not-illegal"
RESERVED_SOURCES = frozenset({LEARNED_SOURCE, LEARNED_NOT_ILLEGAL_SOURCE})
# A peer's bank of shared verdicts: "peer:<node id>".
PEER_SOURCE_PREFIX = "peer:"


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """What the known entries of one hash say about an item: `automatic` classifies it with no analyst; otherwise
    `hint` (if any) is shown to the analyst. `conflict` lists the disagreeing trusted entries, winner first."""

    automatic: KnownHash | None = None
    hint: KnownHash | None = None
    conflict: tuple[KnownHash, ...] = ()


@dataclass(frozen=True, slots=True)
class KnownHashPolicy:
    """`precedence`: source names, the first listed wins where trusted entries disagree. Sources not listed
    come after, in this order: imported lists, then "learned", then "learned-not-illegal" (and, among equals,
    the older entry first). `learn_not_illegal`: keep analysts' NOT_ILLEGAL verdicts as the lower-trust
    "learned-not-illegal" set, shown as a hint, never closing an item (off by default). `dispute_limit`: after
    this many disputes of its matches (since it was last confirmed) an entry no longer matches automatically."""

    precedence: tuple[str, ...] = ()
    learn_not_illegal: bool = False
    dispute_limit: int = DEFAULT_DISPUTE_LIMIT
    # Peers whose shared verdicts this node takes: (node id, "hint" or "automatic"), and peers it publishes to.
    peer_verdicts: tuple[tuple[str, str], ...] = ()
    publish_to: tuple[str, ...] = ()

    @property
    def accepts_verdicts_from(self) -> frozenset[str]:
        return frozenset(peer for peer, _ in self.peer_verdicts)

    def trusted(self, entry: KnownHash) -> bool:
        """Whether an entry may decide: an imported list or this node's analysts, or a peer trusted to."""
        if entry.provenance is HashProvenance.PEER:
            return (entry.source.removeprefix(PEER_SOURCE_PREFIX), "automatic") in self.peer_verdicts
        return entry.provenance in _TRUSTED_ENTRIES

    def suspended(self, entry: KnownHash) -> bool:
        """Whether analysts disputed the entry's matches often enough that it no longer decides on its own."""
        return entry.disputes >= self.dispute_limit

    def rank(self, entry: KnownHash) -> tuple[int, int, int]:
        listed = self.precedence.index(entry.source) if entry.source in self.precedence else len(self.precedence)
        if entry.source == LEARNED_SOURCE:
            default = 1
        elif entry.source == LEARNED_NOT_ILLEGAL_SOURCE:
            default = 2
        else:
            default = 0 if entry.provenance is HashProvenance.LIST else 3
        return listed, default, entry.known_hash_id

    def ordered(self, entries: Sequence[KnownHash]) -> list[KnownHash]:
        """The trusted entries, the one that counts first."""
        return sorted((e for e in entries if self.trusted(e)), key=self.rank)

    def conflict(self, entries: Sequence[KnownHash]) -> tuple[KnownHash, ...]:
        """The trusted entries, winner first, if they disagree on the classification; else ()."""
        ordered = self.ordered(entries)
        return tuple(ordered) if len({e.classification for e in ordered}) > 1 else ()

    def decide(self, provenance: HashProvenance, entries: Sequence[KnownHash]) -> MatchDecision:
        """What the known entries of an item's hash (asserted with `provenance`) decide."""
        ordered = self.ordered(entries)
        conflict = self.conflict(entries)
        if not ordered:
            return MatchDecision(hint=min(entries, key=self.rank) if entries else None)
        winner = ordered[0]
        if provenance in TRUSTED_ITEM_HASHES and winner.classification in ILLEGAL and not self.suspended(winner):
            return MatchDecision(automatic=winner, conflict=conflict)
        return MatchDecision(hint=winner, conflict=conflict)

    def learned_source(self, classification: Classification) -> str | None:
        """The set an analyst's verdict teaches: illegal verdicts are known content; NOT_ILLEGAL only if opted
        in (as a hint); DOUBTFUL never."""
        if classification in ILLEGAL:
            return LEARNED_SOURCE
        if classification is Classification.NOT_ILLEGAL and self.learn_not_illegal:
            return LEARNED_NOT_ILLEGAL_SOURCE
        return None


def peer_source(node_id: str) -> str:
    """The source name of a peer's bank of shared verdicts."""
    return f"{PEER_SOURCE_PREFIX}{node_id}"


def caller_provenance(principal: Principal) -> HashProvenance:
    """The provenance of hashes a caller sends with a report: the node's own hashing tool (a token with the
    hasher role) computed them, or an intake caller merely claims them."""
    return HashProvenance.HASHER if Role.HASHER in principal.roles else HashProvenance.CLAIMED


def describe(entry: KnownHash) -> str:
    """An entry for an event's detail: its id, source, classification and disputes (never the digest)."""
    version = f" {entry.version}" if entry.version else ""
    disputed = f", disputed {entry.disputes}x" if entry.disputes else ""
    return f"known_hash={entry.known_hash_id} ({entry.source[:60]}{version}: {entry.classification}{disputed})"
