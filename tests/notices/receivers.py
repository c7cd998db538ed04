"""Real receivers on loopback for the notice tests: an SMTP server (aiosmtpd) and an HTTP server, each of
which can be told to take, refuse or hang."""

from __future__ import annotations

import email
import email.policy
import http.server
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.exchange.test_two_nodes import _free_port

__all__ = ["HttpReceiver", "SmtpReceiver"]


class SmtpReceiver:
    """An SMTP server on 127.0.0.1. `refuse` makes it answer 451 (try later) to every message."""

    def __init__(self) -> None:
        self.refuse = False
        self.messages: list[EmailMessage] = []
        self.port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 mailbox busy, try later"
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@dataclass
class HttpReceiver:
    """An HTTP server on 127.0.0.1 that records each POST; answers `status`, or hangs `hang` seconds first."""

    status: int = 200
    hang: float = 0.0
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)  # the Idempotency-Key of each POST answered 2xx

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.hang:
                    time.sleep(receiver.hang)
                    return
                receiver.posts.append(({k: v for k, v in self.headers.items()}, body))
                if receiver.status < 300:
                    receiver.delivered.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/notices"

    def __enter__(self) -> HttpReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
