"""The sender's look after a batch's answers: when they leave nothing pending for the peer, the loop ends without
reading the outbox again; a message queued after that, told by a wake-up or by the runtime's count of queueing
commits, is still looked for and sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import ManualClock
from node.exchange.sender import PeerSender, SendSettings
from node.store import schema as t
from tests.exchange.federation import Federation
from tests.exchange.test_batches import _nl_sender
from tests.exchange.test_exchange import count, received, refer

DE = "de-hotline"


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def _transactions(fed: Federation) -> list[bool]:
    """Whether each transaction NL's store opens from now on is read-only, in order."""
    opened: list[bool] = []
    fed.members["nl-hotline"].node.store.observe = lambda read_only, _seconds, _committed: opened.append(read_only)
    return opened


async def _inline(fn: Any, *args: Any) -> Any:
    return fn(*args)


async def test_answers_that_leave_nothing_pending_end_the_loop_without_another_look(fed: Federation) -> None:
    sent = refer(fed, "https://de.host.example/one")
    sender = _nl_sender(fed, _inline)
    opened = _transactions(fed)
    await asyncio.wait_for(sender.run(poll_seconds=0.01), 10)  # ends once nothing waits
    assert received(fed, sent)
    # The stored refusal and the look (read), the answers (written): no second look at an outbox left empty.
    assert opened == [True, True, False]


@pytest.mark.parametrize("told_by", ["wake-up", "runtime count"])
async def test_a_message_queued_after_the_answers_is_looked_for_and_sent(fed: Federation, told_by: str) -> None:
    queued: list[str] = []
    sender: PeerSender

    async def run_blocking(fn: Any, *args: Any) -> Any:
        result = fn(*args)
        if getattr(fn, "__name__", "") == "_record" and not queued:
            queued.append(refer(fed, "https://de.host.example/late"))  # committed just after the answers
            if told_by == "wake-up":
                sender.wake.set()  # as the commit's listeners do
            else:
                sender.queued_count += 1  # as ExchangeRuntime.queued does on the committing thread
        return result

    sender = _nl_sender(fed, run_blocking)
    first = refer(fed, "https://de.host.example/first")
    await asyncio.wait_for(sender.run(poll_seconds=0.01), 10)
    assert received(fed, first) and queued and received(fed, queued[0])
    assert count(fed, DE, t.items) == 2


async def test_answers_that_leave_messages_pending_are_followed_by_a_look(fed: Federation) -> None:
    sent = [refer(fed, f"https://de.host.example/{i}") for i in range(2)]
    sender = _nl_sender(fed, _inline, settings=SendSettings(batch_count=1, window=1))  # one batch of one at a time
    await asyncio.wait_for(sender.run(poll_seconds=0.01), 10)
    assert all(received(fed, origin) for origin in sent)
