"""Every kind of event the node emits, with when it is emitted: the contract integrators stream against.

`EventKind` is the one list; `node.cases.model.Event.kind` takes nothing else (mypy checks every emitter), the
proto's `hotline.node.v1.EventKind` has one value per member (`report.received` is
`EVENT_KIND_REPORT_RECEIVED`; tests/api/test_event_contract.py keeps them equal), and the README's table is
`WHEN`, printed by `python -m node.cases.event_kinds`.
"""

from __future__ import annotations

import enum

__all__ = ["WHEN", "EventKind", "proto_name"]


class EventKind(enum.StrEnum):
    # Intake
    REPORT_RECEIVED = "report.received"
    ITEM_CREATED = "item.created"
    ITEM_REPEAT_REPORT = "item.repeat_report"
    # Known content
    ITEM_KNOWN_MATCH = "item.known_match"
    ITEM_KNOWN_HASH_HINT = "item.known_hash_hint"
    ITEM_HASHES_ATTESTED = "item.hashes_attested"
    KNOWN_HASH_CONFLICT = "known_hash.conflict"
    # Assessment, hosting, routing
    ITEM_ASSESSED = "item.assessed"
    ITEM_HOSTING_TRACED = "item.hosting_traced"
    ITEM_HOSTING_OVERRIDDEN = "item.hosting_overridden"
    ITEM_ROUTED = "item.routed"
    # The domestic flow
    ACTION_RECORDED = "action.recorded"
    HOLD_PLACED = "hold.placed"
    HOLD_RELEASED = "hold.released"
    DEADLINE_ESCALATED = "deadline.escalated"
    ITEM_CLOSED = "item.closed"
    # Notices the node sends itself
    NOTICE_QUEUED = "notice.queued"
    NOTICE_NOT_SENT = "notice.not_sent"
    NOTICE_SENT = "notice.sent"
    NOTICE_ATTEMPT_FAILED = "notice.attempt_failed"
    NOTICE_FAILING = "notice.failing"
    NOTICE_FAILED = "notice.failed"
    # Federation
    OUTBOX_QUEUED = "outbox.queued"
    REFERRAL_RECEIVED = "referral.received"
    STATUS_APPLIED = "status.applied"
    STATUS_BUFFERED = "status.buffered"
    DELIVERY_REJECTED = "delivery.rejected"
    EXCHANGE_REJECTED = "exchange.rejected"
    EXCHANGE_HELD_REFUSED = "exchange.held_refused"
    EXCHANGE_HELD_EXPIRED = "exchange.held_expired"
    # The roster
    ROSTER_INSTALLED = "roster.installed"
    ROSTER_EXPIRING = "roster.expiring"
    ROSTER_EXPIRED = "roster.expired"
    ROSTER_FILE_REFUSED = "roster.file_refused"
    ROSTER_STORED_REFUSED = "roster.stored_refused"
    # Reconciliation between two nodes
    RECONCILE_UNREPAIRABLE = "reconcile.unrepairable"
    # LEA holds (more)
    HOLD_CLEARED = "hold.cleared"
    HOLD_REMOVAL_OBSERVED = "hold.removal_observed"
    # Known content: disputes, peers' opinions and shared verdicts
    ITEM_MATCH_DISPUTED = "item.match_disputed"
    KNOWN_HASH_DISPUTED = "known_hash.disputed"
    KNOWN_HASH_SUSPENDED = "known_hash.suspended"
    KNOWN_HASH_CONFIRMED = "known_hash.confirmed"
    ITEM_PEER_OPINION = "item.peer_opinion"
    KNOWN_HASH_PUBLISHED = "known_hash.published"
    KNOWN_HASH_WITHDRAWN = "known_hash.withdrawn"
    KNOWN_HASH_PEER_VERDICTS = "known_hash.peer_verdicts"
    # Keys and membership
    KEYS_EXPIRING = "keys.expiring"
    KEYS_EXPIRED = "keys.expired"
    ITEM_REROUTED = "item.rerouted"
    EXCHANGE_REFUSED_BY_PEER = "exchange.refused_by_peer"
    REFERRAL_RECOVERED = "referral.recovered"


