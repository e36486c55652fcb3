"""The job tools for the model (small schemas, plain descriptions) and the /jobs command."""

from __future__ import annotations

from typing import Any

from claw.assistant.toolbox import Tool, Tools, current_request
from claw.core.errors import ClawError
from claw.jobs.agenda import Jobs

_REF = {
    "type": "object",
    "properties": {"job": {"type": "string", "description": "The job's id (from list_jobs) or a word of its name."}},
    "required": ["job"],
}
_CREATE = {
    "type": "object",
    "properties": {
        "schedule": {
            "type": "string",
            "description": (
                "When. Examples: 'in: 2m', 'at: 2026-12-24 18:00', 'daily: 07:00', 'weekdays: 06:30', "
                "'cron: 30 6 * * mon-fri', 'every: 15m', 'sunset: -30m', 'sunrise: +10m'."
            ),
        },
        "action": {
            "type": "string",
            "description": (
                "What. 'say: <reminder text>', 'routine: <routine name>', 'device: <command, like turn on the "
                "porch light>', or 'ask: <something to check; the owner hears only what matters>'."
            ),
        },
        "description": {"type": "string", "description": "A short name for the job (optional)."},
    },
    "required": ["schedule", "action"],
}


def add_job_tools(tools: Tools, jobs: Jobs) -> None:
    """Register create_job, list_jobs, pause_job, resume_job and delete_job (group "jobs")."""

    async def create_job(schedule: str, action: str, description: str = "") -> dict[str, Any]:
        job = await jobs.create(schedule, action, description=description, owner=current_request().actor)
        said = jobs.confirm(job)
        return {
            "id": job.id,
            "what": job.action.words(),
            "when": said,
            "tell_the_owner": f"{job.action.words()}. {said}.",
        }

    async def list_jobs() -> dict[str, Any]:
        return {"jobs": jobs.listing()}

    async def pause_job(job: str) -> dict[str, str]:
        found = await jobs.pause(job)
        return {"id": found.id, "status": "paused", "tell_the_owner": f"Paused '{found.description}'."}

    async def resume_job(job: str) -> dict[str, str]:
        found = await jobs.resume(job)
        return {
            "id": found.id,
            "status": "scheduled",
            "tell_the_owner": f"Resumed '{found.description}': {jobs.confirm(found)}.",
        }

    async def delete_job(job: str) -> dict[str, str]:
        found = await jobs.delete(job)
        return {"id": found.id, "status": "deleted", "tell_the_owner": f"Deleted '{found.description}'."}

    tools.add(
        Tool(
            "create_job",
            "Schedule something for later or on repeat: a reminder, a routine, a device command, or a check. "
            "Repeat the returned 'when' to the owner.",
            _CREATE,
            create_job,
            effect="manages",
        )
    )
    tools.add(
        Tool(
            "list_jobs",
            "List the scheduled jobs and reminders with their next run.",
            {"type": "object", "properties": {}},
            list_jobs,
        )
    )
    tools.add(Tool("pause_job", "Pause a scheduled job until resumed.", _REF, pause_job, effect="manages"))
    tools.add(Tool("resume_job", "Resume a paused job.", _REF, resume_job, effect="manages"))
    tools.add(Tool("delete_job", "Delete a scheduled job or reminder for good.", _REF, delete_job, effect="manages"))


async def jobs_command(jobs: Jobs, text: str) -> str:
    """/jobs, /jobs pause ID, /jobs resume ID, /jobs delete ID."""
    words = text.split(maxsplit=2)
    verb = words[1].lower() if len(words) > 1 else "list"
    ref = words[2] if len(words) > 2 else ""
    try:
        if verb in ("pause", "resume", "delete") and ref:
            job = await getattr(jobs, verb)(ref)
            done = {"pause": "Paused", "resume": "Resumed", "delete": "Deleted"}[verb]
            return f"{done} {job.id}: {job.description}."
    except ClawError as exc:
        return str(exc)
    if verb != "list":
        return "Use /jobs, /jobs pause ID, /jobs resume ID or /jobs delete ID."
    listed = jobs.listing()
    if not listed:
        return "No scheduled jobs."
    lines = [
        f"{j['id']}: {j['what']} — {j['when']}" + (f" (next {j['next']})" if j["next"] else f" [{j['status']}]")
        for j in listed
    ]
    return "\n".join(lines)
