"""What bounds an event stream: how many one token may hold open, how long one lasts, and how an idle one
learns of new events without asking the database.

An idle stream waits on the node's EventNotifier: a commit in this process fires it at once, and a node-level
watermark (one read of the newest event's sequence number a second, whatever the number of streams; see
node.app) fires it for commits made by other nodes sharing the database. While waiting, a stream wakes every
CHECK_SECONDS to check that its token is still valid (through the token cache: at most one read per token
and CACHE_SECONDS) and that it has not outlived its maximum age; a revoked or expired token ends it with
UNAUTHENTICATED, and the maximum age ends it normally (the client resumes from its last cursor).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from node.access import CACHE_SECONDS
from node.errors import Reason, ResourceExhausted

__all__ = ["CHECK_SECONDS", "STREAM_LIMIT", "OpenStreams", "StreamLimits"]

STREAM_LIMIT = Reason.LIMIT_EXCEEDED  # with the limit in the metadata
CHECK_SECONDS = CACHE_SECONDS
"""How often a waiting stream checks its token: a revoked token's streams end within 2 * CACHE_SECONDS."""


@dataclass(frozen=True, slots=True)
class StreamLimits:
    per_token: int = 8
    max_age_seconds: float = 3600.0


class OpenStreams:
    """The streams open on this node, per token. Used on the event loop only."""

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits
        self._open: dict[str, int] = {}

    def count(self, token_id: str) -> int:
        return self._open.get(token_id, 0)

    @contextmanager
    def opened(self, token_id: str) -> Iterator[None]:
        """Counts a stream for `token_id` while the block runs; ResourceExhausted beyond the limit."""
        held = self.count(token_id)
        if held >= self.limits.per_token:
            raise ResourceExhausted(
                f"this token has {held} event streams open, the most allowed (streams_per_token); close one, or "
                "resume it from its last cursor",
                field="authorization",
                reason=STREAM_LIMIT,
            )
        self._open[token_id] = held + 1
        try:
            yield
        finally:
            left = self._open[token_id] - 1
            if left:
                self._open[token_id] = left
            else:
                del self._open[token_id]
