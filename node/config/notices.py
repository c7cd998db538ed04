"""The [notices] section: who sends LEA notices and NTDs, over SMTP ([notices.smtp]) or a webhook
([notices.webhook]), with which templates and abuse contacts, and how often it retries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from node.config.addresses import _https_url
from node.config.reading import _int, _num, _Paths, _str, _table
from node.errors import InvalidArgument
from node.notices.compose import render_check
from node.notices.settings import Channel, NoticeSettings, SmtpSettings, WebhookSettings

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _notices(raw: Any, env: Mapping[str, str], paths: _Paths) -> NoticeSettings | None:
    """[notices], with [notices.smtp] or [notices.webhook] for the channel, and [notices.abuse_contacts]."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table ([notices])", field="notices")
    channel = _str(raw, "channel", "notices.channel") or "smtp"
    if channel not in ("smtp", "webhook"):
        raise InvalidArgument("must be 'smtp' or 'webhook'", field="notices.channel")
    contacts = _table(raw, "abuse_contacts", "notices.abuse_contacts")
    for key in list(contacts):
        _email(contacts, key, f"notices.abuse_contacts.{key}", required=True)
    xarf, ntd = raw.get("xarf", True), raw.get("ntd", True)
    for key, value in (("xarf", xarf), ("ntd", ntd)):
        if not isinstance(value, bool):
            raise InvalidArgument("must be true or false", field=f"notices.{key}")
    settings = NoticeSettings(
        organisation=_str(raw, "organisation", "notices.organisation", required=True),
        from_email=_email(raw, "from_email", "notices.from_email", required=True),
        channel=Channel(channel),
        lea_email=_email(raw, "lea_email", "notices.lea_email"),
        ntd=ntd,
        abuse_contacts=tuple(sorted((key, str(value)) for key, value in contacts.items())),
        default_abuse_email=_email(raw, "default_abuse_email", "notices.default_abuse_email"),
        xarf=xarf,
        lea_template=_template(raw, "lea_template_file", paths),
        ntd_template=_template(raw, "ntd_template_file", paths),
        smtp=_smtp(raw.get("smtp"), env),
        webhook=_webhook(raw.get("webhook"), env),
        poll=timedelta(seconds=_num(raw, "poll_seconds", 5, 0.05, 3600, section="notices")),
        retry_initial=timedelta(seconds=_num(raw, "retry_initial_seconds", 30, 0.05, 86_400, section="notices")),
        retry_max=timedelta(seconds=_num(raw, "retry_max_seconds", 3600, 0.05, 7 * 86_400, section="notices")),
        alert_after_attempts=_int(raw, "alert_after_attempts", 5, 1, 1000, section="notices"),
        give_up_after=timedelta(hours=_num(raw, "give_up_after_hours", 168, 0.001, 24 * 365, section="notices")),
    )
    if settings.channel is Channel.SMTP and settings.smtp is None:
        raise InvalidArgument("channel 'smtp' needs a [notices.smtp] section with its host", field="notices.smtp")
    if settings.channel is Channel.WEBHOOK and settings.webhook is None:
        raise InvalidArgument("channel 'webhook' needs a [notices.webhook] section", field="notices.webhook")
    return settings


def _email(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = _str(raw, key, where, required=required)
    if value and not _EMAIL.match(value):
        raise InvalidArgument(f"{value!r} is not an email address (name@domain)", field=where)
    return value


def _template(raw: Mapping[str, Any], key: str, paths: _Paths) -> str:
    path = paths(_str(raw, key, f"notices.{key}"))
    if not path:
        return ""
    try:
        template = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"cannot read {path}: {error}", field=f"notices.{key}") from None
    if len(template) > 8192:
        raise InvalidArgument("a template has at most 8,192 characters", field=f"notices.{key}")
    unknown = render_check(template)
    if unknown:
        raise InvalidArgument(f"unknown placeholder ${unknown[0]}", field=f"notices.{key}")
    return template


def _secret(raw: Mapping[str, Any], key: str, where: str, env: Mapping[str, str], *, required: bool) -> str:
    """A secret is never in the file: the setting names the environment variable that holds it."""
    name = _str(raw, key, where, required=required)
    if name and not env.get(name):
        raise InvalidArgument(f"the environment variable {name} is not set", field=where)
    return env.get(name, "") if name else ""


def _smtp(raw: Any, env: Mapping[str, str]) -> SmtpSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table ([notices.smtp])", field="notices.smtp")
    starttls = raw.get("starttls", True)
    if not isinstance(starttls, bool):
        raise InvalidArgument("must be true or false", field="notices.smtp.starttls")
    username = _str(raw, "username", "notices.smtp.username")
    return SmtpSettings(
        host=_str(raw, "host", "notices.smtp.host", required=True),
        port=_int(raw, "port", 587, 1, 65535, section="notices.smtp"),
        starttls=starttls,
        username=username,
        password=_secret(raw, "password_env", "notices.smtp.password_env", env, required=bool(username)),
        timeout=timedelta(seconds=_num(raw, "timeout_seconds", 30, 0.1, 600, section="notices.smtp")),
    )


def _webhook(raw: Any, env: Mapping[str, str]) -> WebhookSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table ([notices.webhook])", field="notices.webhook")
    url = _https_url(_str(raw, "url", "notices.webhook.url", required=True), "notices.webhook.url")
    secret = _secret(raw, "secret_env", "notices.webhook.secret_env", env, required=True)
    if len(secret.encode()) < 16:
        raise InvalidArgument("the signing secret must have at least 16 bytes", field="notices.webhook.secret_env")
    return WebhookSettings(
        url=url,
        secret=secret.encode(),
        timeout=timedelta(seconds=_num(raw, "timeout_seconds", 10, 0.1, 600, section="notices.webhook")),
    )
