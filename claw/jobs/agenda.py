"""The jobs: timer, runner and heartbeat over the job book; what the owner can do with jobs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from claw.core.config import Config
from claw.core.errors import ClawError, ConfigError, ModelUnavailable, TargetNotFound
from claw.core.findings import Check, Finding
from claw.core.request import Request
from claw.core.safety import KillSwitch
from claw.core.store import Store
from claw.core.store import jobs as jobs_db
from claw.core.store.audit import get_setting, set_setting
from claw.core.store.jobs import JobState
from claw.core.untrusted import clean_untrusted
from claw.jobs import book, words
from claw.jobs.clock import Clock, SystemClock
from claw.jobs.heartbeat import PHRASE_SYSTEM, Heartbeat, plain_list
from claw.jobs.job import Job, default_description, new_id, parse_action
from claw.jobs.performer import Actions, Notify, Plan, Think, scheduled
from claw.jobs.runner import Runner
from claw.jobs.schedule import Place, ScheduleError, first_after, parse
from claw.jobs.scheduler import Timer
from claw.jobs.when import duration

log = logging.getLogger(__name__)
HEARTBEAT_MEMORY = "heartbeat.findings"
MIN_CHAT_INTERVAL = timedelta(minutes=1)  # a confused model must not set up a message every second


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A job as it is told back when made: what it does, how often, when it runs next (replies word it per language)."""

    job: Job
    upcoming: datetime | None  # its next run (None: it has none)
    now: datetime
    place: Place

    @property
    def english(self) -> str:
        """ "Every weekday at 06:30 — next: Mon 23 Nov 06:30", "Once, Sat 21 Nov 07:47 (in 2 minutes)"."""
        when, upcoming = self.job.when(self.place), self.upcoming
        if self.job.schedule.once and upcoming is not None:
            return f"{when} ({words.until(upcoming, self.now)})"
        return f"{when} — next: {words.moment(upcoming, self.place.tz)}" if upcoming else f"{when} — no next run"


