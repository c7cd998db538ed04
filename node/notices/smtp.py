"""Notices by email (aiosmtplib): STARTTLS and authentication as configured, the notice id as Message-ID,
and an NTD's X-ARF v4 report as a JSON attachment."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from node.notices.compose import Notice
from node.notices.ports import DeliveryFailed
from node.notices.settings import NoticeSettings, SmtpSettings

__all__ = ["SmtpChannel", "email_of"]


def email_of(notice: Notice, settings: NoticeSettings, now: datetime) -> EmailMessage:
    domain = settings.from_email.rpartition("@")[2]
    message = EmailMessage()
    message["From"] = f"{settings.organisation} <{settings.from_email}>"
    message["To"] = notice.recipient
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{notice.notice_id}@{domain}>"
    message["X-Hotline-Notice-Id"] = notice.notice_id
    message["X-Hotline-Item-Id"] = notice.item_id
    message.set_content(notice.text)
    if notice.xarf:
        message.add_attachment(notice.xarf.encode(), maintype="application", subtype="json", filename="xarf.json")
    return message


class SmtpChannel:
    def __init__(self, smtp: SmtpSettings, settings: NoticeSettings) -> None:
        self._smtp = smtp
        self._settings = settings

    async def send(self, notice: Notice, now: datetime) -> None:
        smtp = self._smtp
        try:
            await aiosmtplib.send(
                email_of(notice, self._settings, now),
                hostname=smtp.host,
                port=smtp.port,
                start_tls=smtp.starttls,
                username=smtp.username or None,
                password=smtp.password or None,
                timeout=smtp.timeout.total_seconds(),
            )
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryFailed(f"SMTP {error.code}: {error.message}") from None
        except aiosmtplib.SMTPException as error:
            raise DeliveryFailed(f"SMTP: {error}") from None
        except (OSError, TimeoutError) as error:
            raise DeliveryFailed(f"SMTP {smtp.host}:{smtp.port}: {error.strerror or error}") from None
