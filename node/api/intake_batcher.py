"""Group commit for intake: concurrent SubmitReport calls share one database transaction.

While a batch is being written, new calls queue; the next batch takes all of them (up to a bound). There is
no added delay: a lone call is written at once. Each call still gets its own result or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from node.cases.model import Principal, Report
from node.cases.requests import NewReport
from node.cases.service import CaseService

__all__ = ["IntakeBatcher"]

_Entry = tuple[Principal, NewReport, str, "asyncio.Future[Report]"]


class IntakeBatcher:
    def __init__(self, cases: CaseService, run: Callable[..., Awaitable[Any]], max_batch: int = 128) -> None:
        self._cases = cases
        self._run = run
        self._max_batch = max_batch
        self._queue: list[_Entry] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, principal: Principal, request: NewReport, request_id: str) -> Report:
        """The stored report; raises the DomainError that refused it."""
        future: asyncio.Future[Report] = asyncio.get_running_loop().create_future()
        self._queue.append((principal, request, request_id, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                results = await self._run(self._cases.submit_reports, [(p, r, i) for p, r, i, _ in batch])
            except Exception as error:  # the store is down (or a lone report failed): none is left waiting
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (*_, future), result in zip(batch, results, strict=True):
                if future.done():  # the caller went away
                    continue
                if isinstance(result, Exception):  # that report's own refusal or failure, for its caller alone
                    future.set_exception(result)
                else:
                    future.set_result(result)
