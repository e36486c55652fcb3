"""Carrying out a job's action through the daemon's own surfaces: the fast path, the notify bus, the brain."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import jsonschema

from claw.assistant.repair import clean_untrusted
from claw.assistant.toolbox import Turn
from claw.core.errors import ClawError, ModelUnavailable
from claw.jobs.job import Job

if TYPE_CHECKING:
    from claw.daemon import App

SCHEDULE_TURN = Turn(actor="scheduler", conversation="jobs", channel="schedule", sender="scheduler", path="schedule")

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "notify": {"type": "boolean"},
        "message": {"type": "string"},
    },
    "required": ["notify", "message"],
    "additionalProperties": False,
}
ASK_SYSTEM = (
    "This is a scheduled check, not a chat: nobody is waiting for an answer. Use your tools if you need facts. "
    "Then decide whether the owner should hear about it now. If there is nothing worth saying, decide notify=false. "
    'Answer with JSON only: {"notify": true or false, "message": "what to tell the owner, short"}.'
)


class JobFailed(ClawError):
    """A run did not do what it should; the reason goes into the job's history."""


class JobSkipped(ClawError):
    """A run was deliberately not done (the kill switch); recorded as skipped, not as a failure."""


class Actions:
    """Runs one job's action; returns a line for the history or raises JobFailed with the reason."""

    def __init__(self, app: App, heartbeat: Callable[[], Awaitable[str]]) -> None:
        self.app = app
        self.heartbeat = heartbeat

    async def perform(self, job: Job) -> str:
        action = job.action
        if action.kind in ("routine", "device", "ask") and await self._paused():
            raise JobSkipped("automations are paused (the dashboard's kill switch)")
        if action.kind in ("routine", "device"):
            answer = await self.app.router.act(action.text, SCHEDULE_TURN)
            if answer is None:
                what = "routine" if action.kind == "routine" else "command"
                raise JobFailed(f"nothing understood the {what} '{action.text}' (is it still there?)")
            return answer.text[:300]
        if action.kind == "say":
            await self.app.notify(f"Reminder: {action.text}", kind="job", title=job.description)
            return "told the owner"
        if action.kind == "ask":
            return await self._ask(job)
        return await self.heartbeat()

    async def _paused(self) -> bool:
        from claw.core.store.audit import get_setting
        from claw.home.actions import PAUSED_KEY

        return await self.app.store.run(get_setting, PAUSED_KEY) == "1"

    async def _ask(self, job: Job) -> str:
        try:
            answer = await self.app.brain.fresh(
                job.action.text, system=ASK_SYSTEM, format=DECISION_SCHEMA, turn=SCHEDULE_TURN
            )
        except ModelUnavailable as exc:
            raise JobFailed(str(exc)) from None
        decision = decision_from(answer.content)
        if not decision["notify"]:
            return "nothing to tell"
        message = clean_untrusted(decision["message"]).strip()
        if not message:
            return "nothing to tell (the message was empty)"
        await self.app.notify(message, kind="job", title=job.description)
        return f"told the owner: {message[:200]}"


def decision_from(content: str) -> dict[str, Any]:
    """The model's structured decision, or JobFailed: a run never guesses what an unreadable answer meant."""
    try:
        decision = json.loads(content)
        jsonschema.validate(decision, DECISION_SCHEMA)
    except (ValueError, jsonschema.ValidationError) as exc:
        raise JobFailed(
            f"the model's decision was not valid JSON of the agreed shape ({exc.__class__.__name__})"
        ) from None
    return dict(decision)
