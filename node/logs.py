"""Structured logs (structlog): JSON lines for machines, console output for people ("auto", the default: JSON
unless stderr is a terminal). Python's standard logging (APScheduler, gRPC's Python layer) goes through the
same processors into the same stream, from WARNING up. gRPC's C core writes to stderr on its own, below
Python: quiet_grpc_core() keeps it to errors, and must run before grpc is first imported.

Logs name items by id. A reported URL is never logged in full: callers log item ids, and this processor
masks any value that looks like a URL, as a second line of defence.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping, Sequence
from typing import Any, TextIO

import structlog

__all__ = ["LOG_FORMATS", "configure_logging", "mask_urls", "quiet_grpc_core"]

LOG_FORMATS = ("auto", "console", "json")

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


def quiet_grpc_core(env: MutableMapping[str, str] | None = None) -> None:
    """Keep gRPC's C core to errors (GRPC_VERBOSITY=ERROR) unless the environment says otherwise: at its
    default it writes INFO lines of its own (a failed TLS handshake, say) straight to stderr, not as JSON. The
    core reads the variable once, when grpc is first imported: call this before that."""
    (os.environ if env is None else env).setdefault("GRPC_VERBOSITY", "ERROR")


def configure_logging(
    fmt: str = "auto", level: int = logging.INFO, stream: TextIO | None = None, extra: Sequence[Any] = ()
) -> None:
    """Structured logs to stderr, or to `stream` (the simulator sends its many nodes' logs to a file); `extra`
    processors run after the time stamp (the simulator adds the simulated time)."""
    if fmt == "auto":
        fmt = "console" if (stream or sys.stderr).isatty() else "json"
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        *extra,
        structlog.processors.format_exc_info,  # before masking: exception text may quote a URL
        mask_urls,
    ]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve stderr when logging, not now: it may be replaced (by a test runner, say) in between.
        logger_factory=lambda *_args: structlog.PrintLogger(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(shared, renderer, stream)


class _StandardHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Standard logging's records, rendered by structlog's processors; writes to stderr as it is when logging."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self._fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._fixed or sys.stderr
        super().emit(record)


def _route_standard_logging(shared: list[Any], renderer: Any, stream: TextIO | None) -> None:
    """Replace this module's handler on the root logger (another's, a test runner's say, stay), WARNING up."""
    handler = _StandardHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StandardHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
