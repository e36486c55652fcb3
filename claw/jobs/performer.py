"""Carrying out a job's action on the domain: routines and device plans directly, reminders, model checks."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jsonschema

from claw.core import principals
from claw.core.bus import OutKind
from claw.core.errors import ClawError, ModelUnavailable
from claw.core.request import Request, unattended
from claw.core.safety import KillSwitch
from claw.core.store import Store
from claw.core.store import jobs as jobs_db
from claw.core.untrusted import clean_untrusted
from claw.jobs.job import Job

log = logging.getLogger(__name__)

# (text, kind, title, key) to every owner; a key names one occurrence, so a resumed run never tells twice
Notify = Callable[[str, OutKind, str, str], Awaitable[None]]
Plan = Mapping[str, Any]
# A fresh, history-less model run: (instruction, system, JSON format or None, request) -> the answer's text.
Think = Callable[[str, str, Mapping[str, Any] | None, Request], Awaitable[str]]


def scheduled(run: int = 0, job: Job | None = None) -> Request:
    """The request a job runs under: the job acting for its creator (Claw's own checks without one); nobody is
    typing, so codes go to the owners, naming the job; `run` names the job run."""
    name = (job.description if len(job.description) <= 40 else job.id) if job is not None else ""
    who = principals.job(name, job.owner) if job is not None else principals.system("scheduler")
    return unattended(who, "schedule", run=run)


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

    def __init__(
        self,
        *,
        store: Store,
        killswitch: KillSwitch,
        notify: Notify,
        think: Think,
        run_routine: Callable[[str, Request], Awaitable[str]],
        interpret: Callable[[str], Awaitable[Plan | None]],
        run_plan: Callable[[Plan, Request], Awaitable[str]],
        heartbeat: Callable[[], Awaitable[str]],
        on_plan: Callable[[Job, Plan], None] = lambda job, plan: None,
    ) -> None:
        self.store, self.killswitch, self.notify, self.think = store, killswitch, notify, think
        self.run_routine, self.interpret, self.run_plan = run_routine, interpret, run_plan
        self.heartbeat, self.on_plan = heartbeat, on_plan

    async def perform(self, job: Job, key: str = "", run: int = 0) -> str:
        """Run the job's action once; `key` names the occurrence (what it tells the owners is keyed by it),
        `run` its row (what it does is audited under it)."""
        action = job.action
        if action.kind in ("routine", "device", "ask") and await self.killswitch.paused():
            raise JobSkipped("automations are paused (the dashboard's kill switch)")
        if action.kind == "routine":
            try:
                return (await self.run_routine(action.text, scheduled(run, job)))[:300]
            except ClawError as exc:
                raise JobFailed(str(exc)) from None
        if action.kind == "device":
            plan = job.plan or await self.plan(job)
            return (await self.run_plan(plan, scheduled(run, job)))[:300]
        if action.kind == "say":
            await self.notify(f"Reminder: {action.text}", "job", job.description, key)
            return "told the owner"
        if action.kind == "ask":
            return await self._ask(job, key, run)
        return await self.heartbeat()

    async def plan(self, job: Job) -> Plan:
        """Read a device job's words once into a plan and keep it (rows from before plans existed)."""
        plan = await self.interpret(job.action.text)
        if plan is None:
            raise JobFailed(f"nothing understood the command '{job.action.text}' (is the device still there?)")
        await self.store.run(jobs_db.set_plan, job.id, json.dumps(plan, sort_keys=True))
        self.on_plan(job, plan)
        log.info("job %s: its command is kept as data now", job.id)
        return plan

    async def _ask(self, job: Job, key: str, run: int) -> str:
        try:
            content = await self.think(job.action.text, ASK_SYSTEM, DECISION_SCHEMA, scheduled(run, job))
        except ModelUnavailable as exc:
            raise JobFailed(str(exc)) from None
        decision = decision_from(content)
        if not decision["notify"]:
            return "nothing to tell"
        message = clean_untrusted(str(decision["message"])).strip()
        if not message:
            return "nothing to tell (the message was empty)"
        await self.notify(message, "job", job.description, key)
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
