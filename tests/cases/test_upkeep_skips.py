"""The periodic upkeep skips its store work while nothing can be due, and still does it on time: the deadline
check until the next removal deadline, the retention purge until a cutoff can reach something."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from node.app import Node
from node.cases.exchange_messages import StatusUpdate
from node.cases.model import ActionType, Assessment, Classification, ItemState
from node.cases.next_due import NextDue
from node.cases.requests import NewAction, NewReport, NewUrl
from node.clock import ManualClock
from tests.conftest import ANALYST, HASHER, START

DEADLINE = timedelta(hours=72)
RETENTION = timedelta(days=30)
NATIONAL = Assessment(Classification.NATIONAL)


def submit(node: Node, url: str) -> str:
    return node.cases.submit_report(HASHER, NewReport((NewUrl(url),))).items[0].item_id


def act(node: Node, item_id: str, action: ActionType) -> None:
    node.cases.record_action(ANALYST, item_id, NewAction(action))


def ntd(node: Node, url: str) -> str:
    item_id = submit(node, url)
    node.cases.assess(ANALYST, item_id, NATIONAL)
    act(node, item_id, ActionType.LEA_NOTIFIED)
    act(node, item_id, ActionType.HP_NOTIFIED)
    return item_id


@contextmanager
def transactions(node: Node) -> Iterator[list[bool]]:
    """The store transactions run meanwhile (read only?)."""
    seen: list[bool] = []
    node.store.observe = lambda read_only, _seconds, _committed: seen.append(read_only)
    try:
        yield seen
    finally:
        node.store.observe = None


# ---------------------------------------------------------------------------------------------- deadlines


def test_the_deadline_check_runs_no_transaction_before_the_next_deadline(node: Node, clock: ManualClock) -> None:
    item_id = ntd(node, "https://nl.host.example/a")
    assert node.cases.escalate_overdue() == []  # looks, and learns the deadline
    with transactions(node) as seen:
        for _ in range(71):
            clock.advance(timedelta(hours=1))
            assert node.cases.escalate_overdue() == []
    assert seen == []
    clock.advance(timedelta(hours=1))
    assert node.cases.escalate_overdue() == [item_id]


def test_a_deadline_written_after_the_check_learned_of_none_is_escalated_on_time(
    node: Node, clock: ManualClock
) -> None:
    assert node.cases.escalate_overdue() == []  # nothing waits: nothing due for a removal deadline at least
    clock.advance(timedelta(hours=5))
    item_id = ntd(node, "https://nl.host.example/later")
    clock.advance(DEADLINE - timedelta(seconds=1))
    assert node.cases.escalate_overdue() == []
    clock.advance(timedelta(seconds=1))
    assert node.cases.escalate_overdue() == [item_id]


def test_a_deadline_another_process_writes_is_escalated_on_time(
    make_node: Callable[..., Node], database_url: str, clock: ManualClock
) -> None:
    """Another node sharing the database tells this one nothing: the check looks again within a removal
    deadline of its last look, before any deadline written since can fall due."""
    here, there = make_node(database_url), make_node(database_url)
    assert here.cases.escalate_overdue() == []
    clock.advance(timedelta(seconds=1))
    item_id = ntd(there, "https://nl.host.example/there")
    clock.advance(DEADLINE)
    assert here.cases.escalate_overdue() == [item_id]


def test_a_restarted_node_learns_the_next_deadline_again(
    make_node: Callable[..., Node], database_url: str, clock: ManualClock
) -> None:
    before = make_node(database_url)
    item_id = ntd(before, "https://nl.host.example/restart")
    assert before.cases.escalate_overdue() == []
    after = make_node(database_url)  # the same database, a new process
    with transactions(after) as seen:
        assert after.cases.escalate_overdue() == []
    assert seen == [False]  # it looked
    clock.advance(DEADLINE)
    assert after.cases.escalate_overdue() == [item_id]


def test_a_deadline_committed_while_a_look_ran_is_not_lost() -> None:
    """A commit the look's snapshot missed tells its deadline after the look began: it counts."""
    due = NextDue()
    assert due.due(START)  # not known: look
    due.looking()
    due.told(START + timedelta(hours=1))  # committed after the look's snapshot
    due.learned(START + DEADLINE)  # what the snapshot held
    assert not due.due(START + timedelta(minutes=59))
    assert due.due(START + timedelta(hours=1))
    due.told(START + timedelta(minutes=30))  # between looks
    assert due.due(START + timedelta(minutes=30))


# ---------------------------------------------------------------------------------------------- retention


def test_the_purge_only_reads_the_new_events_until_a_cutoff_can_reach_a_closed_item(
    node: Node, clock: ManualClock
) -> None:
    item_id = ntd(node, "https://nl.host.example/closed")
    act(node, item_id, ActionType.CONTENT_REMOVED)
    clock.advance(timedelta(days=1))
    assert node.cases.purge_closed(RETENTION) == 0  # searches, finds nothing, learns
    with transactions(node) as seen:
        for _ in range(28):
            clock.advance(timedelta(days=1))
            assert node.cases.purge_closed(RETENTION) == 0
    assert seen == [True] * 28  # one read of the events since, each
    clock.advance(timedelta(days=1, seconds=1))
    assert node.cases.purge_closed(RETENTION) == 1


def test_an_item_closed_after_the_purge_learned_at_an_earlier_time_is_purged_on_time(
    node: Node, clock: ManualClock
) -> None:
    """A status update closes an item at the time the assignee acted, which may be before the purge's last
    look: the purge learns it from the close's event."""
    item_id = submit(node, "https://de.host.example/referred")
    node.cases.assess(ANALYST, item_id, NATIONAL)  # referred to de-hotline
    acted = clock.now()
    clock.advance(timedelta(days=10))
    assert node.cases.purge_closed(RETENTION) == 0  # nothing closed: learns "not before 10 days from now"
    update = StatusUpdate(item_id, 1, "de-hotline", acted, ItemState.CLOSED_REMOVED, ActionType.CONTENT_REMOVED)
    with node.store.transaction() as tx:  # delivered late: the item closes at the time de-hotline acted
        node.cases.apply_status_update_txn(tx, "de-hotline", update)
    assert node.cases.get_item(item_id).closed_at == acted
    clock.advance(RETENTION - timedelta(days=10))
    assert node.cases.purge_closed(RETENTION) == 0
    clock.advance(timedelta(seconds=1))
    assert node.cases.purge_closed(RETENTION) == 1
