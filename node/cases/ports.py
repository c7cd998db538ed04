"""What the case workflow needs from a store. node.store implements it with SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from node.cases.model import (
    Action,
    ActionType,
    Assessment,
    Classification,
    Event,
    HashProvenance,
    Hold,
    HostingRecord,
    Item,
    ItemState,
    KnownHash,
    OutboxMessage,
    Report,
)
from node.hashes import ContentHash

__all__ = [
    "CaseStore",
    "CaseTransaction",
    "IdempotencyRecord",
    "ItemQuery",
    "ItemReceipt",
    "ItemTimes",
    "PeerOpinions",
]


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    method: str
    fingerprint: str
    result_id: str


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """One page of items by id, after `after_item_id`, at most `limit`, with the filters that are set: `state`,
    `hosting_country`, `origin_node` ("" means this node's own) and `updated_since` (with an event at or after
    it). The one filter record of every layer that lists items."""

    after_item_id: str
    limit: int
    state: ItemState | None = None
    hosting_country: str | None = None
    origin_node: str | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ItemTimes:
    """The milestones of one item, for statistics."""

    item_id: str
    state: ItemState
    classification: Classification | None
    hosting_country: str | None
    first_reported_at: datetime
    lea_notified_at: datetime | None
    ntd_sent_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class PeerOpinions:
    """How often a peer hotline's re-assessment of what this node referred to it confirmed this node's
    classification, and how often it disagreed (the latest opinion per item)."""

    peer_node: str
    agreements: int
    disagreements: int


class ItemReceipt(NamedTuple):
    """A peer's signed receipt for a message about an item: a link in the item's chain of custody."""

    message_id: str
    peer: str
    accepted_at: datetime
    receipt: str  # base64 of the signed receipt


class CaseStore(Protocol):
    def transaction(
        self, *, read_only: bool = False, single_read: bool = False
    ) -> AbstractContextManager[CaseTransaction]:
        """A unit of work: commits when the block ends normally, rolls back on any exception. `single_read`: the
        block runs one read statement and nothing else, consistent on its own; the store MAY run it without
        opening a transaction of its own (no BEGIN, no COMMIT)."""
        ...

    def iter_pdq_hashes(self) -> Iterator[tuple[int, bytes]]:
        """Every known PDQ hash as (known_hash_id, digest), to build the in-memory index at start-up."""
        ...


class CaseTransaction(Protocol):
    # Idempotent creates, keyed by (caller, request id).
    def get_idempotency(self, principal: str, request_id: str) -> IdempotencyRecord | None: ...
    def put_idempotency(self, principal: str, request_id: str, record: IdempotencyRecord, at: datetime) -> None: ...

    # Reports and items.
    def insert_intake_bulk(
        self,
        reports: list[tuple[Report, str, datetime]],
        items: list[Item],
        links: list[tuple[str, str, int, bool]],
    ) -> None:
        """New reports (report, submitted by, recorded at), new items with their hosting, and the links
        (report id, item id, position, new item), written with one statement per table."""
        ...

    def open_item_urls(self, urls: list[str]) -> set[str]:
        """Those of `urls` that have an open item of this hotline's own."""
        ...

    def link_report_item(self, report_id: str, item_id: str, position: int, new_item: bool) -> None: ...
    def get_report(self, report_id: str) -> Report | None: ...
    def find_open_item_by_url(self, url: str) -> Item | None: ...
    def get_item(self, item_id: str, *, for_update: bool = False) -> Item | None: ...
    def find_item_by_origin(
        self, origin_node: str, origin_item_id: str, *, for_update: bool = False
    ) -> Item | None: ...
    def item_id_held_for_another_origin(self, origin_item_id: str, origin_node: str) -> bool:
        """Whether an item referred here by an origin other than `origin_node` carries `origin_item_id`."""
        ...

    def put_pending_update(self, item_id: str, sequence: int, sender: str, body: str, at: datetime) -> None: ...
    def take_pending_update(self, item_id: str, sequence: int, sender: str) -> str | None:
        """Remove and return the body of a buffered status update, if one is waiting."""
        ...

    def insert_item(self, item: Item) -> None: ...
    def update_item(self, item: Item) -> None: ...
    def add_item_hashes(self, item_id: str, hashes: list[ContentHash], provenance: HashProvenance) -> None:
        """Record new hashes of the item, each with who asserted it."""
        ...

    def set_item_hash_provenance(self, item_id: str, hashes: list[ContentHash], provenance: HashProvenance) -> None:
        """Record that hashes the item already has were asserted again, by `provenance` (a trusted one)."""
        ...

    def insert_assessment(self, item_id: str, assessment: Assessment) -> int: ...
    def add_assessment(self, item_id: str, assessment: Assessment) -> None:
        """Record an assessment whose id the caller does not need (the store may write it later in the transaction)."""
        ...

    def insert_hosting(self, item_id: str, record: HostingRecord) -> None: ...
    def insert_action(self, action: Action) -> None: ...
    def insert_hold(self, hold: Hold) -> None: ...
    def release_hold(self, hold_id: str, at: datetime) -> None: ...
    def clear_hold(self, hold_id: str, at: datetime, by: str) -> None: ...
    def list_items(self, query: ItemQuery) -> list[Item]:
        """One page of the items the query selects, by id."""
        ...

    def items_past_deadline(self, now: datetime, limit: int) -> list[str]: ...
    def next_deadline(self) -> datetime | None:
        """The earliest removal deadline of an item waiting for its escalation (NTD sent, not escalated), or None."""
        ...

    def purge_closed_items(self, closed_before: datetime, limit: int) -> list[str]:
        """Delete up to `limit` items closed before the cutoff, with their records; returns their ids.

        Assessments that known hashes refer to are kept (detached), so known content stays known."""
        ...

    def clear_exchange_records(self, received_before: datetime, limit: int) -> int:
        """Clear what the exchange's records keep beyond the chain of custody: the body (with its URL) of up to
        `limit` delivered or rejected outbox messages whose item is gone, keeping the body's digest, and the
        free-text reason of inbox entries received before the cutoff. A pending message MUST be kept whole.
        Returns how many rows changed; fewer than `limit` outbox rows means none is left to clear."""
        ...

    # What the retention purge reads to learn when it next has work.
    def last_event_seq(self) -> int:
        """The newest event's sequence number (0 with none)."""
        ...

    def oldest_retained(self) -> datetime | None:
        """The earliest closed_at of the closed items and received_at of the inbox entries that keep a reason: a
        cutoff at or before it finds nothing of theirs to purge or clear (None: there are none)."""
        ...

    def closed_between(self, after_seq: int, upto_seq: int) -> datetime | None:
        """The earliest time an item was closed at by the events after `after_seq` up to `upto_seq`, or None."""
        ...

    def outbox_waits_on_purged(self) -> bool:
        """Whether a message still waiting to be sent belongs to an item that is gone (once sent, its body is
        cleared)."""
        ...

    def item_times(
        self, *, start: datetime | None, end: datetime | None, hosting_country: str | None
    ) -> list[ItemTimes]: ...

    # Known content: one entry per (hash, source), side by side.
    def find_known_hashes(self, content_hash: ContentHash) -> list[KnownHash]:
        """Every source's entry for the hash, oldest first."""
        ...

    def get_known_hash(self, known_hash_id: int) -> KnownHash | None: ...
    def list_known_hashes(self, source: str) -> list[KnownHash]:
        """Every entry of one source, oldest first."""
        ...

    def insert_known_hash(
        self,
        content_hash: ContentHash,
        classification: Classification,
        source: str,
        assessment_id: int | None,
        at: datetime,
        *,
        provenance: HashProvenance,
        version: str = "",
    ) -> int:
        """A new entry of `source` for the hash (the caller checked it has none); its id."""
        ...

    def reclassify_known_hash(
        self, known_hash_id: int, classification: Classification, assessment_id: int | None, *, version: str = ""
    ) -> None:
        """Record a newer classification of an entry (its id, and so the PDQ index, stay the same)."""
        ...

    def dispute_known_hash(self, known_hash_id: int) -> int:
        """Count one more dispute of the entry's matches; the count since it was last confirmed."""
        ...

    def confirm_known_hash(self, known_hash_id: int) -> None:
        """Someone with the authority to re-confirm the entry did so: its disputes count from zero again."""
        ...

    def delete_known_hash(self, known_hash_id: int) -> None:
        """Drop an entry (a lesson its analyst took back); the PDQ index may still name the id: it finds nothing."""
        ...

    # Peer opinions on items this node referred.
    def put_peer_opinion(
        self, item_id: str, peer_node: str, classification: Classification, agrees: bool, at: datetime
    ) -> bool:
        """Record the peer's latest opinion on the item; False if it said the same already."""
        ...

    def peer_opinion_counts(self) -> list[PeerOpinions]:
        """Agreements and disagreements per peer, by peer node id."""
        ...

    # Events, audit and the outbox: written in the same transaction as the change.
    def append_event(self, event: Event) -> None: ...
    def list_events(self, *, after_seq: int, limit: int, item_id: str | None = None) -> list[Event]: ...
    def append_audit(self, *, at: datetime, actor: str, action: str, subject: str, detail: str) -> None: ...
    def enqueue_outbox(self, message: OutboxMessage) -> None: ...
    def cancel_pending_referrals(self, peer: str, reason: str) -> list[str]:
        """Mark every referral to `peer` still waiting to be sent rejected with `reason` (never sent); the ids
        of their items."""
        ...

    def receipts_for_item(self, item_id: str) -> list[ItemReceipt]:
        """The receipt of each accepted message about the item, in the order the peers accepted them."""
        ...


class NoticeHook(Protocol):
    """What an action sends by itself (node.notices.planner): called in the transaction that records the
    action, so the notice is queued if and only if the action is recorded."""

    def action_recorded(self, tx: CaseTransaction, item: Item, action: ActionType, now: datetime) -> None: ...
