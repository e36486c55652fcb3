"""A job: a schedule in the house's time zone and an action ("routine:", "device:", "say:", "ask:")."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from claw.core.config import SchedulerConfig
from claw.core.errors import ClawError, ConfigError
from claw.core.store.jobs import JobRecord
from claw.jobs import words
from claw.jobs.schedule import Place, Schedule, check, parse

ActionKind = Literal["routine", "device", "say", "ask", "heartbeat"]
ACTION_KINDS: tuple[ActionKind, ...] = get_args(ActionKind)
ACTION_SYNTAX = (
    "an action is one of: 'say: <reminder text>', 'routine: <routine name>', "
    "'device: <command, like turn on the porch light>', 'ask: <something to look into; the owner hears "
    "only what matters>'"
)
HEARTBEAT_ID = "heartbeat"


class ActionError(ClawError):
    """The action text cannot be read; the message shows the forms that work."""


@dataclass(frozen=True, slots=True)
class Action:
    """What a job does when it fires."""

    kind: ActionKind
    text: str = ""

    @property
    def stored(self) -> str:
        return f"{self.kind}: {self.text}" if self.text else self.kind

    def words(self) -> str:
        """ "Remind you: take the bins out", "Run the routine 'good morning'"."""
        return {
            "say": f"Remind you: {self.text}",
            "routine": f"Run the routine '{self.text}'",
            "device": f"Do: {self.text}",
            "ask": f"Look into: {self.text}",
            "heartbeat": "Check the house",
        }[self.kind]


def parse_action(text: str, *, default: ActionKind | None = None, system: bool = False) -> Action:
    """Read "kind: text"; without a known kind, `default` (chat: "say") or ActionError."""
    raw = " ".join(text.strip().split())
    head, colon, rest = raw.partition(":")
    kind = head.strip().lower()
    if kind == "heartbeat" and not rest.strip():
        if not system:
            raise ActionError("the heartbeat is built in; it cannot be scheduled as a job")
        return Action("heartbeat")
    if colon and kind in ACTION_KINDS and kind != "heartbeat":
        body = rest.strip()
        if not body:
            raise ActionError(f"'{text}' says what kind of action but not what to do. Remember: {ACTION_SYNTAX}")
        return Action(kind, body)
    if default is not None and raw:
        return Action(default, raw)
    raise ActionError(f"I can't read the action '{text}': {ACTION_SYNTAX}")


@dataclass(frozen=True, slots=True)
class Job:
    """A parsed, runnable job definition."""

    id: str
    schedule: Schedule
    action: Action
    description: str
    source: str
    owner: str
    enabled: bool
    created: float
    plan: Mapping[str, Any] | None = None  # a device job's command as data (claw.home.plans), once read

    @classmethod
    def from_record(cls, record: JobRecord, place: Place) -> Job:
        """Parse a stored definition; raises ScheduleError or ActionError when it no longer makes sense."""
        created = datetime.fromtimestamp(record.created, UTC)
        schedule = parse(record.schedule, place, now=created, anchor=created, relative=False)
        action = parse_action(record.action, system=record.source == "system")
        return cls(
            record.id,
            schedule,
            action,
            record.description or default_description(action),
            record.source,
            record.owner,
            record.enabled,
            record.created,
            _plan(record.plan),
        )

    def record(self) -> JobRecord:
        return JobRecord(
            self.id,
            self.schedule.text,
            self.action.stored,
            self.description,
            self.source,
            self.owner,
            self.enabled,
            self.created,
            json.dumps(self.plan, sort_keys=True) if self.plan else "",
        )

    def when(self, place: Place) -> str:
        return words.schedule(self.schedule, place.tz)


def _plan(stored: str) -> Mapping[str, Any] | None:
    """A stored plan, or None when there is none yet (or it is unreadable: it is read from the words again)."""
    if not stored:
        return None
    try:
        plan = json.loads(stored)
    except ValueError:
        return None
    return plan if isinstance(plan, dict) else None


def default_description(action: Action) -> str:
    return {
        "say": f"Reminder: {action.text}",
        "routine": f"Routine {action.text}",
        "device": action.text.capitalize(),
        "ask": f"Check: {action.text}",
        "heartbeat": "Heartbeat: check the house",
    }[action.kind][:80]


def new_id(description: str, taken: set[str]) -> str:
    """A short, readable, unique id: "check-the-oven-7f3a"."""
    slug = "-".join(re.findall(r"[a-z0-9]+", description.lower())[:4])[:32] or "job"
    slug = slug.removeprefix("reminder-") or slug
    while True:
        candidate = f"{slug}-{secrets.token_hex(2)}"
        if candidate not in taken:
            return candidate


def check_config(config: SchedulerConfig, source: str) -> None:
    """Refuse a config whose jobs' schedules or actions do not parse, naming the key (read at start-up)."""
    for i, job in enumerate(config.jobs):
        if problem := check(job.schedule):
            raise ConfigError(source, f"scheduler.jobs[{i}].schedule", problem)
        try:
            parse_action(job.action)
        except ActionError as exc:
            raise ConfigError(source, f"scheduler.jobs[{i}].action", str(exc)) from None
