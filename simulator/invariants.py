"""The invariant checker: after every run, what the nodes recorded must show that the federation kept its
promises. A violated invariant fails the run with a report naming the items and messages involved.

- exactly_once: every referral sent was delivered exactly once (one accepted inbox entry, one item).
- nothing_lost: every message was delivered and receipted, or is held for a member that may not receive;
  every report the case systems submitted has its item at the origin.
- rogue_rejected: every forged, impersonating, misaddressed, malformed, expired or replayed message from
  the rogue member was rejected (a replay answered DUPLICATE), and none of them changed anything.
- no_unsent_items: no node holds an item it was not sent (by a report to it, or a referral to it).
- views_match: every originator's view of a referred item matches the final assignee's state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from node.exchange.ports import OutboxStatus
from simulator.records import NodeRecords

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
    records: dict[str, NodeRecords],
    *,
    submitted: Mapping[str, Container[str]],
    origin_items: Iterable[tuple[str, str]],
    inactive: set[str],
    rogues: set[str],
    attacks: list[dict[str, Any]],
) -> list[InvariantResult]:
    """`submitted`: node -> URLs its case system reported; `origin_items`: (node, item id) of every report
    the case systems got an answer for; `inactive`: suspended or revoked members at the end; `rogues`:
    rogue node ids (their own records are not checked); `attacks`: the rogue's attack records."""
    honest = {n: r for n, r in records.items() if n not in rogues}
    return [
        _exactly_once(honest, records),
        _nothing_lost(honest, origin_items, inactive, rogues),
        _rogue_rejected(honest, rogues, attacks),
        _no_unsent_items(honest, submitted, rogues),
        _views_match(honest, inactive, rogues),
    ]


def _exactly_once(honest: dict[str, NodeRecords], records: dict[str, NodeRecords]) -> InvariantResult:
    result = InvariantResult("exactly_once")
    origins = {
        node_id: Counter((i["origin_node"], i["origin_item_id"]) for i in node.items if i["origin_node"])
        for node_id, node in records.items()
    }
    accepted = {
        node_id: Counter((row["sender"], row["message_id"]) for row in node.inbox if row["status"] == "accepted")
        for node_id, node in records.items()
    }
    for node_id, node in honest.items():
        for (origin, origin_item), count in origins[node_id].items():
            if count > 1:
                result.fail(f"{node_id} holds {count} items for referral {origin}/{origin_item}")
        for message in node.outbox:
            if message["kind"] != "referral" or message["status"] != OutboxStatus.ACKED:
                continue
            result.checked += 1
            peer = message["peer_node"]
            if peer not in records:
                result.fail(f"{node_id} sent referral {message['message_id']} to unknown {peer}")
                continue
            times = accepted[peer][(node_id, message["message_id"])]
            referral = node.outbox_referral(message)
            items = origins[peer][(referral.origin_node, referral.origin_item_id)]
            if times != 1:
                result.fail(f"referral {message['message_id']} {node_id}->{peer}: {times} accepted")
            if items != 1:
                result.fail(f"referral {message['message_id']} {node_id}->{peer}: {items} items at the receiver")
    return result


def _nothing_lost(
    honest: dict[str, NodeRecords], origin_items: Iterable[tuple[str, str]], inactive: set[str], rogues: set[str]
) -> InvariantResult:
    result = InvariantResult("nothing_lost")
    for node_id, node in honest.items():
        receipts = {row["message_id"] for row in node.receipts}
        for message in node.outbox:
            result.checked += 1
            where = f"{message['kind']} {message['message_id']} {node_id}->{message['peer_node']}"
            if message["status"] == OutboxStatus.ACKED:
                if message["message_id"] not in receipts:
                    result.fail(f"{where}: acknowledged without a stored receipt")
            elif message["status"] == OutboxStatus.PENDING and (
                message["peer_node"] in inactive or node_id in inactive
            ):
                result.excuse("held for a suspended or revoked member")
            elif message["status"] == OutboxStatus.PENDING and message["peer_node"] in rogues:
                result.excuse("for the rogue member, which runs no receiver")
            elif message["status"] == OutboxStatus.PENDING:
                result.fail(f"{where}: still pending after the drain ({message['last_error'] or 'no error'})")
            else:
                result.fail(f"{where}: {message['status']}: {message['last_error']}")
    items = {(node_id, item["item_id"]) for node_id, node in honest.items() for item in node.items}
    for node_id, item_id in origin_items:
        result.checked += 1
        if (node_id, item_id) not in items:
            result.fail(f"report item {item_id} is missing at {node_id}")
    return result


