"""The [notices] settings: who the node writes to, how, and how hard it keeps trying."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

__all__ = ["Channel", "NoticeKind", "NoticeSettings", "SmtpSettings", "WebhookSettings"]


class NoticeKind(StrEnum):
    LEA = "LEA"  # to the police, when LEA_NOTIFIED is recorded
    NTD = "NTD"  # to the hosting provider's abuse desk, when HP_NOTIFIED is recorded


class Channel(StrEnum):
    SMTP = "smtp"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True  # refuse to send in clear: STARTTLS is required unless turned off for a local relay
    username: str = ""
    password: str = field(default="", repr=False)  # read from the variable `password_env` names
    timeout: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: bytes = field(default=b"", repr=False)  # read from the variable `secret_env` names
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class NoticeSettings:
    organisation: str  # the hotline, as the notices' sender
    from_email: str
    channel: Channel = Channel.SMTP
    lea_email: str = ""  # where LEA notices go; empty: none are sent
    ntd: bool = True  # whether NTDs are sent to hosting providers
    # The hosting provider's abuse address by "AS<number>" or by organisation name (as the hosting trace
    # names it), then the default; an NTD with no address is not sent, and the item's timeline says so.
    abuse_contacts: tuple[tuple[str, str], ...] = ()
    default_abuse_email: str = ""
    xarf: bool = True  # attach an X-ARF v4 report (category content, type csam) to each NTD
    lea_template: str = ""  # string.Template text; empty: the built-in one
    ntd_template: str = ""
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    poll: timedelta = timedelta(seconds=5)
    retry_initial: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(hours=1)
    alert_after_attempts: int = 5  # a notice.failing event after this many failed attempts
    give_up_after: timedelta = timedelta(days=7)  # then notice.failed, and `notices retry` to try again

    def abuse_email(self, asn: int | None, organisation: str) -> str:
        contacts = dict(self.abuse_contacts)
        for key in (f"AS{asn}" if asn is not None else "", organisation):
            if key and key in contacts:
                return contacts[key]
        return self.default_abuse_email

    def channel_timeout(self) -> timedelta:
        """How long one attempt may take on the configured channel."""
        if self.channel is Channel.SMTP and self.smtp is not None:
            return self.smtp.timeout
        if self.channel is Channel.WEBHOOK and self.webhook is not None:
            return self.webhook.timeout
        return timedelta(seconds=30)
