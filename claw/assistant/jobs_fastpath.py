"""Reminders and plain schedules without the model: "remind me in 2 minutes to check the oven" works offline."""

from __future__ import annotations

import re

from claw.assistant.jobs_tools import jobs_command
from claw.assistant.router import Answer
from claw.core.bus import Inbound
from claw.core.errors import ClawError
from claw.core.request import Request
from claw.jobs.agenda import Jobs
from claw.jobs.when import natural_schedule

_REMIND = re.compile(
    r"^(?:(?:please|hey claw|claw)[, ]+)?(?:can you |could you |would you )?remind me\s+(?P<rest>.+?)[.!?]*$", re.I
)
_LINK = re.compile(r"\s(?:to|that|about)\s", re.I)
_WHEN_START = re.compile(r"\s(?=(?:in|at|on|tomorrow|tonight|today|next|every|each|daily)\b)", re.I)
_ROUTINE = re.compile(
    r"^(?P<when>(?:every|each)\s+.+?)\s*,?\s+(?:run|start|do)\s+(?:the\s+|my\s+)?(?P<name>.+?)(?:\s+routine)?[.!]*$"
    r"|^(?:run|start)\s+(?:the\s+|my\s+)?(?P<name2>.+?)(?:\s+routine)?\s+(?P<when2>(?:every|each|daily)\b.+?)[.!]*$",
    re.I,
)
_DEVICE = re.compile(
    r"^(?P<what>(?:turn|switch|close|open|lock|dim|start|stop|play|pause)\b.+?)\s+"
    r"(?P<when>(?:at\s+)?(?:[\w.-]+\s+\w+\s+(?:before|after)\s+)?(?:sunset|sunrise|dusk|dawn)\b.*"
    r"|(?:every|each|daily)\b.+?)[.!]*$",
    re.I,
)
_LIST = re.compile(
    r"^(?:what(?:'s| is| are)\s+(?:scheduled|my reminders|my jobs)|(?:list|show)\s+(?:my\s+|the\s+)?"
    r"(?:jobs|reminders|schedules?|scheduled jobs))\s*\??$",
    re.I,
)
_RECURRING = ("cron:", "every:", "sunset", "sunrise")


class Reminders:
    """Fast path: reminders, "every weekday at 6:30 run good morning", "turn the porch light on at sunset every day"."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs

    async def answer(self, inbound: Inbound, turn: Request) -> Answer | None:
        if turn.principal.kind in ("job", "system"):  # a job's own text never schedules more jobs
            return None
        text = " ".join(inbound.text.split())
        if _LIST.match(text):
            return Answer(await jobs_command(self.jobs, "/jobs"))
        found = self._understand(text)
        if found is None:
            return None
        schedule, action, lead = found
        try:
            job = await self.jobs.create(schedule, action, owner=turn.actor)
        except ClawError as exc:
            return Answer(f"I couldn't schedule that: {exc}")
        return Answer(f"{lead}. {self.jobs.confirm(job)}. (Job {job.id}.)")

    def _understand(self, text: str) -> tuple[str, str, str] | None:
        """(schedule, action, what I'll say I do) or None when this is not a scheduling request."""
        remind = _REMIND.match(text)
        if remind is not None:
            split = self._reminder(remind["rest"])
            if split is None:
                return None
            schedule, what = split
            return schedule, f"say: {what}", f"I'll remind you: {what}"
        routine = _ROUTINE.match(text)
        if routine is not None:
            when = routine["when"] or routine["when2"]
            name = (routine["name"] or routine["name2"]).strip()
            every = self._recurring(when)
            return (every, f"routine: {name}", f"I'll run '{name}'") if every else None
        device = _DEVICE.match(text)
        if device is not None:
            repeat = self._recurring(device["when"])
            what = device["what"].strip()
            return (repeat, f"device: {what}", f"I'll {what[0].lower() + what[1:]}") if repeat else None
        return None

    def _reminder(self, rest: str) -> tuple[str, str] | None:
        """ "in 2 minutes to check the oven" or "to check the oven in 2 minutes" -> (schedule, what)."""
        now, tz = self.jobs.clock.now(), self.jobs.place.tz
        if re.match(r"(?:to|that|about)\s", rest, re.I):
            body = re.sub(r"^(?:to|that|about)\s+", "", rest, flags=re.I)
            for cut in _WHEN_START.finditer(body):
                schedule = natural_schedule(body[cut.end() :], now, tz)
                what = body[: cut.start()].strip(" ,")
                if schedule and what:
                    return schedule, what
            return None
        for link in _LINK.finditer(rest):
            schedule = natural_schedule(rest[: link.start()], now, tz)
            what = rest[link.end() :].strip(" ,")
            if schedule and what:
                return schedule, what
        return None

    def _recurring(self, when: str) -> str | None:
        """Schedule text for a repeating phrase; one-off times are left to the model, which can ask."""
        schedule = natural_schedule(when, self.jobs.clock.now(), self.jobs.place.tz)
        if schedule is None or not schedule.startswith(_RECURRING):
            return None
        if schedule.startswith(("sunset", "sunrise")) and not re.search(r"\b(every|each|daily)\b", when, re.I):
            return None
        return schedule
