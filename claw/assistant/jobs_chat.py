"""Reminders and schedules said in chat, in every language: the grammar reads the words (templates/jobs),
these handlers make, list and cancel the jobs. "remind me in 2 minutes to check the oven" works offline."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from claw.assistant.jobs_speech import Speech
from claw.assistant.plan_words import plan_of_words
from claw.assistant.understanding import Understanding, Understood
from claw.assistant.wildcards import own_words
from claw.core.errors import ClawError
from claw.core.request import Request
from claw.home.device import Device
from claw.jobs import book
from claw.jobs.agenda import Jobs
from claw.jobs.job import Job
from claw.jobs.schedule import Place, first_after, parse
from claw.jobs.when import DAYS, compact, next_time, said_clock, sun_schedule, weekly

Handler = Callable[[Understood, Sequence[Device], Request], Awaitable[str | None]]
# Words that say which kind of thing, not which one: never needed to find the job meant.
_FILLER_WORDS = (
    "a an the my to about for of that this reminder reminders schedule job jobs "
    "el la los las un una mi mis de del al que para sobre recordatorio programación programacion tarea "
    "der die das den dem des ein eine einen mein meine meinen an für fuer zum zur von über ueber erinnerung "
    "zeitplan auftrag le les l un une mon ma mes du des pour d rappel programmation tâche tache"
)
_FILLER = frozenset(_FILLER_WORDS.split(" "))
_WORD = re.compile(r"[^\W_]+")
_ELIDED = re.compile(r"^(?:d|qu)'(?=\w)", re.IGNORECASE)
SHORTEST_STEM = 4  # "light" finds "lights", but "on" never finds "oven"
# The templates' list values are numbers, so nothing the owner typed can change them on the way (see the
# templates' header): days of the week are 0-6 (Monday 0), job_every a bitmask of them, and these:
DAY_WORDS = {-1: "today", -2: "tonight", -3: "tomorrow"}
HALVES = {1: "am", 2: "pm", 3: "night"}
SUNS = {1: "sunrise", 2: "sunset"}
EVERY_DAY, WEEKDAYS, WEEKEND = 127, 31, 96
REPEATS = ("job_every", "job_part", "job_interval")  # the slots only a repeating time fills


class JobsChat:
    """The handlers of the jobs' intents: remind, schedule, list_jobs, cancel_job (by action name)."""

    def __init__(self, jobs: Jobs, grammar: Callable[[], Awaitable[Understanding]] | None = None) -> None:
        self.jobs = jobs
        self.grammar = grammar  # the home's grammar, to read a scheduled command ("turn on the porch light")

    def handlers(self) -> dict[str, Handler]:
        return {
            "remind": self.remind,
            "schedule": self.schedule,
            "list_jobs": self.list_jobs,
            "cancel_job": self.cancel_job,
        }

    async def remind(self, understood: Understood, devices: Sequence[Device], request: Request) -> str | None:
        """ "remind me in 2 minutes to check the oven", "remind me every morning at 8 to take my pills"."""
        values = understood.values
        what = _wildcard(values.get("job_what"), understood)
        if _scheduled_text(request) or what is None:
            return None
        schedule = self._when(values)
        if schedule is None:
            return None  # no time the grammar could make sense of: the model may ask
        say = self._speech(understood.language)
        return await self._create(say, schedule, f"say: {what}", say.reminded(what), f"{say.reminder}: {what}", request)

    async def schedule(self, understood: Understood, devices: Sequence[Device], request: Request) -> str | None:
        """ "every weekday at 6:30 run good morning", "every day at sunset turn on the porch light"."""
        values = understood.values
        command = _wildcard(values.get("job_command"), understood)
        schedule = self._when(values)
        if _scheduled_text(request) or command is None or schedule is None or self.grammar is None:
            return None
        if "job_particle" in values:  # German: "schalte das Licht | jeden Tag um 7 | ein"
            command = f"{command} {values['job_particle']}"
        grammar = await self.grammar()
        said = grammar.understand(command, language=understood.language)
        say = self._speech(understood.language)
        if isinstance(said, Understood) and said.action == "run_routine" and said.routine and not said.values:
            name = said.routine
            return await self._create(say, schedule, f"routine: {name}", say.will_run(name), "", request)
        plan = plan_of_words(grammar, command, understood.language)
        if plan is None:
            return None  # not one complete device command: the model may know what was meant
        return await self._create(say, schedule, f"device: {command}", say.will_do(command), "", request, plan)

    async def list_jobs(self, understood: Understood, devices: Sequence[Device], request: Request) -> str:
        """ "what's scheduled?": every job with when it runs next."""
        say = self._speech(understood.language)
        listed = [job for job in self.jobs.jobs.values() if job.action.kind != "heartbeat" and not self._over(job)]
        if not listed:
            return say.nothing_scheduled
        listed.sort(key=lambda job: self._next(job) or datetime.max.replace(tzinfo=self.jobs.place.tz))
        return "\n".join(f"{say.what(job)} — {say.when(job, self._next(job), self._now())}" for job in listed)

    async def cancel_job(self, understood: Understood, devices: Sequence[Device], request: Request) -> str | None:
        """ "cancel the oven reminder", "delete the porch light schedule": found by the words of what it does."""
        ref = _wildcard(understood.values.get("job_ref"), understood)
        if _scheduled_text(request) or ref is None:
            return None
        if ref.strip() not in self.jobs.jobs and not _telling(ref):
            return None  # "cancel my reminders": which ones is for the model to ask
        say = self._speech(understood.language)
        found = self.matching(ref)
        if not found:
            return say.no_such_job(ref)
        if len(found) > 1:
            return say.which_job([(job.id, say.what(job)) for job in found])
        job = found[0]
        if job.source in book.MANAGED:
            return say.from_config(say.what(job))
        when = say.when(job, self._next(job), self._now())
        try:
            await self.jobs.delete(job.id)
        except ClawError as exc:
            return say.failed(str(exc))
        return say.cancelled(say.what(job), when)

    def matching(self, ref: str) -> list[Job]:
        """The jobs the words name: the id itself, else every job whose words hold all the telling words of ref;
        finished one-offs only when nothing still to come matches."""
        ref = ref.strip().strip(".!?'\"«»„“”")
        if ref in self.jobs.jobs:
            return [self.jobs.jobs[ref]]
        wanted = _telling(ref)
        if not wanted:
            return []
        hits = [
            job
            for job in self.jobs.jobs.values()
            if job.action.kind != "heartbeat"
            and all(_has(_words(f"{job.id} {job.description} {job.action.text}"), w) for w in wanted)
        ]
        coming = [job for job in hits if job.enabled and self._next(job) is not None]
        return coming or hits

    async def _create(
        self,
        say: Speech,
        schedule: str,
        action: str,
        lead: str,
        description: str,
        request: Request,
        plan: Mapping[str, Any] | None = None,
    ) -> str:
        try:
            job = await self.jobs.create(schedule, action, description=description, owner=request.actor, plan=plan)
        except ClawError as exc:
            return say.failed(str(exc))
        return say.created(lead, say.when(job, self._next(job), self._now()), job.id)

    def _when(self, values: Mapping[str, Any]) -> str | None:
        """The schedule the time words make: repeating ("every day at 7") or once ("tomorrow at 7", "at sunset")."""
        if any(key in values for key in REPEATS):
            return repeating(values)
        return one_off(values, self._now(), self.jobs.place)

    def _speech(self, language: str) -> Speech:
        return Speech(language, self.jobs.place.tz)

    def _over(self, job: Job) -> bool:
        """A one-off that has run: history now, not something scheduled."""
        return job.schedule.once and job.enabled and self.jobs.next_run(job.id) is None

    def _next(self, job: Job) -> datetime | None:
        return self.jobs.next_run(job.id) if job.enabled else None

    def _now(self) -> datetime:
        return self.jobs.clock.now()


