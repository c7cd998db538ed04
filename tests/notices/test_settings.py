"""Each bad [notices] setting is refused at load with its key named, and the CLI lists and re-queues
notices."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from node.cli import app
from node.config import parse_config
from node.errors import InvalidArgument
from node.notices.settings import Channel

NODE = {"id": "nl-hotline", "jurisdiction": "NL"}
BASE: dict[str, Any] = {
    "organisation": "Example Hotline NL",
    "from_email": "notices@hotline-nl.example",
    "smtp": {"host": "127.0.0.1"},
}


def _parse(notices: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    return parse_config({"node": NODE, "notices": notices}, env or {})


def test_good_settings_are_read_with_their_defaults() -> None:
    settings = _parse({**BASE, "abuse_contacts": {"AS64500": "abuse@hosting.example"}}).notices
    assert settings.channel is Channel.SMTP and settings.smtp.port == 587 and settings.smtp.starttls
    assert settings.retry_initial == timedelta(seconds=30) and settings.give_up_after == timedelta(days=7)
    assert settings.abuse_email(64500, "") == "abuse@hosting.example"
    assert settings.abuse_email(64501, "Other") == ""
    assert _parse({**BASE}).notices.lea_email == ""


@pytest.mark.parametrize(
    ("change", "env", "field", "message"),
    [
        ({"organisation": ""}, {}, "notices.organisation", "is required"),
        ({"from_email": "notices"}, {}, "notices.from_email", "not an email address"),
        ({"lea_email": "police@example <x>"}, {}, "notices.lea_email", "not an email address"),
        ({"channel": "pigeon"}, {}, "notices.channel", "'smtp' or 'webhook'"),
        ({"smtp": None}, {}, "notices.smtp", "needs a [notices.smtp] section"),
        ({"xarf": "yes"}, {}, "notices.xarf", "true or false"),
        ({"retry_initial_seconds": 0}, {}, "notices.retry_initial_seconds", "between"),
        ({"abuse_contact": {}}, {}, "notices.abuse_contact", "did you mean 'abuse_contacts'"),
        ({"abuse_contacts": {"AS1": "nobody"}}, {}, "notices.abuse_contacts.AS1", "not an email address"),
        ({"smtp": {"host": "h.example", "username": "u"}}, {}, "notices.smtp.password_env", "is required"),
        (
            {"smtp": {"host": "h.example", "username": "u", "password_env": "HX_NOPE"}},
            {},
            "notices.smtp.password_env",
            "HX_NOPE is not set",
        ),
        (
            {"channel": "webhook", "webhook": {"url": "http://cases.police.example/x", "secret_env": "S"}},
            {"S": "s" * 32},
            "notices.webhook.url",
            "https://",
        ),
        (
            {"channel": "webhook", "webhook": {"url": "https://cases.police.example/x", "secret_env": "S"}},
            {"S": "short"},
            "notices.webhook.secret_env",
            "at least 16 bytes",
        ),
        ({"channel": "webhook"}, {}, "notices.webhook", "needs a [notices.webhook] section"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(
    change: dict[str, Any], env: dict[str, str], field: str, message: str
) -> None:
    notices = {**BASE, **change}
    if notices.get("smtp") is None:
        notices.pop("smtp")
    with pytest.raises(InvalidArgument) as refused:
        _parse(notices, env)
    assert refused.value.field == field
    assert message in str(refused.value)


def test_a_template_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "ntd.txt"
    template.write_text("Please remove $ur1 now.\n")
    with pytest.raises(InvalidArgument) as refused:
        _parse({**BASE, "ntd_template_file": str(template)})
    assert (refused.value.field, str(refused.value).endswith("unknown placeholder $ur1")) == (
        "notices.ntd_template_file",
        True,
    )
    with pytest.raises(InvalidArgument) as missing:
        _parse({**BASE, "lea_template_file": str(tmp_path / "nope.txt")})
    assert missing.value.field == "notices.lea_template_file"


def test_the_cli_lists_notices_and_queues_a_failed_one_again(tmp_path: Path) -> None:
    from node.app import build_node
    from node.config import load_config
    from node.notices.compose import Notice
    from node.notices.settings import NoticeKind

    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/n.db"\n'
        '[notices]\norganisation = "Example Hotline NL"\nfrom_email = "notices@hotline-nl.example"\n'
        '[notices.smtp]\nhost = "127.0.0.1"\n'
    )
    node = build_node(load_config(config, env={}))
    now = node.clock.now()
    notice = Notice(
        "0193a0a0-0000-7000-8000-000000000001",
        "item-1",
        NoticeKind.NTD,
        "smtp",
        "abuse@h.example",
        "subject",
        "text",
        "",
        now,
    )
    with node.store.transaction() as tx:
        tx.enqueue_notices([notice])
        tx.notice_failed(notice.notice_id, "SMTP 550: no such mailbox", None)
    node.executor.shutdown(wait=True)
    node.engine.dispose()
    runner = CliRunner()
    listed = runner.invoke(app, ["notices", "list", "--status", "failed", "--json", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    row = json.loads(listed.output)
    assert (row["notice_id"], row["status"], row["attempts"], row["last_error"]) == (
        notice.notice_id,
        "failed",
        1,
        "SMTP 550: no such mailbox",
    )
    retried = runner.invoke(app, ["notices", "retry", notice.notice_id, "--config", str(config)])
    assert retried.exit_code == 0 and "queued again" in retried.output
    again = runner.invoke(app, ["notices", "retry", notice.notice_id, "--config", str(config)])
    assert again.exit_code == 1 and "no failed notice" in again.output
    pending = runner.invoke(app, ["notices", "list", "--config", str(config)])
    assert "pending" in pending.output and "attempts 1" in pending.output
