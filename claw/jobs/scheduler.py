"""APScheduler 3.x as the house's alarm clock: it says *when*; the runner decides what each occurrence becomes."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from claw.jobs.schedule import Trigger

log = logging.getLogger(__name__)


class HandOff(BaseExecutor):  # type: ignore[misc]
    """An executor that only hands the job id over: the job runs later as its own task, never inside the timer."""

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._loop = scheduler._eventloop

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        job.func(*job.args)
        # the instance is released on the next loop turn (submit_job counts it after we return)
        self._loop.call_soon(self._run_job_success, job.id, [])


class Timer:
    """Wakes the runner for a job when its next occurrence is due; definitions live in our SQLite, not here."""

    def __init__(self, tz: ZoneInfo, *, grace: float, wake: Callable[[str], None]) -> None:
        self.grace = max(1, math.ceil(grace))  # APScheduler wants a positive whole number of seconds
        self.wake = wake
        self.scheduler = AsyncIOScheduler(
            timezone=tz,
            executors={"default": HandOff()},
            # the runner accounts for every occurrence itself, so APScheduler must not swallow any
            job_defaults={"coalesce": False, "max_instances": 1000, "misfire_grace_time": self.grace},
        )
        self.scheduler.add_listener(self._lost, EVENT_JOB_MISSED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)
        self._known: set[str] = set()  # ids we registered: spares APScheduler's linear pending-job lookups

    def start(self, *, paused: bool = False) -> None:
        """Start ticking (paused: register jobs but never fire; a hand-driven clock moves time instead)."""
        self.scheduler.start(paused=paused)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def set(self, job_id: str, trigger: Trigger, next_run: datetime) -> None:
        """(Re)register a job under its stable id, due next at `next_run`."""
        self.scheduler.add_job(
            self.wake,
            trigger=trigger,
            args=(job_id,),
            id=job_id,
            name=job_id,
            next_run_time=next_run,
            replace_existing=True,
            misfire_grace_time=self.grace,
            coalesce=False,
            max_instances=1000,
        )
        self._known.add(job_id)

    def cancel(self, job_id: str) -> None:
        if job_id in self._known:
            self._known.discard(job_id)
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(job_id)

    def next_run(self, job_id: str) -> datetime | None:
        if job_id not in self._known:
            return None
        job = self.scheduler.get_job(job_id)
        if job is None:  # a one-off that fired: APScheduler dropped it
            self._known.discard(job_id)
            return None
        when: datetime = job.next_run_time
        return when

    def count(self) -> int:
        return len(self.scheduler.get_jobs())

    def _lost(self, event: JobEvent) -> None:
        # with HandOff these do not happen; if APScheduler ever decides on its own, the runner still accounts
        log.warning("timer event %s for job %s; handing it to the runner", event.code, event.job_id)
        if event.code != EVENT_JOB_ERROR:
            self.wake(event.job_id)
