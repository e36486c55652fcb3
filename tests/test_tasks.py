"""Stopping background tasks: a cancel a library drops does not hang the stop; a task's own grace is kept."""

from __future__ import annotations

import asyncio

import pytest

from claw.core import tasks
from claw.core.tasks import OwnedTasks


async def test_a_task_that_drops_its_cancel_is_cancelled_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "RECANCEL_AFTER", 0.05)
    forever = asyncio.Event()
    cancels = []

    async def drops_the_first_cancel() -> None:  # as Python 3.11's wait_for does when its inner step just finished
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancels.append(1)
        try:
            await forever.wait()  # e.g. aiomqtt's next message, which never comes during a stop
        except asyncio.CancelledError:
            cancels.append(2)
            raise

    owned = OwnedTasks("test")
    task = owned.start(drops_the_first_cancel())
    await asyncio.sleep(0)
    await asyncio.wait_for(owned.stop(), 5)
    assert task.cancelled() and cancels == [1, 2] and len(owned) == 0


async def test_a_task_finishing_its_own_grace_is_not_cut_short() -> None:
    finished = []

    async def records_on_the_way_out() -> None:  # the outbox lets a send on the wire be recorded
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.3)
            finished.append("recorded")

    owned = OwnedTasks("test")
    owned.start(records_on_the_way_out())
    await asyncio.sleep(0)
    await owned.stop()
    assert finished == ["recorded"]


async def test_a_cancelled_error_from_a_library_callback_is_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    tasks.quiet_cancellations(loop)
    try:
        cancelled: asyncio.Future[None] = loop.create_future()
        cancelled.cancel()
        loop.call_soon(cancelled.exception)  # what aiomqtt's disconnect callback does after a cancelled connect
        loop.call_soon(int, "not a number")  # any other error in a callback is still an error
        await asyncio.sleep(0.05)
    finally:
        loop.set_exception_handler(before)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "ValueError" in (errors[0].exc_text or str(errors[0].exc_info))
