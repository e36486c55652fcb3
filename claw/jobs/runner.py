"""Firing semantics: every occurrence is accounted for once (ran, late, skipped with a reason) and runs as a task."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from claw.core.config import SchedulerConfig
from claw.core.errors import ClawError
from claw.core.store import Store
from claw.core.store import jobs as jobs_db
from claw.core.store.jobs import JobState, Run
from claw.core.tasks import OwnedTasks
from claw.jobs.clock import Clock
from claw.jobs.job import Job
from claw.jobs.performer import JobFailed, JobSkipped
from claw.jobs.schedule import Place, occurrences
from claw.jobs.words import span

log = logging.getLogger(__name__)

ON_TIME = timedelta(seconds=2)  # a start later than this (yet within the grace) is recorded as "late"
LIST_LIMIT = 1000  # occurrences examined one by one per accounting; beyond, the rest are summed up
SKIP_ROWS = 20  # skipped occurrences written one by one per accounting; older ones become one summary row


class Runner:
    """Accounts for a job's due occurrences against the clock, then runs the newest one within its grace."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        place: Place,
        config: SchedulerConfig,
        jobs: Mapping[str, Job],
        perform: Callable[[Job, str, int], Awaitable[str]],
        on_failure: Callable[[Job, str, int], Awaitable[None]],
        on_moved: Callable[[Job, datetime | None], None],
    ) -> None:
        self.store, self.clock, self.place, self.config = store, clock, place, config
        self.jobs = jobs
        self.perform, self.on_failure, self.on_moved = perform, on_failure, on_moved
        self.states: dict[str, JobState] = {}
        self.started = clock.now()  # occurrences before this fell while the daemon was down
        self.running: dict[str, asyncio.Task[None]] = {}
        self._tasks = OwnedTasks("job bookkeeping")
        self.grace = timedelta(seconds=config.grace_seconds)

    def when(self, stamp: float | None) -> datetime | None:
        return None if stamp is None else datetime.fromtimestamp(stamp, self.place.tz)

    def next_run(self, job_id: str) -> datetime | None:
        state = self.states.get(job_id)
        return self.when(state.next_run) if state else None

    def poke(self, job_id: str) -> None:
        """The timer says a job may be due: account for it in an owned task (never inside the timer)."""
        self._tasks.start(self._guarded(job_id), name=f"job {job_id} due")

    async def _guarded(self, job_id: str) -> None:
        try:
            await self.due(job_id)
        except Exception:
            log.exception("job %s: accounting failed", job_id)

    async def due(self, job_id: str) -> None:
        """Account for every occurrence of the job up to now; start the newest one if it is within its grace."""
        job, state = self.jobs.get(job_id), self.states.get(job_id)
        if job is None or state is None or not job.enabled or state.next_run is None:
            return
        now = self.clock.now()
        first = self.when(state.next_run)
        assert first is not None
        if first > now:
            return
        trigger = job.schedule.trigger
        times = occurrences(trigger, first, now, LIST_LIMIT)
        after = trigger.get_next_fire_time(times[-1], times[-1])
        uncounted = False
        while after is not None and after <= now:  # more than LIST_LIMIT due: jump, and say some went uncounted
            uncounted = True
            after = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
        newest = times[-1]
        run_at = newest if now - newest <= self.grace and job_id not in self.running else None
        skipped = [
            Run(job_id, t.timestamp(), "skipped", detail=self._reason(t, now, newest, job_id, state))
            for t in times
            if t != run_at
        ]
        skipped = _squash(skipped, uncounted)
        # the state moves on before any await: a second look at this job can never account these again
        new_state = replace(
            state, next_run=after.timestamp() if after else None, last_status="running" if run_at else "skipped"
        )
        self.states[job_id] = new_state
        self.on_moved(job, after)
        for run in skipped[-3:]:
            log.info("job %s: occurrence %s skipped (%s)", job_id, self.when(run.scheduled), run.detail)
        if run_at is None:
            await self.store.run(jobs_db.account, new_state, skipped)
            return
        self.running[job_id] = self._tasks.start(self._run(job, run_at, skipped, new_state), name=f"job {job_id}")

    def _reason(self, t: datetime, now: datetime, newest: datetime, job_id: str, state: JobState) -> str:
        if now - t > self.grace:
            if t < self.started:
                if state.last_status == "":
                    return "its time had already passed when the job was loaded"
                return "daemon down"
            return f"grace exceeded (due {span(now - t)} ago, grace {span(self.grace)})"
        if t != newest:
            return "coalesced: a later occurrence was due too, and only that one ran"
        return "the previous run was still going"

    async def _run(
        self, job: Job, scheduled: datetime, skipped: list[Run], state: JobState, *, run_id: int = 0
    ) -> None:
        try:
            if run_id:  # a resumed run keeps its row
                ids = [run_id]
            else:
                running = Run(job.id, scheduled.timestamp(), "running", started=self.clock.now().timestamp())
                # the newest in-memory state, not the one captured: writes are FIFO, so the store never goes back
                ids = await self.store.run(jobs_db.account, self.states.get(job.id, state), [*skipped, running])
            started = self.clock.now()  # the action starts now: lateness is measured to here
            lateness = started - scheduled
            status, detail, ok = await self._perform(job, f"job-{job.id}-{scheduled.timestamp():.0f}", ids[-1])
            if ok and lateness > ON_TIME:
                status, detail = "late", f"started {span(lateness)} late; {detail}"
            current = self.states.get(job.id, state)
            failures = 0 if ok else current.failures + 1
            ended = self.clock.now()
            new_state = replace(current, last_run=started.timestamp(), last_status=status, failures=failures)
            self.states[job.id] = new_state
            finished = (status, started.timestamp(), ended.timestamp(), detail)
            await self.store.run(jobs_db.finish, ids[-1], *finished, new_state)
            log.info("job %s: %s (%s)", job.id, status, detail[:120])
            if not ok:
                await self.on_failure(job, detail, failures)
        except Exception:
            log.exception("job %s: run bookkeeping failed", job.id)
        finally:
            if self.running.get(job.id) is asyncio.current_task():
                del self.running[job.id]

    async def _perform(self, job: Job, key: str, run: int) -> tuple[str, str, bool]:
        try:
            async with asyncio.timeout(self.config.job_timeout):
                return "ran", await self.perform(job, key, run), True
        except TimeoutError:
            return "timeout", f"no result within {self.config.job_timeout:g} s", False
        except JobSkipped as exc:
            return "skipped", str(exc), True
        except (JobFailed, ClawError) as exc:
            return "failed", str(exc), False
        except Exception as exc:  # a bug in an action must not stop the scheduler
            log.exception("job %s: action raised", job.id)
            return "failed", f"unexpected error: {type(exc).__name__}: {exc}"[:300], False

    def resume(self, job: Job, scheduled: float, run_id: int) -> bool:
        """Run again, under its own row, an occurrence a stop interrupted before it acted, if still within its
        grace (what it tells is keyed by the occurrence, so the owners hear it once). False: too late, or
        already running. The row stays "running" until it ends, so another stop leaves it to run again."""
        when = self.when(scheduled)
        state = self.states.get(job.id)
        if when is None or state is None or not job.enabled or job.id in self.running:
            return False
        if self.clock.now() - when > self.grace:
            return False
        log.info("job %s: the occurrence at %s was interrupted by a stop; running it again", job.id, when)
        run = self._run(job, when, [], state, run_id=run_id)
        self.running[job.id] = self._tasks.start(run, name=f"job {job.id}")
        return True

    async def settle(self) -> None:
        """Wait until no accounting or run is in flight (tests, benchmarks, shutdown)."""
        await self._tasks.settle()

    async def stop(self) -> None:
        """Cancel runs in flight; the next start runs again those that had not acted yet (within their grace)
        and records the others as interrupted."""
        await self._tasks.stop()


def _squash(skipped: list[Run], uncounted: bool) -> list[Run]:
    """Keep the newest SKIP_ROWS skipped occurrences one by one; the older ones become one summary row."""
    if len(skipped) <= SKIP_ROWS and not uncounted:
        return skipped
    older, newer = skipped[:-SKIP_ROWS], skipped[-SKIP_ROWS:]
    if not older and newer:
        older, newer = [newer[0]], newer[1:]
    count = f"{len(older)}{'+ (too many to count)' if uncounted else ''}"
    summary = replace(older[0], detail=f"{count} occurrences from here on skipped: {older[-1].detail}")
    return [summary, *newer]
