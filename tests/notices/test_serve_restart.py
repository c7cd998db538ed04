"""`hotline-node serve` sends notices through a real SMTP server, or by webhook to a real HTTP receiver, is
killed (SIGKILL) while a notice is being retried, and after a restart delivers it: every notice arrives exactly
once, by message id, and nothing sent before the kill is sent again."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.app import build_node
from node.cases.model import Role
from node.config import load_config
from node.store import schema as t
from tests.exchange.test_two_nodes import _free_port
from tests.notices.receivers import HttpReceiver, SmtpReceiver
from tests.serving import serving


def _until(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


async def _notified(api: int, token: str, url: str, *, ntd: bool) -> None:
    async with NodeClient(f"127.0.0.1:{api}", token) as client:
        reply = await client.intake.SubmitReport(intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url=url)]))
        item_id = reply.report.items[0].item_id
        assessment = pb.Assessment(classification=pb.CLASSIFICATION_BASELINE)
        await client.cases.AssessItem(case_pb.AssessItemRequest(item_id=item_id, assessment=assessment))
        for kind in [pb.ACTION_TYPE_LEA_NOTIFIED] + ([pb.ACTION_TYPE_HP_NOTIFIED] if ntd else []):
            await client.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=kind))


class _Channel:
    """One receiver behind one channel: whether it refuses, and the notice ids it took (with repeats)."""

    def __init__(self, kind: str, stack: ExitStack) -> None:
        self.kind = kind
        if kind == "smtp":
            self._smtp = stack.enter_context(SmtpReceiver())
            self.section = f'[notices.smtp]\nhost = "127.0.0.1"\nport = {self._smtp.port}\nstarttls = false\n'
        else:
            self._http = stack.enter_context(HttpReceiver())
            self.section = (
                f'channel = "webhook"\n[notices.webhook]\nurl = "{self._http.url}"\nsecret_env = "HX_TEST_SECRET"\n'
            )

    def refuse(self, refusing: bool) -> None:
        if self.kind == "smtp":
            self._smtp.refuse = refusing
        else:
            self._http.status = 503 if refusing else 200

    def taken(self) -> list[str]:
        if self.kind == "smtp":
            return [message_id.strip("<>").split("@")[0] for message_id in self._smtp.message_ids()]
        return list(self._http.delivered)


ENV = {"HX_TEST_SECRET": "a-webhook-secret-of-32-bytes-xx!"}


@pytest.mark.parametrize("kind", ["smtp", "webhook"])
def test_a_notice_retried_when_the_node_is_killed_is_delivered_once_after_restart(tmp_path: Path, kind: str) -> None:
    api, database = _free_port(), tmp_path / "node.db"
    with ExitStack() as stack:
        channel = _Channel(kind, stack)
        config = tmp_path / "node.toml"
        config.write_text(
            f"""
[node]
id = "nl-hotline"
jurisdiction = "NL"
listen = "127.0.0.1:{api}"
database_url = "sqlite+pysqlite:///{database}"

[hosting]
resolver = "static"
[[hosting.static]]
host = "nl.host.example"
country = "NL"
asn = 64500
ip = "192.0.2.10"

[notices]
organisation = "Example Hotline NL"
from_email = "notices@hotline-nl.example"
lea_email = "cybercrime@police-nl.example"
default_abuse_email = "abuse@hosting-nl.example"
poll_seconds = 0.2
retry_initial_seconds = 0.2
retry_max_seconds = 0.5
{channel.section}"""
        )
        setup = build_node(load_config(config, env=ENV))
        _, token = setup.access.create_token("test", "case-system", [Role.INTAKE, Role.ANALYST])
        setup.executor.shutdown(wait=True)
        setup.engine.dispose()
        engine = create_engine(f"sqlite+pysqlite:///{database}")

        def notices() -> list[tuple[str, str, int]]:
            with engine.connect() as connection:
                query = select(t.notices.c.notice_id, t.notices.c.status, t.notices.c.attempts)
                return [tuple(row) for row in connection.execute(query)]

        with serving(config, tmp_path / "first.log", ENV) as process:
            _until(lambda: _listening(api), "the node to serve")
            asyncio.run(_notified(api, token, "https://nl.host.example/a.jpg", ntd=True))
            _until(lambda: len(channel.taken()) == 2, "the first item's LEA notice and NTD")
            channel.refuse(True)
            asyncio.run(_notified(api, token, "https://nl.host.example/b.jpg", ntd=False))
            _until(lambda: any(status == "pending" and attempts >= 2 for _, status, attempts in notices()), "retries")
            process.kill()  # SIGKILL, in the middle of the retries
            process.wait(10)
        channel.refuse(False)
        with serving(config, tmp_path / "second.log", ENV):
            _until(lambda: len(channel.taken()) == 3, "the retried notice")
            time.sleep(1.0)  # five more polls: nothing else may arrive
        rows = notices()
        taken = channel.taken()
        engine.dispose()
    assert sorted(taken) == sorted(notice_id for notice_id, _, _ in rows)  # each notice exactly once, by its id
    assert all(status == "sent" for _, status, _ in rows)
    for log in ("first.log", "second.log"):  # notices are logged by ids, never with their URL
        text = (tmp_path / log).read_text()
        assert "notice.sent" in text or log == "first.log"
        assert "nl.host.example" not in text
