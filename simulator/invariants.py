"""The invariant checker: after every run, what the nodes recorded must show that the federation kept its
promises. A violated invariant fails the run with a report naming the items and messages involved.

- exactly_once: every referral sent was delivered exactly once (one accepted inbox entry, one item).
- nothing_lost: every message was delivered and receipted, or is held for a member that may not receive;
  every report the case systems submitted has its item at the origin.
- rogue_rejected: every forged, impersonating, misaddressed, malformed, expired or replayed message from
  the rogue member was rejected (a replay answered DUPLICATE), and none of them changed anything.
- no_unsent_items: no node holds an item it was not sent (by a report to it, or a referral to it).
- views_match: every originator's view of a referred item matches the final assignee's state.

Each invariant reads the stores row by row (`simulator.stores.EndStores`), in each table's stored order, so
that a year of reports is checked in bounded memory with the same counts and the same messages in the same
order as if every row were in memory.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from node.exchange.ports import OutboxStatus
from simulator.stores import EndStores

__all__ = ["InvariantResult", "check_invariants"]

MAX_LISTED = 20
_CLOSED = {"CLOSED_REMOVED", "CLOSED_UNAVAILABLE", "CLOSED_NOT_ILLEGAL", "WITHDRAWN"}


@dataclass
class InvariantResult:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    violation_count: int = 0
    # Cases the invariant does not demand, with the reason (e.g. messages held for a revoked member).
    excused: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.violation_count == 0

    def fail(self, message: str) -> None:
        self.violation_count += 1
        if len(self.violations) < MAX_LISTED:
            self.violations.append(message)

    def excuse(self, reason: str) -> None:
        self.excused[reason] = self.excused.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def check_invariants(
    stores: EndStores,
    *,
    submitted: Mapping[str, Container[str]],
    origin_items: Iterable[tuple[str, str]],
    inactive: set[str],
    rogues: set[str],
    attacks: list[dict[str, Any]],
) -> list[InvariantResult]:
    """`stores`: every node's store (its `honest` nodes are those checked; rogue members' own records are
    not); `submitted`: node -> URLs its case system reported; `origin_items`: (node, item id) of every report
    the case systems got an answer for; `inactive`: suspended or revoked members at the end; `rogues`: rogue
    node ids; `attacks`: the rogue's attack records."""
    return [
        _exactly_once(stores),
        _nothing_lost(stores, origin_items, inactive, rogues),
        _rogue_rejected(stores, rogues, attacks),
        _no_unsent_items(stores, submitted, rogues),
        _views_match(stores, inactive, rogues),
    ]


_DUPLICATES = (
    "SELECT origin_node, origin_item_id, COUNT(*) FROM items WHERE origin_node != '' "
    "GROUP BY origin_node, origin_item_id HAVING COUNT(*) > 1 ORDER BY MIN(rowid)"
)
# OutboxStatus.ACKED is stored as 'acked'.
_ACKED_REFERRALS = (
    "SELECT message_id, peer, origin_node, origin_item_id FROM referrals "
    "WHERE sender = ? AND status = 'acked' ORDER BY outbox_id"
)
_ACCEPTED = "SELECT COUNT(*) FROM inbox WHERE sender = ? AND message_id = ? AND status = 'accepted'"
_REFERRED_ITEMS = "SELECT COUNT(*) FROM items WHERE origin_node != '' AND origin_node = ? AND origin_item_id = ?"


def _exactly_once(stores: EndStores) -> InvariantResult:
    result = InvariantResult("exactly_once")
    for node_id in stores.honest:
        for origin, origin_item, count in stores.rows(node_id, _DUPLICATES):
            result.fail(f"{node_id} holds {count} items for referral {origin}/{origin_item}")
        for message_id, peer, origin, origin_item in stores.scratch_rows(_ACKED_REFERRALS, (node_id,)):
            result.checked += 1
            if peer not in stores:
                result.fail(f"{node_id} sent referral {message_id} to unknown {peer}")
                continue
            times = _count(stores, peer, _ACCEPTED, (node_id, message_id))
            items = _count(stores, peer, _REFERRED_ITEMS, (origin, origin_item))
            if times != 1:
                result.fail(f"referral {message_id} {node_id}->{peer}: {times} accepted")
            if items != 1:
                result.fail(f"referral {message_id} {node_id}->{peer}: {items} items at the receiver")
    return result


def _count(stores: EndStores, node_id: str, query: str, parameters: tuple[Any, ...]) -> int:
    row = stores.one(node_id, query, parameters)
    return int(row[0]) if row else 0


# The outbox rows that are not simply acknowledged with a stored receipt: only those need a look.
_UNSETTLED = (
    "SELECT o.kind, o.message_id, o.peer_node, o.status, o.last_error FROM outbox o "
    "WHERE o.status != 'acked' "
    "OR NOT EXISTS (SELECT 1 FROM receipts r WHERE r.message_id = o.message_id) ORDER BY o.outbox_id"
)


