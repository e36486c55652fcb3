"""A small owner for background tasks: keeps a reference to each, waits for them, cancels them on stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_AFTER = 5.0  # longer than any stop's own grace (the outbox gives a send on the wire 3 s)


class OwnedTasks:
    """Every task started here is referenced until done, awaited by `settle`, cancelled by `stop`."""

    def __init__(self, what: str) -> None:
        self.what = what  # for the log line when one fails
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s failed", self.what, exc_info=exc)

    async def settle(self) -> None:
        """Wait until none is in flight (tests, benchmarks, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel every task and wait for each to end. One still running 5 s later is cancelled again: on Python
        3.11 `asyncio.wait_for` drops a cancel that lands as its inner step finishes (aiomqtt's calls use it), and
        the task then waits on, for ever."""
        pending = set(self._tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=RECANCEL_AFTER)  # failures are logged by _done


def quiet_cancellations(loop: asyncio.AbstractEventLoop) -> None:
    """A CancelledError escaping a library's callback is logged at debug level, not as a traceback: aiomqtt
    (2.x) reads `exception()` of its connect future in paho's disconnect callback, which raises once a stop
    cancelled that connect; nothing is lost and nothing can be done about it. Every other error is as before."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError):
            log.debug("a callback raised CancelledError while stopping: %s", context.get("message"))
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
