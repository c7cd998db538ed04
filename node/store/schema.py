"""The node's database schema (SQLAlchemy Core). A new database is created from it; Alembic migrations bring an
older one to it; tests check they agree.

No column can hold content: there is no binary column at all, and every text column is bounded. Hashes are
stored as hex digests. URLs are bounded by the 8 KiB URL limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

__all__ = [
    "actions",
    "assessments",
    "audit_checkpoints",
    "audit_log",
    "events",
    "held_messages",
    "holds",
    "hosting_records",
    "idempotency",
    "inbox",
    "item_hashes",
    "items",
    "known_hashes",
    "metadata",
    "notices",
    "outbox",
    "peer_opinions",
    "peer_refusals",
    "peer_state",
    "pending_status_updates",
    "receipts",
    "referral_copies",
    "report_items",
    "reports",
    "rosters",
    "tokens",
    "warnings_given",
]

URL_CHARS = 8192
NOTE_CHARS = 2000
NAME_CHARS = 200
# A DNS name is at most 253 characters (RFC 1035); node.cases.urls refuses longer hosts.
HOST_CHARS = 255
# Which resolver traced the hosting ("geoip", "override", ...), or "referral:<node id>" / "moved:<node id>".
SOURCE_CHARS = 80  # "referral:" and a node id of up to 64 characters: 73
# A queued message's JSON: a URL of URL_CHARS bytes may double when escaped (backslashes in its query), plus
# up to 16 hashes and the hosting facts (migration 0004_outbox_body).
OUTBOX_BODY_CHARS = 32768


class _SqliteDateTime(sqlite.DATETIME):
    """SQLite's DATETIME, its text written by `datetime.isoformat`: the same text as SQLAlchemy's storage format
    ("2026-12-07 10:05:57.105542", microseconds always), in C rather than a %-format of seven fields. It binds
    the naive UTC datetimes UtcDateTime gives it (tests/store/test_datetimes.py compares the two)."""

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")

        return process


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone, so it is re-attached)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return _SqliteDateTime(timezone=True)  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the node stores UTC-aware times only")
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Auto-increment keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
_SerialId: Any = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

reports = Table(
    "reports",
    metadata,
    Column("report_id", String(36), primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("referrer_url", String(URL_CHARS), nullable=False),
    Column("reporter_anonymous", Boolean(), nullable=False),
    Column("reporter_name", String(NAME_CHARS), nullable=False),
    Column("reporter_email", String(NAME_CHARS), nullable=False),
    Column("reporter_reference", String(NAME_CHARS), nullable=False),
    Column("submitted_by", String(100), nullable=False),
    # The submitting token's group ('' for none): tokens of one group read each other's reports.
    Column("submitted_group", String(100), nullable=False, server_default=""),
)

items = Table(
    "items",
    metadata,
    Column("item_id", String(36), primary_key=True),
    Column("url", String(URL_CHARS), nullable=False),
    # SHA-256 of the normalised URL: a short, indexable key for URLs up to 8 KiB.
    Column("url_key", String(64), nullable=False),
    Column("host", String(HOST_CHARS), nullable=False),
    Column("state", String(32), nullable=False),
    Column("is_open", Boolean(), nullable=False),
    Column("assigned_node", String(64), nullable=False),
    Column("route", String(32), nullable=True),
    Column("referred_to", String(64), nullable=False),
    Column("known_content", Boolean(), nullable=False),
    Column("report_count", Integer(), nullable=False),
    Column("hosting_country", String(2), nullable=True),
    Column("classification", String(16), nullable=True),
    Column("first_reported_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("lea_notified_at", UtcDateTime(), nullable=True),
    Column("ntd_sent_at", UtcDateTime(), nullable=True),
    Column("deadline_at", UtcDateTime(), nullable=True),
    Column("escalated_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("version", Integer(), nullable=False),
    # Federation: for an item another hotline referred here, the originator and its item id ('' for an item
    # reported to this hotline). `status_sequence` is the last status update sent (at the assignee) or
    # applied (at the originator).
    Column("origin_node", String(64), nullable=False, server_default=""),
    Column("origin_item_id", String(36), nullable=False, server_default=""),
    Column("status_sequence", Integer(), nullable=False, server_default="0"),
    # The node that sent the referral here: the origin, or the hotline it moved on from.
    Column("referred_by", String(64), nullable=False, server_default=""),
    Index("ix_items_url_key", "url_key"),
    # A repeat report joins the open item: at most one open item of this hotline's own per normalised URL.
    # (An item referred here by another hotline is a separate case: it carries that hotline's reference.)
    Index(
        "uq_items_open_url_key",
        "url_key",
        unique=True,
        sqlite_where=text("is_open AND origin_item_id = ''"),
        postgresql_where=text("is_open AND origin_item_id = ''"),
    ),
    Index("ix_items_origin", "origin_node", "origin_item_id"),
    # A withdrawal from a member that is not the item's origin is told apart by the item id alone.
    Index("ix_items_origin_item_id", "origin_item_id"),
    Index("ix_items_state", "state"),
    Index("ix_items_hosting_country", "hosting_country"),
    Index("ix_items_deadline_at", "deadline_at"),
    Index("ix_items_first_reported_at", "first_reported_at"),
)

report_items = Table(
    "report_items",
    metadata,
    Column("report_id", String(36), ForeignKey("reports.report_id"), primary_key=True),
    Column("position", Integer(), primary_key=True),
    Column("item_id", String(36), ForeignKey("items.item_id"), nullable=False, index=True),
    Column("new_item", Boolean(), nullable=False),
)

item_hashes = Table(
    "item_hashes",
    metadata,
    Column("item_id", String(36), ForeignKey("items.item_id"), primary_key=True),
    Column("algorithm", String(8), primary_key=True),
    Column("digest", String(64), primary_key=True),
    # Who asserted the hash (node.cases.model.HashProvenance); rows from before 0004 were claimed.
    Column("provenance", String(16), nullable=False, server_default="CLAIMED"),
    Index("ix_item_hashes_algorithm_digest", "algorithm", "digest"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("assessment_id", _SerialId, primary_key=True, autoincrement=True),
    Column("item_id", String(36), ForeignKey("items.item_id"), nullable=True, index=True),
    Column("classification", String(16), nullable=False),
    Column("age_group", String(16), nullable=False),
    Column("gender", String(16), nullable=False),
    Column("content_type", String(16), nullable=False),
    Column("site_type", String(24), nullable=False),
    Column("commerciality", String(16), nullable=False),
    Column("payment_methods", String(NAME_CHARS), nullable=False),
    Column("virtual", Boolean(), nullable=False),
    Column("child_modelling", Boolean(), nullable=False),
    Column("user_generated", Boolean(), nullable=False),
    Column("jurisdiction", String(2), nullable=False),
    Column("assessed_by", String(100), nullable=False),
    Column("assessed_at", UtcDateTime(), nullable=False),
    Column("automatic", Boolean(), nullable=False),
    Column("note", String(NOTE_CHARS), nullable=False),
    # The known-hash entry an automatic assessment came from (NULL for an analyst's): what a dispute names.
    Column("known_hash_id", BigInteger(), nullable=True),
)

hosting_records = Table(
    "hosting_records",
    metadata,
    Column("hosting_id", _SerialId, primary_key=True, autoincrement=True),
    Column("item_id", String(36), ForeignKey("items.item_id"), nullable=False, index=True),
    Column("ip", String(45), nullable=True),
    Column("country", String(2), nullable=True),
    Column("asn", BigInteger(), nullable=True),
    Column("organisation", String(NAME_CHARS), nullable=True),
    Column("cdn", Boolean(), nullable=False),
    Column("source", String(SOURCE_CHARS), nullable=False),
    Column("overridden", Boolean(), nullable=False),
    Column("override_reason", String(NOTE_CHARS), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("traced_at", UtcDateTime(), nullable=False),
)

actions = Table(
    "actions",
    metadata,
    Column("action_id", String(36), primary_key=True),
    Column("item_id", String(36), ForeignKey("items.item_id"), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("note", String(NOTE_CHARS), nullable=False),
    Column("moved_to_country", String(2), nullable=False),
)

holds = Table(
    "holds",
    metadata,
    Column("hold_id", String(36), primary_key=True),
    Column("item_id", String(36), ForeignKey("items.item_id"), nullable=False, index=True),
    Column("placed_at", UtcDateTime(), nullable=False),
    Column("until", UtcDateTime(), nullable=True),
    Column("released_at", UtcDateTime(), nullable=True),
    Column("reference", String(NAME_CHARS), nullable=False),
    Column("placed_by", String(100), nullable=False),
    # The placing token's group (its agency; '' for none).
    Column("placed_by_group", String(100), nullable=False, server_default=""),
    # The LEA's clearance: removal may go ahead while the hold still stands.
    Column("cleared_at", UtcDateTime(), nullable=True),
    Column("cleared_by", String(100), nullable=False, server_default=""),
)

known_hashes = Table(
    "known_hashes",
    metadata,
    Column("known_hash_id", _SerialId, primary_key=True, autoincrement=True),
    Column("algorithm", String(8), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("classification", String(16), nullable=False),
    # An imported list's name, or "learned" / "learned-not-illegal" (this node's analysts): one entry per source.
    Column("source", String(NAME_CHARS), nullable=False),
    Column("assessment_id", BigInteger(), ForeignKey("assessments.assessment_id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # LIST (imported), ANALYST (learned from a verdict), CLAIMED (learned before 0004 from unvouched hashes).
    Column("provenance", String(16), nullable=False, server_default="LIST"),
    Column("version", String(64), nullable=False, server_default=""),
    # Disputes of its matches since it was last confirmed; at the configured limit it matches no more.
    Column("disputes", Integer(), nullable=False, server_default="0"),
    UniqueConstraint("algorithm", "digest", "source"),
)

# What a peer hotline that was referred an item made of it: its own classification after re-assessment, and
# whether that confirms this node's (one row per item and peer, the latest; purged with the item).
peer_opinions = Table(
    "peer_opinions",
    metadata,
    Column("item_id", String(36), primary_key=True),
    Column("peer_node", String(64), primary_key=True),
    Column("classification", String(16), nullable=False),
    Column("agrees", Boolean(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", _SerialId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("item_id", String(36), nullable=False, index=True),
    Column("report_id", String(36), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("state", String(32), nullable=True),
    Column("detail", String(500), nullable=False),
    # The typed details as JSON (node.cases.event_details), for the kinds that have them.
    Column("details", String(2000), nullable=True),
)

# Append-only and hash-chained: entry_hash = SHA-256(prev_hash and the entry's fields). Triggers refuse UPDATE and
# DELETE (and, on PostgreSQL, TRUNCATE): see _AUDIT_GUARD_DDL below.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", _SerialId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    # An id, or a known-hash list's source name (up to NAME_CHARS).
    Column("subject", String(NAME_CHARS), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    # How entry_hash was made (node.crypto.audit): 1 SHA-256 (older entries), 2 HMAC-SHA256 under the audit key.
    Column("scheme", Integer(), nullable=False, server_default="1"),
)

# The audit log's append-only guards, by backend: migrations 0001 and 0003 create them on a migrated database,
# and a new database gets them with the table (created from this metadata: node.store.engine.migrate).
# tests/store/test_fresh_schema.py checks that both ways give the same schema.
_AUDIT_GUARD_DDL = {
    "sqlite": [
        f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        # A row trigger never sees a TRUNCATE.
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ],
}


@event.listens_for(audit_log, "after_create")
def _guard_audit_log(_table: Table, connection: Connection, **_options: Any) -> None:
    for statement in _AUDIT_GUARD_DDL[connection.dialect.name]:
        connection.exec_driver_sql(statement)


# Signed checkpoints of the audit log (node.crypto.audit.Checkpoint): the log must still extend each of them.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", _SerialId, primary_key=True, autoincrement=True),
    Column("entry_count", BigInteger(), nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("signed_at", UtcDateTime(), nullable=False),
    # The checkpoint's JSON, as exported (with its signature).
    Column("checkpoint", String(2000), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    # SHA-256 of the random secret; the secret itself is never stored.
    Column("secret_hash", String(64), nullable=False),
    Column("roles", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
    # Written at most once a minute per token (node.access.LAST_USED_EVERY).
    Column("last_used_at", UtcDateTime(), nullable=True),
    # During a rotation's overlap the previous secret's hash stays valid until previous_valid_until.
    Column("previous_secret_hash", String(64), nullable=False, server_default=""),
    Column("previous_valid_until", UtcDateTime(), nullable=True),
    # A group (e.g. an agency or an integration with several tokens); '' for none.
    Column("token_group", String(100), nullable=False, server_default=""),
)

# Messages for other nodes, written in the same transaction as the change that caused them.
outbox = Table(
    "outbox",
    metadata,
    Column("outbox_id", _SerialId, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False, unique=True),
    Column("peer_node", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("item_id", String(36), nullable=False),
    Column("body", String(OUTBOX_BODY_CHARS), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("acked_at", UtcDateTime(), nullable=True),
    Column("last_error", String(500), nullable=False),
    # Hex SHA-256 of the body, set when retention clears the body of a delivered message (its URLs go; the
    # ids, times, digest and the peer's signed receipt stay as the chain of custody).
    Column("body_sha256", String(64), nullable=True),
    Index("ix_outbox_peer_node_status", "peer_node", "status"),
    # Messages about one item go in queue order: the sender looks for an earlier one still waiting.
    Index("ix_outbox_peer_node_item_id", "peer_node", "item_id"),
)

# Status updates that arrived ahead of a missing one; applied in sequence order once the gap is filled.
pending_status_updates = Table(
    "pending_status_updates",
    metadata,
    Column("item_id", String(36), ForeignKey("items.item_id"), primary_key=True),
    Column("sequence", Integer(), primary_key=True),
    # Part of the key: a rogue sender cannot occupy the slot of the assignee's real update.
    Column("sender", String(64), primary_key=True),
    Column("body", String(4000), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

# Messages accepted before the item they are about (a withdrawal that overtook its referral): applied when the
# item arrives, or dropped (with an event for the operator) once held for the receiver's hold period.
held_messages = Table(
    "held_messages",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("message_id", String(36), primary_key=True),
    Column("origin_node", String(64), nullable=False),
    Column("origin_item_id", String(36), nullable=False),
    Column("kind", String(32), nullable=False),
    # The message's JSON (node.cases.exchange_messages): a withdrawal, its reason of up to 2,000 characters
    # written as themselves (node.exchange.holding), a newline or tab escaped: at most about 4,100 characters.
    Column("body", String(16384), nullable=False),
    Column("held_at", UtcDateTime(), nullable=False),
    Column("hold_until", UtcDateTime(), nullable=False, index=True),
    Index("ix_held_messages_origin_node_origin_item_id", "origin_node", "origin_item_id"),
)

# Every message received from a peer, deduplicated on (sender, message id), with the receipt returned.
inbox = Table(
    "inbox",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("message_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason_code", String(40), nullable=False),
    Column("reason", String(500), nullable=False),
    # Base64 of the signed receipt (a signed message, up to a few KiB with post-quantum signatures).
    Column("receipt", String(16384), nullable=False),
)

# The chain of custody at the sender: the recipient's signed receipt for each message it accepted.
receipts = Table(
    "receipts",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("peer_node", String(64), nullable=False),
    Column("item_id", String(36), nullable=False, index=True),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("receipt", String(16384), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

# Delivery state per peer: the backoff survives restarts, and resets when the peer contacts us.
peer_state = Table(
    "peer_state",
    metadata,
    Column("peer_node", String(64), primary_key=True),
    Column("failures", Integer(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("last_error", String(500), nullable=False),
    Column("last_success_at", UtcDateTime(), nullable=True),
    # The peer's clock minus this node's, as measured from its last answer, and when.
    Column("clock_skew_ms", BigInteger(), nullable=True),
    Column("clock_measured_at", UtcDateTime(), nullable=True),
)

# Reconciliation with each peer (node.exchange.reconcile): when the two nodes' views were last compared, when
# they last agreed, and how many shared items differed at the last comparison.
peer_reconciliation = Table(
    "peer_reconciliation",
    metadata,
    Column("peer_node", String(64), primary_key=True),
    Column("checked_at", UtcDateTime(), nullable=False),
    Column("agreed_at", UtcDateTime(), nullable=True),
    Column("differences", Integer(), nullable=False),
    Column("resent", Integer(), nullable=False),
    Column("detail", String(500), nullable=False),
)

# Each time the database was restored from a backup (`hotline-node restore`): the node reconciles with every
# peer after the latest one.
restores = Table(
    "restores",
    metadata,
    Column("restored_at", UtcDateTime(), primary_key=True),
    Column("source", String(500), nullable=False),
)

# Each referral received, as its origin signed it (base64 of the SignedMessage: at most one envelope, 256 KiB)
# with this node's signed receipt of it: reconciliation hands it back to an origin that lost the item in a
# restore, which verifies its own signature (node.exchange.reconcile). Deleted with its item by retention.
referral_copies = Table(
    "referral_copies",
    metadata,
    Column("origin_node", String(64), primary_key=True),
    Column("origin_item_id", String(36), primary_key=True),
    Column("item_id", String(36), nullable=False, index=True),
    Column("sender", String(64), nullable=False),
    Column("message_id", String(36), nullable=False),
    Column("signed_referral", String(400_000), nullable=False),
    Column("receipt", String(16384), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

# A peer's verified refusal of this node (suspended or revoked there; node.exchange.sender): nothing goes to that
# peer while this node trusts the roster version it was refused under. Base64 of the signed refusal.
peer_refusals = Table(
    "peer_refusals",
    metadata,
    Column("peer_node", String(64), primary_key=True),
    Column("reason_code", String(40), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("roster_version", BigInteger(), nullable=False),
    Column("refused_at", UtcDateTime(), nullable=False),
    Column("refusal", String(16384), nullable=False),
)

# Warnings given once (the roster's, a key's or the TLS certificate's expiry; a roster file refused): not repeated
# after a restart. `warning` names what was warned of; `detail` is what the operator was told.
warnings_given = Table(
    "warnings_given",
    metadata,
    Column("warning", String(200), primary_key=True),
    Column("code", String(40), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("given_at", UtcDateTime(), nullable=False),
)

# The signed rosters this node has trusted, newest last. Base64 of the SignedRoster bytes.
rosters = Table(
    "rosters",
    metadata,
    Column("version", BigInteger(), primary_key=True, autoincrement=False),
    Column("signed_roster", String(4_000_000), nullable=False),
    Column("trusted_at", UtcDateTime(), nullable=False),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("principal", String(100), primary_key=True),
    Column("request_id", String(128), primary_key=True),
    Column("method", String(40), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("result_id", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# The notices the node sends itself (node.notices), queued in the transaction that records their action and
# worked by the dispatcher. `text` and `xarf` (which carry the URL where the template asks for it) are emptied
# once the notice is delivered; ids, recipient and times stay for the timeline.
NOTICE_TEXT_CHARS = 32768
notices = Table(
    "notices",
    metadata,
    Column("notice_id", String(36), primary_key=True),
    Column("item_id", String(36), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(NAME_CHARS + 100), nullable=False),
    Column("text", String(NOTICE_TEXT_CHARS), nullable=False),
    Column("xarf", String(NOTICE_TEXT_CHARS), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("last_error", String(500), nullable=False),
    Index("ix_notices_status_next_attempt_at", "status", "next_attempt_at"),
)