WHEN: dict[EventKind, str] = {
    EventKind.REPORT_RECEIVED: "A report was taken (report_id; detail: how many URLs).",
    EventKind.ITEM_CREATED: "A report's URL made a new item (or a peer's referral did).",
    EventKind.ITEM_REPEAT_REPORT: "A report's URL joined an open item of the same normalised URL.",
    EventKind.ITEM_KNOWN_MATCH: "A trusted hash matched illegal known content: classified with no analyst.",
    EventKind.ITEM_KNOWN_HASH_HINT: "A listed hash that decides nothing (claimed, or not illegal): a hint.",
    EventKind.ITEM_HASHES_ATTESTED: "An analyst attested hashes of what they viewed while assessing.",
    EventKind.KNOWN_HASH_CONFLICT: "Trusted known-hash sources disagree about a hash (detail: which ones).",
    EventKind.ITEM_ASSESSED: "An analyst (or a known-hash match, or the origin for a referral) classified the item.",
    EventKind.ITEM_HOSTING_TRACED: "The hosting trace ran (again); detail: the country found.",
    EventKind.ITEM_HOSTING_OVERRIDDEN: "An analyst overrode the hosting trace, with a reason.",
    EventKind.ITEM_ROUTED: "The item was routed: domestic flow, referral to a peer, or a fallback.",
    EventKind.ACTION_RECORDED: "An action was recorded (LEA_NOTIFIED, HP_NOTIFIED, CONTENT_REMOVED, ..., MOVED).",
    EventKind.HOLD_PLACED: "The LEA placed a hold on the NTD (detail: until when).",
    EventKind.HOLD_RELEASED: "The LEA released its hold.",
    EventKind.DEADLINE_ESCALATED: "The removal deadline passed with the content still up.",
    EventKind.ITEM_CLOSED: "The item closed (detail: the closed state).",
    EventKind.NOTICE_QUEUED: "An LEA notice or NTD was queued for the node to send ([notices]).",
    EventKind.NOTICE_NOT_SENT: "An LEA notice or NTD could not be addressed and was not queued (detail: why).",
    EventKind.NOTICE_SENT: "A queued notice was delivered.",
    EventKind.NOTICE_ATTEMPT_FAILED: "A notice's receiver refused it or could not be reached; it is retried.",
    EventKind.NOTICE_FAILING: "A notice has failed `alert_after_attempts` times; still retrying.",
    EventKind.NOTICE_FAILED: "A notice failed for its whole give-up period (`hotline-node notices retry`).",
    EventKind.OUTBOX_QUEUED: "A message to a peer (referral, status update, withdrawal) was queued.",
    EventKind.REFERRAL_RECEIVED: "A peer's referral was accepted: the item is this node's to handle.",
    EventKind.STATUS_APPLIED: "The assignee's status update was applied to the origin's item.",
    EventKind.STATUS_BUFFERED: "A status update ahead of its sequence was kept until the ones before it arrive.",
    EventKind.DELIVERY_REJECTED: "A peer refused a message for good (detail: its reason code).",
    EventKind.EXCHANGE_REJECTED: "This node refused a peer's message (detail: reason code, the authenticated peer).",
    EventKind.EXCHANGE_HELD_REFUSED: "A message held for its item was refused once the item came.",
    EventKind.EXCHANGE_HELD_EXPIRED: "A message held for its item was dropped: the item never came.",
    EventKind.ROSTER_INSTALLED: "A newer signed roster was verified and installed.",
    EventKind.ROSTER_EXPIRING: "The trusted roster expires soon (roster_expiry_warning_days).",
    EventKind.ROSTER_EXPIRED: "The trusted roster expired: referrals wait until a newer one arrives.",
    EventKind.ROSTER_FILE_REFUSED: "The roster file (or a fetched roster) did not verify (detail: why).",
    EventKind.ROSTER_STORED_REFUSED: "A stored roster did not verify at start (detail: why).",
    EventKind.RECONCILE_UNREPAIRABLE: "Reconciling with a peer found items it cannot repair (detail: which, why).",
    EventKind.HOLD_CLEARED: "The LEA cleared removal under its hold: the content may go; the NTD still waits.",
    EventKind.HOLD_REMOVAL_OBSERVED: "The content was found gone while a hold stands: recorded; item and hold stay.",
    EventKind.ITEM_MATCH_DISPUTED: "The item's known-hash match was disputed: it waits for an analyst again.",
    EventKind.KNOWN_HASH_DISPUTED: "A known hash's match was disputed (detail: how many disputes of the limit).",
    EventKind.KNOWN_HASH_SUSPENDED: "A known hash reached the dispute limit: a hint only until `hashes confirm`.",
    EventKind.KNOWN_HASH_CONFIRMED: "An operator re-confirmed a disputed known hash: it matches again.",
    EventKind.ITEM_PEER_OPINION: "The receiving hotline's classification agrees with ours, or not (detail: which).",
    EventKind.KNOWN_HASH_PUBLISHED: "This node published a hash verdict to its peers (`hashes publish`).",
    EventKind.KNOWN_HASH_WITHDRAWN: "This node withdrew a published hash verdict (`hashes withdraw`).",
    EventKind.KNOWN_HASH_PEER_VERDICTS: "A peer's hash verdicts were banked or withdrawn (detail: how many).",
    EventKind.KEYS_EXPIRING: "A key or TLS certificate this node uses stops being accepted soon (`keys rotate`).",
    EventKind.KEYS_EXPIRED: "A key or TLS certificate this node uses is no longer accepted by peers.",
    EventKind.ITEM_REROUTED: "A referral queued for a revoked member was routed again by the roster's fallback.",
    EventKind.EXCHANGE_REFUSED_BY_PEER: (
        "A peer refused this node itself (suspended or revoked): nothing more goes to it until the roster changes."
    ),
    EventKind.REFERRAL_RECOVERED: (
        "A referral this node lost in a restore was re-created from its own signed copy a peer kept."
    ),
}


def proto_name(kind: EventKind) -> str:
    """`report.received` -> `EVENT_KIND_REPORT_RECEIVED`."""
    return "EVENT_KIND_" + kind.value.replace(".", "_").upper()


if __name__ == "__main__":  # the README's table
    print("| Kind | When |\n|---|---|")
    for kind in EventKind:
        print(f"| `{kind}` | {WHEN[kind]} |")