def one_off(values: Mapping[str, Any], now: datetime, place: Place) -> str | None:
    """Schedule text for a one-off time the grammar read: "in 10 minutes", "tomorrow at 9", "at 6", "at sunset"."""
    if "job_sun" in values:  # the next sunset (or so long before or after it)
        event = SUNS.get(int(_number(values["job_sun"])))
        if event is None:
            return None
        offset = (_span(values) or 0.0) * (-1 if _number(values.get("job_side", 1)) < 0 else 1)
        next_sun = first_after(parse(sun_schedule(event, offset), place, now=now).trigger, now)
        return f"at: {next_sun.isoformat(timespec='seconds')}" if next_sun is not None else None
    seconds = _span(values)
    if seconds is not None:
        return f"in: {compact(timedelta(seconds=seconds))}" if seconds > 0 else None
    clock = _clock(values)
    if clock is None:
        return None
    moment = next_time(*clock, _day(values.get("job_day")), now, place.tz)
    return f"at: {moment.isoformat(timespec='seconds')}" if moment is not None else None


def repeating(values: Mapping[str, Any]) -> str | None:
    """Schedule text for a repeating time: "every weekday at 6:30", "every day at sunset", "every 15 minutes"."""
    if "job_interval" in values:
        seconds = _number(values["job_interval"]) * _number(values.get("job_unit", 0))
        return f"every: {compact(timedelta(seconds=seconds))}" if seconds > 0 else None
    days = _cron_days(int(_number(values.get("job_every", EVERY_DAY if "job_part" in values else 0))))
    if days is None:
        return None
    if "job_sun" in values:
        event = SUNS.get(int(_number(values["job_sun"])))
        if days != "*" or event is None:
            return None  # sunset is every day; "sunset on weekdays" is beyond what a schedule can say
        offset = _span(values) or 0.0
        sign = -1 if _number(values.get("job_side", 1)) < 0 else 1
        return sun_schedule(event, sign * offset)
    clock = _clock(values)
    if clock is None:
        return None
    if "job_part" in values and "job_half" not in values:  # "every evening at 7": 19:00
        clock = _clock({**values, "job_half": values["job_part"]})
        if clock is None:
            return None
    return weekly(days, clock[0])  # a bare "7" in a repeating schedule means 07:00, as it was said


