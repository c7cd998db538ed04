"""Batched referrals ([exchange] referral_batch_seconds, referral_batch_times): a referral waits in the outbox
for its batch time and then leaves; everything else goes at once; bad settings are refused naming them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.cases.exchange_messages import StatusUpdate, dump_body
from node.cases.model import ItemState, OutboxMessage
from node.clock import ManualClock
from node.config import parse_config
from node.errors import InvalidArgument
from node.exchange.cadence import ReferralCadence
from node.exchange.sender import PeerSender, SendSettings
from tests.exchange.federation import Federation
from tests.exchange.test_exchange import refer
from tests.exchange.test_exchange_settings import _raw

NL, DE = "nl-hotline", "de-hotline"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_referral_leaves_with_the_first_batch_at_or_after_it_was_queued() -> None:
    immediate = ReferralCadence()
    assert immediate.immediate and immediate.release_at(_at("2026-03-02T10:17:00+00:00")) == _at(
        "2026-03-02T10:17:00+00:00"
    )
    six_hourly = ReferralCadence(every=timedelta(hours=6))
    assert six_hourly.release_at(_at("2026-03-02T10:17:00+00:00")) == _at("2026-03-02T12:00:00+00:00")
    assert six_hourly.release_at(_at("2026-03-02T12:00:00+00:00")) == _at("2026-03-02T12:00:00+00:00")
    assert six_hourly.release_at(_at("2026-03-02T23:59:00+00:00")) == _at("2026-03-03T00:00:00+00:00")
    twice_a_day = ReferralCadence(times=(time(17, 0), time(9, 0)), zone="Europe/Berlin")
    # 09:00 and 17:00 in Berlin: 08:00 and 16:00 UTC in winter, 07:00 and 15:00 in summer.
    assert twice_a_day.release_at(_at("2026-03-02T10:00:00+00:00")) == _at("2026-03-02T16:00:00+00:00")
    assert twice_a_day.release_at(_at("2026-03-02T16:30:00+00:00")) == _at("2026-03-03T08:00:00+00:00")
    assert twice_a_day.release_at(_at("2026-03-28T17:00:00+00:00")) == _at("2026-03-29T07:00:00+00:00")


def test_referrals_leave_at_once_unless_a_batch_cadence_is_set() -> None:
    exchange = parse_config(_raw({}), {}).exchange
    assert exchange is not None and exchange.referral_cadence.immediate
    exchange = parse_config(_raw({"referral_batch_seconds": 86_400}), {}).exchange
    assert exchange is not None and exchange.referral_cadence == ReferralCadence(every=timedelta(days=1))
    raw = _raw({"referral_batch_times": ["18:00", "06:30"], "referral_batch_zone": "Europe/Berlin"})
    exchange = parse_config(raw, {}).exchange
    assert exchange is not None
    assert exchange.referral_cadence == ReferralCadence(times=(time(18), time(6, 30)), zone="Europe/Berlin")


@pytest.mark.parametrize(
    ("settings", "key", "message"),
    [
        ({"referral_batch_seconds": 30}, "referral_batch_seconds", "from 60 to 604800"),
        ({"referral_batch_seconds": -3600}, "referral_batch_seconds", "from 60 to 604800"),
        ({"referral_batch_seconds": "daily"}, "referral_batch_seconds", "from 60 to 604800"),
        ({"referral_batch_times": "18:00"}, "referral_batch_times", "a list of times of day"),
        ({"referral_batch_times": ["24:00"]}, "referral_batch_times", "a list of times of day"),
        ({"referral_batch_times": ["6pm"]}, "referral_batch_times", "a list of times of day"),
        ({"referral_batch_times": ["06:00", "06:00"]}, "referral_batch_times", "more than once"),
        (
            {"referral_batch_times": ["06:00"], "referral_batch_seconds": 3600},
            "referral_batch_times",
            "not both",
        ),
        ({"referral_batch_zone": "Atlantis/Capital"}, "referral_batch_zone", "unknown time zone"),
    ],
)
def test_a_bad_batch_setting_is_refused_naming_it(settings: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        parse_config(_raw(settings), {})
    assert caught.value.field == f"exchange.{key}"


@pytest.fixture
def fed(tmp_path: Path, clock: ManualClock) -> Iterator[Federation]:
    federation = Federation(tmp_path, clock)
    yield federation
    federation.close()


def _batching_sender(fed: Federation, cadence: ReferralCadence) -> PeerSender:
    return fed.sender(NL, DE, SendSettings(referral_cadence=cadence))


def _pending_kinds(fed: Federation) -> list[str]:
    """The kinds of NL's messages for DE still pending."""
    with fed.members[NL].node.store.transaction(read_only=True) as tx:
        return [m.kind for _, m in tx.pending_outbox_after(DE, 0, 100)]


def test_a_referral_waits_for_its_batch_time_while_other_messages_go_at_once(
    fed: Federation, clock: ManualClock
) -> None:
    assert clock.now() == _at("2026-03-02T09:00:00+00:00")
    sender = _batching_sender(fed, ReferralCadence(times=(time(18, 0),)))
    refer(fed, "https://de.host.example/batched")
    # Another kind of message to the same peer (a status update about an item DE does not know: refused,
    # but answered at once): nothing holds it.
    update = StatusUpdate("01a2cccc-0000-7000-8000-000000000000", 1, NL, clock.now(), ItemState.CLOSED_REMOVED)
    with fed.members[NL].node.store.transaction() as tx:
        tx.enqueue_outbox(
            OutboxMessage(
                "01a2dddd-0000-7000-8000-000000000000", DE, update.kind, "", dump_body(update.to_json()), clock.now()
            )
        )
    assert asyncio.run(sender.send_once()) == 1  # the status update, answered
    assert _pending_kinds(fed) == ["referral"]
    # The loop would wait for the batch (capped by its poll interval), not poll in vain.
    assert sender._idle_wait(10 * 3600) == pytest.approx(9 * 3600)
    clock.advance(timedelta(hours=8, minutes=59))
    assert asyncio.run(sender.send_once()) == 0  # 17:59: still held
    clock.advance(timedelta(minutes=1))
    assert asyncio.run(sender.send_once()) == 1  # 18:00: the batch leaves
    assert _pending_kinds(fed) == []
    assert clock.now().astimezone(UTC).hour == 18
