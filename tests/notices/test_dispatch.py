"""The node sends the LEA notice and the NTD itself, through a real SMTP server and a real HTTP receiver on
loopback: queued with the action, delivered once, retried with backoff while refused or unreachable, each
attempt on the item's timeline; a notice that cannot be addressed is not queued and the timeline says why."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.app import Node, build_node
from node.clock import ManualClock
from node.config import parse_config
from node.hosting import StaticResolver
from node.notices.ports import NoticeStatus
from node.store import schema as t
from tests.api._support import action, assess, submit, timeline_kinds
from tests.conftest import HOSTING, Served, serving
from tests.notices.receivers import HttpReceiver, SmtpReceiver

T = TypeVar("T")
URL = "https://nl.host.example/gallery/4711.jpg"
SECRET = "a-webhook-secret-of-32-bytes-xx!"


def notices_node(
    database_url: str, clock: ManualClock, notices: dict[str, Any], env: dict[str, str] | None = None
) -> Node:
    raw = {
        "node": {"id": "nl-hotline", "jurisdiction": "NL", "database_url": database_url, "listen": "127.0.0.1:0"},
        "notices": {
            "organisation": "Example Hotline NL",
            "from_email": "notices@hotline-nl.example",
            "lea_email": "cybercrime@police-nl.example",
            "poll_seconds": 3600,  # the tests work the queue themselves
            "abuse_contacts": {"AS64500": "abuse@hosting-nl.example"},
            **notices,
        },
    }
    return build_node(parse_config(raw, env or {}), clock=clock, resolver=StaticResolver(HOSTING))


async def dispatch(served: Served) -> int:
    assert served.node.notices is not None

    async def blocking(fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(fn)

    return await served.node.notices.run_once(blocking)


async def notified_item(served: Served, *, ntd: bool = True) -> str:
    """An item hosted here, classified BASELINE, with LEA_NOTIFIED (and HP_NOTIFIED) recorded."""
    item_id = (await submit(served, URL)).item_id
    await assess(served, item_id, pb.CLASSIFICATION_BASELINE)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    if ntd:
        await action(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)
    return item_id


def rows(served: Served) -> list[Any]:
    with served.node.engine.connect() as connection:
        return list(connection.execute(select(t.notices).order_by(t.notices.c.kind)))


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
async def by_mail(database_url: str, clock: ManualClock, smtp: SmtpReceiver) -> AsyncIterator[Served]:
    smtp_settings = {"host": "127.0.0.1", "port": smtp.port, "starttls": False, "timeout_seconds": 5}
    async with serving(notices_node(database_url, clock, {"smtp": smtp_settings}), clock) as served:
        yield served


async def test_lea_notice_and_ntd_go_by_mail_once_with_their_ids_and_xarf(by_mail: Served, smtp: SmtpReceiver) -> None:
    item_id = await notified_item(by_mail)
    queued = rows(by_mail)
    assert [(r.kind, r.recipient, r.status) for r in queued] == [
        ("LEA", "cybercrime@police-nl.example", "pending"),
        ("NTD", "abuse@hosting-nl.example", "pending"),
    ]
    assert await dispatch(by_mail) == 2
    assert await dispatch(by_mail) == 0  # nothing sent twice
    lea, ntd = sorted(smtp.messages, key=lambda m: str(m["Subject"]))
    assert {str(m["Message-ID"]) for m in smtp.messages} == {f"<{r.notice_id}@hotline-nl.example>" for r in queued}
    assert str(lea["To"]) == "cybercrime@police-nl.example" and str(ntd["To"]) == "abuse@hosting-nl.example"
    assert str(ntd["X-Hotline-Item-Id"]) == item_id
    assert URL in lea.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    attachments = list(ntd.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["xarf.json"]
    xarf = json.loads(attachments[0].get_content())
    assert (xarf["xarf_version"], xarf["category"], xarf["type"], xarf["classification"]) == (
        "4.0.0",
        "content",
        "csam",
        "baseline",
    )
    assert xarf["url"] == URL and xarf["source_identifier"] == "192.0.2.10"
    for field in ("report_id", "timestamp", "reporter", "sender", "detection_method"):
        assert xarf[field]
    # Delivered: the text (with its URL) is gone from the database; ids, recipient and times stay.
    sent = rows(by_mail)
    assert [(r.status, r.attempts, r.text, r.xarf) for r in sent] == [("sent", 1, "", "")] * 2
    kinds = await timeline_kinds(by_mail, item_id)
    assert kinds.count("notice.queued") == 2 and kinds.count("notice.sent") == 2


async def test_a_refusing_mail_server_is_retried_with_growing_backoff_then_the_notice_goes_once(
    by_mail: Served, smtp: SmtpReceiver, clock: ManualClock
) -> None:
    smtp.refuse = True
    item_id = await notified_item(by_mail, ntd=False)
    assert await dispatch(by_mail) == 0
    (row,) = rows(by_mail)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SMTP 451: 4.3.0 mailbox busy, try later")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert await dispatch(by_mail) == 0 and rows(by_mail)[0].attempts == 1  # not due yet
    clock.advance(timedelta(seconds=30))
    await dispatch(by_mail)
    assert rows(by_mail)[0].next_attempt_at == clock.now() + timedelta(seconds=60)  # doubled
    smtp.refuse = False
    clock.advance(timedelta(seconds=60))
    assert await dispatch(by_mail) == 1
    assert len(smtp.messages) == 1 and rows(by_mail)[0].status == "sent"
    kinds = await timeline_kinds(by_mail, item_id)
    assert kinds.count("notice.attempt_failed") == 2 and kinds.count("notice.sent") == 1


async def test_a_notice_refused_past_the_give_up_period_fails_with_an_event_and_retry_queues_it_again(
    database_url: str, clock: ManualClock, smtp: SmtpReceiver
) -> None:
    settings = {
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "starttls": False},
        "give_up_after_hours": 1,
        "alert_after_attempts": 2,
    }
    async with serving(notices_node(database_url, clock, settings), clock) as served:
        smtp.refuse = True
        item_id = await notified_item(served, ntd=False)
        for _ in range(3):
            await dispatch(served)
            clock.advance(timedelta(minutes=30))
        (row,) = rows(served)
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
        kinds = await timeline_kinds(served, item_id)
        assert kinds.count("notice.failing") == 1 and kinds.count("notice.failed") == 1
        with served.node.store.transaction() as tx:
            assert [n.notice_id for n in tx.list_notices(NoticeStatus.FAILED, 10)] == [row.notice_id]
            assert tx.retry_notice(row.notice_id, clock.now())
            assert not tx.retry_notice(row.notice_id, clock.now())  # pending now, not failed
        smtp.refuse = False
        assert await dispatch(served) == 1 and len(smtp.messages) == 1


async def test_starttls_required_against_a_server_without_it_is_a_failed_attempt_not_a_clear_text_send(
    sqlite_url: str, clock: ManualClock, smtp: SmtpReceiver
) -> None:
    settings = {"smtp": {"host": "127.0.0.1", "port": smtp.port, "timeout_seconds": 5}}  # starttls by default
    async with serving(notices_node(sqlite_url, clock, settings), clock) as served:
        await notified_item(served, ntd=False)
        assert await dispatch(served) == 0
        assert smtp.messages == []
        assert "STARTTLS" in rows(served)[0].last_error


async def test_an_ntd_with_no_known_abuse_address_is_not_queued_and_the_timeline_says_why(
    sqlite_url: str, clock: ManualClock, smtp: SmtpReceiver
) -> None:
    settings = {"smtp": {"host": "127.0.0.1", "port": smtp.port, "starttls": False}, "abuse_contacts": {}}
    async with serving(notices_node(sqlite_url, clock, settings), clock) as served:
        item_id = await notified_item(served)
        assert [r.kind for r in rows(served)] == ["LEA"]
        assert "notice.not_sent" in await timeline_kinds(served, item_id)


async def test_a_webhook_gets_a_signed_body_with_the_notice_id_as_idempotency_key(
    sqlite_url: str, clock: ManualClock
) -> None:
    with HttpReceiver() as receiver:
        settings = {"channel": "webhook", "webhook": {"url": receiver.url, "secret_env": "HX_TEST_SECRET"}}
        node = notices_node(sqlite_url, clock, settings, {"HX_TEST_SECRET": SECRET})
        async with serving(node, clock) as served:
            await notified_item(served)
            assert await dispatch(served) == 2
    assert len(receiver.posts) == 2
    for headers, body in receiver.posts:
        expected = hmac.new(SECRET.encode(), headers["X-Hotline-Timestamp"].encode() + b"." + body, hashlib.sha256)
        assert headers["X-Hotline-Signature"] == "sha256=" + expected.hexdigest()
        notice = json.loads(body)
        assert headers["Idempotency-Key"] == notice["notice_id"]
        assert notice["kind"] in ("LEA", "NTD") and URL in notice["text"]
    assert {json.loads(b)["kind"] for _, b in receiver.posts} == {"LEA", "NTD"}


@pytest.mark.parametrize(("status", "hang", "error"), [(503, 0.0, "HTTP 503"), (200, 3.0, "timed out")])
async def test_a_refusing_or_hanging_webhook_is_a_failed_attempt_retried_later(
    sqlite_url: str, clock: ManualClock, status: int, hang: float, error: str
) -> None:
    with HttpReceiver(status=status, hang=hang) as receiver:
        settings = {
            "channel": "webhook",
            "webhook": {"url": receiver.url, "secret_env": "HX_TEST_SECRET", "timeout_seconds": 1},
        }
        async with serving(notices_node(sqlite_url, clock, settings, {"HX_TEST_SECRET": SECRET}), clock) as served:
            await notified_item(served, ntd=False)
            assert await dispatch(served) == 0
            (row,) = rows(served)
            assert row.status == "pending" and row.attempts == 1 and error in row.last_error
            receiver.status, receiver.hang = 200, 0.0
            clock.advance(timedelta(seconds=30))
            assert await dispatch(served) == 1