def _span(values: Mapping[str, Any]) -> float | None:
    if "job_seconds" in values:
        return _number(values["job_seconds"])
    if "job_count" in values and "job_unit" in values:
        return _number(values["job_count"]) * _number(values["job_unit"])
    return None


def _clock(values: Mapping[str, Any]) -> tuple[Any, bool] | None:
    """(time, ambiguous) from the hour, minute and part of day; "halb sieben" comes as the hour 6.5."""
    if "job_hour" not in values:
        return None
    hour = _number(values["job_hour"])
    minute = int(_number(values.get("job_minute", 0))) + round((hour % 1) * 60)
    half = HALVES.get(int(_number(values["job_half"]))) if "job_half" in values else None
    return said_clock(int(hour), minute, half)


def _day(value: Any) -> str:
    """The day word next_time takes: "" (the first such time), "today", "tonight", "tomorrow", "mon".."sun"."""
    if value is None:
        return ""
    number = int(_number(value))
    return DAY_WORDS.get(number) or (DAYS[number] if 0 <= number < len(DAYS) else "never")


def _cron_days(mask: int) -> str | None:
    """A cron day field from a bitmask of weekdays (Monday 1): 127 -> "*", 31 -> "mon-fri"."""
    if not 0 < mask <= EVERY_DAY:
        return None
    named = {EVERY_DAY: "*", WEEKDAYS: "mon-fri", WEEKEND: "sat,sun"}.get(mask)
    return named or ",".join(day for index, day in enumerate(DAYS) if mask & (1 << index))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _wildcard(value: Any, understood: Understood) -> str | None:
    """The owner's words a wildcard took, or None when it took none.

    hassil may end a list value inside a word ("minuto|s revisar el horno" for "minutos revisar el horno"): the
    wildcard's first piece is then the end of that word, not the owner's, and is left out."""
    if not isinstance(value, str):
        return None
    words = value.strip(" ,.!?")
    text = understood.text.lower()
    starts = [m.start() for m in re.finditer(re.escape(words.lower()), text)] if words else []
    if starts and all(i > 0 and text[i - 1].isalnum() and text[i].isalnum() for i in starts):
        words = words.partition(" ")[2]
        words = own_words(words, understood.said) if words and understood.said else words
    words = _ELIDED.sub("", words)  # "d'appeler Maman": the template's "d'", as typed
    return words or None


def _scheduled_text(request: Request) -> bool:
    """A job's own text (and Claw's) never schedules more jobs."""
    return request.principal.kind in ("job", "system")


def _telling(ref: str) -> list[str]:
    """The words of a reference that tell one job from another ("oven" in "the oven reminder")."""
    return [w for w in _words(ref) if w not in _FILLER]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _has(words: list[str], wanted: str) -> bool:
    """wanted among words, or one a longer form of the other ("light" and "lights")."""
    return any(
        w == wanted or (min(len(w), len(wanted)) >= SHORTEST_STEM and (w.startswith(wanted) or wanted.startswith(w)))
        for w in words
    )