def _nothing_lost(
    stores: EndStores, origin_items: Iterable[tuple[str, str]], inactive: set[str], rogues: set[str]
) -> InvariantResult:
    result = InvariantResult("nothing_lost")
    for node_id in stores.honest:
        result.checked += _count(stores, node_id, "SELECT COUNT(*) FROM outbox", ())
        for kind, message_id, peer, status, last_error in stores.rows(node_id, _UNSETTLED):
            where = f"{kind} {message_id} {node_id}->{peer}"
            if status == OutboxStatus.ACKED:
                result.fail(f"{where}: acknowledged without a stored receipt")
            elif status == OutboxStatus.PENDING and (peer in inactive or node_id in inactive):
                result.excuse("held for a suspended or revoked member")
            elif status == OutboxStatus.PENDING and peer in rogues:
                result.excuse("for the rogue member, which runs no receiver")
            elif status == OutboxStatus.PENDING:
                result.fail(f"{where}: still pending after the drain ({last_error or 'no error'})")
            else:
                result.fail(f"{where}: {status}: {last_error}")
    honest = set(stores.honest)
    for node_id, item_id in origin_items:
        result.checked += 1
        if node_id not in honest or stores.one(node_id, "SELECT 1 FROM items WHERE item_id = ?", (item_id,)) is None:
            result.fail(f"report item {item_id} is missing at {node_id}")
    return result


def _rogue_rejected(stores: EndStores, rogues: set[str], attacks: list[dict[str, Any]]) -> InvariantResult:
    result = InvariantResult("rogue_rejected")
    legitimate: set[str] = set()
    for attack in attacks:
        result.checked += 1
        if attack.get("legitimate"):
            legitimate.add(str(attack.get("message_id", "")))
        if attack["status"] not in attack["expected"]:
            result.fail(
                f"{attack['kind']} message to {attack['target']} answered {attack['status']} "
                f"(expected {' or '.join(sorted(attack['expected']))}): {attack.get('detail', '')}"
            )
    if not rogues:
        return result
    query = "SELECT sender, message_id FROM inbox WHERE status = 'accepted' ORDER BY rowid"
    for node_id in stores.honest:
        for sender, message_id in stores.rows(node_id, query):
            if sender in rogues and message_id not in legitimate:
                result.fail(f"{node_id} accepted message {message_id} from rogue {sender}")
    return result


_ITEMS_SENT = "SELECT item_id, url, origin_node, origin_item_id, referred_by FROM items ORDER BY rowid"
_SENT = "SELECT 1 FROM referrals WHERE peer = ? AND origin_node = ? AND origin_item_id = ? AND honest = 1 LIMIT 1"


def _no_unsent_items(stores: EndStores, submitted: Mapping[str, Container[str]], rogues: set[str]) -> InvariantResult:
    result = InvariantResult("no_unsent_items")
    for node_id in stores.honest:
        reported = submitted.get(node_id, ())
        for item_id, url, origin_node, origin_item_id, referred_by in stores.rows(node_id, _ITEMS_SENT):
            result.checked += 1
            if not origin_node:
                if url not in reported:
                    result.fail(f"{node_id} holds item {item_id} that no report to it named")
            elif referred_by in rogues or origin_node in rogues:
                result.excuse("referred by the rogue member (a legitimate message it was entitled to send)")
            elif stores.scratch_one(_SENT, (node_id, origin_node, origin_item_id)) is None:
                result.fail(f"{node_id} holds item {item_id} that no member referred to it")
    return result


_REFERRED_OUT = (
    "SELECT item_id, assigned_node, state, status_sequence FROM items "
    "WHERE origin_node = '' AND referred_to != '' AND state != 'WITHDRAWN' ORDER BY rowid"
)
# The assignee's item for the referral: the last one stored, should there be more (exactly_once names those).
_THEIRS = (
    "SELECT state, status_sequence FROM items WHERE origin_node = ? AND origin_item_id = ? ORDER BY rowid DESC LIMIT 1"
)


def _views_match(stores: EndStores, inactive: set[str], rogues: set[str]) -> InvariantResult:
    result = InvariantResult("views_match")
    honest = set(stores.honest)
    for node_id in stores.honest:
        for item_id, assignee_id, state, sequence in stores.rows(node_id, _REFERRED_OUT):
            if assignee_id in inactive or node_id in inactive:
                result.excuse("originator or assignee suspended or revoked: updates are held")
                continue
            if assignee_id not in honest and assignee_id in rogues:
                result.excuse("assigned to the rogue member, which runs no node")
                continue
            result.checked += 1
            if assignee_id not in honest:
                result.fail(f"{node_id} item {item_id} is assigned to unknown node {assignee_id}")
                continue
            theirs = stores.one(assignee_id, _THEIRS, (node_id, item_id))
            if theirs is None:
                result.fail(f"{node_id} item {item_id}: {assignee_id} has no such referral")
                continue
            their_state, their_sequence = theirs
            mine_closed, theirs_closed = state in _CLOSED, their_state in _CLOSED
            same_state = state == their_state if theirs_closed else not mine_closed
            if not same_state or sequence != their_sequence:
                result.fail(
                    f"{node_id} item {item_id} is {state} #{sequence}; "
                    f"{assignee_id} has it {their_state} #{their_sequence}"
                )
    return result
