"""Structured logs (structlog): JSON for machines, console output for people.

Logs name items by id. A reported URL is never logged in full: callers log item ids, and this processor
masks any value that looks like a URL, as a second line of defence.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging", "mask_urls"]

# Scheme, then any userinfo (dropped), then the host (kept), then all up to whitespace or a double quote (masked):
# paths may hold quotes, and a URL quoted inside exception text is masked with its closing quote.
_URL = re.compile(r"(?i)\b(https?://)(?:[^\s/?#@]*@)?([^\s/?#@]+)[^\s\"]*")


def mask_urls(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = _mask(value)
    return event_dict


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return _URL.sub(lambda m: f"{m.group(1)}{m.group(2)}/…", value) if "://" in value else value
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    return value


def configure_logging(fmt: str = "console", level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Structured logs to stderr, or to `stream` (the simulator sends its many nodes' logs to a file)."""
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # before masking: exception text may quote a URL
            mask_urls,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve stderr when logging, not now: it may be replaced (by a test runner, say) in between.
        logger_factory=lambda *_args: structlog.PrintLogger(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
