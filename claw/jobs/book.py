"""The job book: definitions from config and chat, in the store; rows that no longer parse are quarantined."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from claw.core.config import Config
from claw.core.store import Store
from claw.core.store import jobs as jobs_db
from claw.core.store.jobs import JobRecord
from claw.jobs.job import HEARTBEAT_ID, Action, ActionError, Job, default_description, parse_action
from claw.jobs.schedule import Place, ScheduleError, parse
from claw.jobs.when import compact

log = logging.getLogger(__name__)
MANAGED = ("config", "system")  # sources whose rows the config file owns


@dataclass(frozen=True, slots=True)
class Quarantined:
    id: str
    reason: str
    quarantine_id: int


def wanted(config: Config, place: Place, now: datetime) -> list[JobRecord]:
    """The config's jobs and the heartbeat as definitions, schedules in canonical form."""
    out: list[JobRecord] = []
    for job in config.scheduler.jobs:
        schedule = parse(job.schedule, place, now=now, relative=False)
        action = parse_action(job.action)
        out.append(
            JobRecord(
                job.id,
                schedule.text,
                action.stored,
                job.description or default_description(action),
                "config",
                "",
                job.enabled,
                now.timestamp(),
            )
        )
    beat = config.heartbeat
    if beat.enabled:
        every = compact(timedelta(minutes=beat.interval_minutes))
        description = default_description(Action("heartbeat"))
        out.append(
            JobRecord(HEARTBEAT_ID, f"every: {every}", "heartbeat", description, "system", "", True, now.timestamp())
        )
    return out


async def load(store: Store, place: Place) -> tuple[dict[str, Job], list[Quarantined]]:
    """Every stored job, parsed; a row that no longer parses moves to quarantine (never dropped or overwritten)."""
    jobs: dict[str, Job] = {}
    bad: list[Quarantined] = []
    for row in await store.run(jobs_db.rows):
        try:
            job = Job.from_record(jobs_db.record(row), place)
        except (ScheduleError, ActionError, ValueError, TypeError, KeyError) as exc:
            reason = str(exc) or type(exc).__name__
            qid = await store.run(jobs_db.quarantine, row, reason)
            log.warning("job %s quarantined (#%d): %s", row.get("id"), qid, reason)
            bad.append(Quarantined(str(row.get("id")), reason, qid))
            continue
        jobs[job.id] = job
    return jobs, bad