class Jobs:
    """Scheduled jobs from config and chat, and the heartbeat; `snapshot()` feeds GET /api/jobs."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        killswitch: KillSwitch,
        notify: Notify,
        think: Think,
        run_routine: Callable[[str, Request], Awaitable[str]],
        interpret: Callable[[str], Awaitable[Plan | None]],
        run_plan: Callable[[Plan, Request], Awaitable[str]],
        checks: Sequence[Check],
        clock: Clock | None = None,
    ) -> None:
        self.config, self.store, self.notify, self.think = config, store, notify, think
        self.interpret = interpret
        self.clock: Clock = clock or SystemClock()
        try:
            self.place = Place.from_config(config.location)
        except ScheduleError as exc:
            raise ConfigError(config.source, "location.timezone", str(exc), "use a name like Europe/London") from None
        self.jobs: dict[str, Job] = {}
        self.heartbeat = Heartbeat(
            checks=checks,
            clock=self.clock,
            place=self.place,
            config=config.heartbeat,
            phrase=self._phrase,
            notify=lambda text, urgent: notify(text, "alert" if urgent else "notice", "Heartbeat", ""),
            load=self._load_memory,
            save=self._save_memory,
        )
        self.actions = Actions(
            store=store,
            killswitch=killswitch,
            notify=notify,
            think=think,
            run_routine=run_routine,
            interpret=interpret,
            run_plan=run_plan,
            heartbeat=self.heartbeat.beat,
            on_plan=lambda job, plan: self.jobs.__setitem__(job.id, replace(job, plan=plan)),
        )
        self._runner: Runner | None = None
        self._timer: Timer | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load and catch up every job (missed occurrences are accounted), then start the timer."""
        store, cfg = self.store, self.config.scheduler
        now = self.clock.now()
        unfinished = await store.run(jobs_db.unfinished)
        await store.run(jobs_db.prune, cfg.keep_runs)
        for note in await store.run(jobs_db.sync, book.wanted(self.config, self.place, now), book.MANAGED):
            log.info("jobs: %s", note)
        self.jobs, quarantined = await book.load(store, self.place)
        self._timer = Timer(self.place.tz, grace=cfg.grace_seconds, wake=self._wake)
        self._runner = Runner(
            store=store,
            clock=self.clock,
            place=self.place,
            config=cfg,
            jobs=self.jobs,
            perform=self.actions.perform,
            on_failure=self._failed,
            on_moved=self._moved,
        )
        self._runner.states = await store.run(jobs_db.states)
        fresh = [self._first_state(job, now) for job in self.jobs.values() if job.id not in self._runner.states]
        await store.run(jobs_db.put_states, fresh)  # one transaction, however many jobs are new
        gone = []  # runs a stop interrupted that will not run again: recorded as interrupted
        for run in unfinished:  # before the timer: an interrupted occurrence goes first, later ones wait for it
            job = self.jobs.get(run.job_id)
            if run.acted or job is None or not self._runner.resume(job, run.scheduled, run.id):
                gone.append(run.id)
        await store.run(jobs_db.interrupt, gone, now.timestamp())
        await asyncio.gather(*(self._arm(job) for job in self.jobs.values()))  # the store queues the writes
        self._timer.start(paused=self.clock.manual)
        for q in quarantined:
            await self.notify(
                f"I set aside the scheduled job '{q.id}': it no longer makes sense ({q.reason}). It is kept in "
                "quarantine, not deleted; tell me again if you still want it.",
                "notice",
                "Job quarantined",
                f"job-quarantined-{q.id}",
            )
        log.info("jobs: %d loaded, %d armed, %d quarantined", len(self.jobs), self._timer.count(), len(quarantined))

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._runner is not None:
            await self._runner.stop()

    def _first_state(self, job: Job, now: datetime) -> JobState:
        """A job never seen before starts counting from now; nothing before now is owed."""
        first = first_after(job.schedule.trigger, now)
        state = JobState(job.id, next_run=first.timestamp() if first else None)
        self._running().states[job.id] = state
        return state

    async def _arm(self, job: Job) -> None:
        """Account for occurrences missed while the daemon was down, then register the job with the timer."""
        runner = self._running()
        state = runner.states.get(job.id)
        if job.enabled and state is not None and state.next_run is not None:
            await runner.due(job.id)
            self._moved(job, runner.next_run(job.id))

    # --- what the owner can do (tools, commands, dashboard) --------------------------------------

    async def create(
        self,
        schedule: str,
        action: str,
        *,
        description: str = "",
        owner: str = "",
        source: str = "chat",
        plan: Plan | None = None,
    ) -> Job:
        """Add a job; relative times become fixed ones; raises ClawError with what would work."""
        now = self.clock.now()
        parsed = parse(schedule, self.place, now=now, anchor=now)
        act = parse_action(clean_untrusted(action), default="say")  # "ask:" text goes into a prompt later
        if source == "chat" and parsed.kind == "every" and duration(parsed.spec) < MIN_CHAT_INTERVAL:
            raise ClawError("a job from chat may repeat at most once a minute; say 'every: 1m' or slower")
        first = first_after(parsed.trigger, now)
        if first is None or (parsed.once and first <= now):
            raise ClawError(f"{words.moment(first or now, self.place.tz)} has already passed; pick a later time")
        if act.kind == "device" and plan is None:
            plan = await self.interpret(act.text)
        if act.kind == "device" and plan is None:
            raise ClawError(f"I don't understand the command '{act.text}'; try 'turn off the porch light'")
        name = " ".join(clean_untrusted(description).split())[:80] or default_description(act)
        job_id = new_id(act.text or name, set(self.jobs))
        job = Job(job_id, parsed, act, name, source, owner, True, now.timestamp(), plan)
        state = JobState(job.id, next_run=first.timestamp())
        await self.store.run(jobs_db.save, job.record(), state)
        self.jobs[job.id] = job
        self._running().states[job.id] = state
        self._moved(job, first)
        log.info("job %s created by %s: %s / %s", job.id, owner or source, parsed.text, act.stored)
        return job

    def find(self, ref: str) -> Job:
        """A job by id, or by words of its description or action; TargetNotFound lists the close ones."""
        ref = ref.strip()
        if ref in self.jobs:
            return self.jobs[ref]
        needle = ref.lower()
        hits = [j for j in self.jobs.values() if needle and needle in f"{j.id} {j.description} {j.action.text}".lower()]
        if len(hits) == 1:
            return hits[0]
        suggestions = [j.id for j in (hits or list(self.jobs.values()))][:5]
        what = f"one job called '{ref}'" if hits else f"a job called '{ref}'"
        raise TargetNotFound(what, suggestions)

    async def pause(self, ref: str) -> Job:
        job = self.find(ref)
        return await self._set_enabled(job, False, self._running().states.get(job.id, JobState(job.id)))

    async def resume(self, ref: str) -> Job:
        """Enable again, counting from now: occurrences while paused are not owed."""
        job = self.find(ref)
        now = self.clock.now()
        first = first_after(job.schedule.trigger, now)
        if first is None or (job.schedule.once and first <= now):
            raise ClawError(f"'{job.description}' was a one-off that is over; schedule it again instead")
        old = self._running().states.get(job.id, JobState(job.id))
        state = replace(old, next_run=first.timestamp(), failures=0)
        return await self._set_enabled(job, True, state)

    async def delete(self, ref: str) -> Job:
        job = self.find(ref)
        if job.source in book.MANAGED:
            raise ClawError(f"'{job.id}' comes from the config file: pause it, or remove it from [[scheduler.jobs]]")
        await self.store.run(jobs_db.delete, job.id)
        self.jobs.pop(job.id, None)
        self._running().states.pop(job.id, None)
        self._timer_().cancel(job.id)
        log.info("job %s deleted", job.id)
        return job

    def confirm(self, job: Job) -> str:
        """The schedule in plain words with the next run: "Every weekday at 06:30 — next: Mon 23 Nov 06:30"."""
        return self.scheduled(job).english

    def scheduled(self, job: Job) -> Scheduled:
        """The job as it is told back, typed: chat replies say it in the message's language."""
        return Scheduled(job, self.next_run(job.id), self.clock.now(), self.place)

    def next_run(self, job_id: str) -> datetime | None:
        return self._runner.next_run(job_id) if self._runner else None

    def timer_next_run(self, job_id: str) -> datetime | None:
        """When APScheduler will next wake this job (None: not registered); should equal `next_run`."""
        return self._timer.next_run(job_id) if self._timer else None

    def timer_count(self) -> int:
        return self._timer.count() if self._timer else 0

    def listing(self) -> list[dict[str, Any]]:
        """A short list for the model and for /jobs: id, what, when, next, status."""
        out = []
        for job in sorted(self.jobs.values(), key=self._order):
            state = self._running().states.get(job.id, JobState(job.id))
            upcoming = self.next_run(job.id)
            out.append(
                {
                    "id": job.id,
                    "what": job.action.words(),
                    "when": job.when(self.place),
                    "next": words.moment(upcoming, self.place.tz) if upcoming and job.enabled else None,
                    "status": self._status(job, state),
                }
            )
        return out

    async def run_due(self, *, wait: bool = True) -> None:
        """Account and run whatever is due by the clock now (the timer does this by itself on the real clock)."""
        runner = self._running()
        for job_id in list(self.jobs):
            await runner.due(job_id)
        if wait:
            await runner.settle()

    async def settle(self) -> None:
        await self._running().settle()

    async def snapshot(self) -> list[dict[str, Any]]:
        """GET /api/jobs: every job with its schedule in words, next run (ISO), last outcome and recent history."""
        history = await self.store.run(jobs_db.history, 10)
        out = []
        for job in sorted(self.jobs.values(), key=self._order):
            state = self._running().states.get(job.id, JobState(job.id))
            upcoming = self.next_run(job.id) if job.enabled else None
            out.append(
                {
                    "id": job.id,
                    "description": job.description,
                    "schedule": job.schedule.text,
                    "when": job.when(self.place),
                    "action": job.action.stored,
                    "what": job.action.words(),
                    "source": job.source,
                    "owner": job.owner,
                    "enabled": job.enabled,
                    "status": self._status(job, state),
                    "next_run": upcoming.isoformat() if upcoming else None,
                    "next_run_words": words.moment(upcoming, self.place.tz) if upcoming else None,
                    "last_run": self._iso(state.last_run),
                    "last_status": state.last_status,
                    "failures": state.failures,
                    "history": [
                        {
                            "scheduled": self._iso(run.scheduled),
                            "started": self._iso(run.started),
                            "ended": self._iso(run.ended),
                            "status": run.status,
                            "detail": run.detail,
                        }
                        for run in history.get(job.id, [])
                    ],
                }
            )
        return out

    # --- callbacks -------------------------------------------------------------------------------

    def _wake(self, job_id: str) -> None:
        self._running().poke(job_id)

    def _moved(self, job: Job, next_run: datetime | None) -> None:
        """Keep the timer in step with the runner's state (the state is the truth)."""
        timer = self._timer_()
        if next_run is None or not job.enabled:
            timer.cancel(job.id)
        elif (current := timer.next_run(job.id)) is None or current.timestamp() != next_run.timestamp():
            timer.set(job.id, job.schedule.trigger, next_run)

    async def _failed(self, job: Job, detail: str, failures: int) -> None:
        """A one-off that fails is told at once; a repeating job is paused after failure_limit in a row."""
        limit = self.config.scheduler.failure_limit
        if job.schedule.once:
            await self.notify(f"The scheduled '{job.description}' did not work: {detail}", "job", "Job failed", "")
        elif failures >= limit:
            await self._set_enabled(job, False, self._running().states.get(job.id, JobState(job.id)))
            await self.notify(
                f"I paused the job '{job.description}' ({job.id}) after {failures} failures in a row. "
                f"Last: {detail}. Say 'resume job {job.id}' when it should run again.",
                "job",
                "Job paused",
                "",
            )

    async def _set_enabled(self, job: Job, enabled: bool, state: JobState) -> Job:
        changed = replace(job, enabled=enabled)
        await self.store.run(jobs_db.set_enabled, job.id, enabled, state)
        self.jobs[job.id] = changed
        self._running().states[job.id] = state
        self._moved(changed, self.next_run(job.id))
        log.info("job %s %s", job.id, "resumed" if enabled else "paused")
        return changed

    async def _phrase(self, findings: list[Finding]) -> str:
        plain = plain_list(findings)
        facts = "\n".join(f"- [{f.severity}] {f.text}" for f in findings)
        try:
            content = await self.think(f"Findings:\n{facts}", PHRASE_SYSTEM, None, scheduled())
        except ModelUnavailable as exc:
            log.info("heartbeat: model unavailable (%s); sending the plain list", exc)
            return plain
        text = clean_untrusted(content).strip()
        return text if len(text) >= 10 else plain

    async def _load_memory(self) -> dict[str, Any]:
        raw = await self.store.run(get_setting, HEARTBEAT_MEMORY, "{}")
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("heartbeat memory unreadable; starting afresh")
            return {}
        return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    async def _save_memory(self, memory: dict[str, Any]) -> None:
        await self.store.run(set_setting, HEARTBEAT_MEMORY, json.dumps(memory, sort_keys=True))

    async def status_line(self) -> str:
        """For /status: how many jobs, and what runs next."""
        armed = [j for j in self.jobs.values() if j.enabled and self.next_run(j.id)]
        if not armed:
            return f"Jobs: {len(self.jobs)}, none scheduled (/jobs lists them)."
        soonest = min(armed, key=self._order)
        upcoming = self.next_run(soonest.id)
        assert upcoming is not None
        when = words.moment(upcoming, self.place.tz)
        return f"Jobs: {len(armed)} scheduled; next: {soonest.description} at {when} (/jobs lists them)."

    # --- helpers ---------------------------------------------------------------------------------

    def _status(self, job: Job, state: JobState) -> str:
        if not job.enabled:
            limit = self.config.scheduler.failure_limit
            return f"paused after {state.failures} failures" if state.failures >= limit else "paused"
        if self._runner is not None and job.id in self._runner.running:
            return "running"
        if state.next_run is None:
            return "finished" if state.last_status else "no next run"
        return "scheduled"

    def _order(self, job: Job) -> tuple[int, float, str]:
        upcoming = self.next_run(job.id)
        return (0 if job.enabled and upcoming else 1, upcoming.timestamp() if upcoming else 0.0, job.id)

    def _iso(self, stamp: float | None) -> str | None:
        return datetime.fromtimestamp(stamp, self.place.tz).isoformat() if stamp is not None else None

    def _running(self) -> Runner:
        if self._runner is None:
            raise ClawError("the scheduler is not started")
        return self._runner

    def _timer_(self) -> Timer:
        if self._timer is None:
            raise ClawError("the scheduler is not started")
        return self._timer