def _rogue_rejected(honest: dict[str, NodeRecords], rogues: set[str], attacks: list[dict[str, Any]]) -> InvariantResult:
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
    for node_id, node in honest.items():
        for row in node.inbox:
            if row["sender"] in rogues and row["status"] == "accepted" and row["message_id"] not in legitimate:
                result.fail(f"{node_id} accepted message {row['message_id']} from rogue {row['sender']}")
    return result


def _no_unsent_items(
    honest: dict[str, NodeRecords], submitted: Mapping[str, Container[str]], rogues: set[str]
) -> InvariantResult:
    result = InvariantResult("no_unsent_items")
    sent: set[tuple[str, str, str]] = set()  # (receiver, origin node, origin item)
    for node in honest.values():
        for message in node.outbox:
            if message["kind"] == "referral":
                referral = node.outbox_referral(message)
                sent.add((message["peer_node"], referral.origin_node, referral.origin_item_id))
    for node_id, node in honest.items():
        reported = submitted.get(node_id, ())
        for item in node.items:
            result.checked += 1
            if not item["origin_node"]:
                if item["url"] not in reported:
                    result.fail(f"{node_id} holds item {item['item_id']} that no report to it named")
            elif item["referred_by"] in rogues or item["origin_node"] in rogues:
                result.excuse("referred by the rogue member (a legitimate message it was entitled to send)")
            elif (node_id, item["origin_node"], item["origin_item_id"]) not in sent:
                result.fail(f"{node_id} holds item {item['item_id']} that no member referred to it")
    return result


def _views_match(honest: dict[str, NodeRecords], inactive: set[str], rogues: set[str]) -> InvariantResult:
    result = InvariantResult("views_match")
    by_origin = {
        node_id: {(i["origin_node"], i["origin_item_id"]): i for i in node.items if i["origin_node"]}
        for node_id, node in honest.items()
    }
    for node_id, node in honest.items():
        for item in node.items:
            if item["origin_node"] or not item["referred_to"] or item["state"] == "WITHDRAWN":
                continue
            assignee_id = item["assigned_node"]
            if assignee_id in inactive or node_id in inactive:
                result.excuse("originator or assignee suspended or revoked: updates are held")
                continue
            assignee = honest.get(assignee_id)
            if assignee is None and assignee_id in rogues:
                result.excuse("assigned to the rogue member, which runs no node")
                continue
            result.checked += 1
            if assignee is None:
                result.fail(f"{node_id} item {item['item_id']} is assigned to unknown node {assignee_id}")
                continue
            theirs = by_origin[assignee_id].get((node_id, item["item_id"]))
            if theirs is None:
                result.fail(f"{node_id} item {item['item_id']}: {assignee_id} has no such referral")
                continue
            mine_closed, theirs_closed = item["state"] in _CLOSED, theirs["state"] in _CLOSED
            same_state = item["state"] == theirs["state"] if theirs_closed else not mine_closed
            if not same_state or item["status_sequence"] != theirs["status_sequence"]:
                result.fail(
                    f"{node_id} item {item['item_id']} is {item['state']} #{item['status_sequence']}; "
                    f"{assignee_id} has it {theirs['state']} #{theirs['status_sequence']}"
                )
    return result
