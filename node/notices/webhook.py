"""Notices by HTTP POST to a system that takes them (a police or ticketing system): a JSON body signed with
HMAC-SHA256 over the timestamp and the exact body, and the notice id as Idempotency-Key.

The receiver checks `X-Hotline-Signature: sha256=<hex>` = HMAC(secret, "<X-Hotline-Timestamp>." + body), and
refuses a timestamp far from its clock. Redirects are not followed; any status but 2xx is a failed attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from node.notices.compose import Notice
from node.notices.ports import DeliveryFailed
from node.notices.settings import WebhookSettings

__all__ = ["WebhookChannel", "signature"]


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then ends as an HTTPError: a failed attempt


_OPENER = urllib.request.build_opener(_NoRedirect)


class WebhookChannel:
    def __init__(self, settings: WebhookSettings) -> None:
        self._settings = settings

    async def send(self, notice: Notice, now: datetime) -> None:
        body = json.dumps(
            {
                "notice_id": notice.notice_id,
                "item_id": notice.item_id,
                "kind": str(notice.kind),
                "recipient": notice.recipient,
                "subject": notice.subject,
                "text": notice.text,
                "xarf": json.loads(notice.xarf) if notice.xarf else None,
                "created_at": notice.created_at.isoformat(),
            },
            sort_keys=True,
        ).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": notice.notice_id,
            "X-Hotline-Timestamp": timestamp,
            "X-Hotline-Signature": signature(self._settings.secret, timestamp, body),
        }
        await asyncio.to_thread(self._post, body, headers)

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        # The config takes only https://, or http:// to a loopback address (node.config).
        request = urllib.request.Request(self._settings.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with _OPENER.open(request, timeout=self._settings.timeout.total_seconds()) as response:
                status = int(response.status)
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(f"HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise DeliveryFailed(f"webhook: {error.reason}") from None
        except (OSError, TimeoutError) as error:
            raise DeliveryFailed(f"webhook: {error}") from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"HTTP {status}")
