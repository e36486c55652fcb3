"""The job book: definitions from config and chat, in the store; rows that no longer parse are quarantined."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

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


def sync(db: sqlite_utils.Database, records: Sequence[JobRecord]) -> list[str]:
    """Upsert config/system jobs; a changed definition starts afresh, an unchanged one keeps a pause; returns notes.

    `enabled = false` in the config pauses a job; `true` keeps whatever the owner last said (pause/resume).
    Config jobs no longer in the file are removed. A chat job with a config job's id is replaced by it.
    """
    notes: list[str] = []
    existing = {row["id"]: row for row in jobs_db.rows(db)}
    for rec in records:
        row = existing.get(rec.id)
        if row is None:
            jobs_db.save(db, rec)
            continue
        same = (row["schedule"], row["action"], row["source"]) == (rec.schedule, rec.action, rec.source)
        if same:
            enabled = bool(row["enabled"]) and rec.enabled
            db.execute(
                "UPDATE jobs SET description = ?, enabled = ? WHERE id = ?", [rec.description, int(enabled), rec.id]
            )
            continue
        if row["source"] not in MANAGED:
            notes.append(f"the config's job '{rec.id}' replaced the {row['source']} job of the same id")
        jobs_db.save(db, rec)
        db.execute("DELETE FROM job_state WHERE id = ?", [rec.id])  # a new definition has no past
    keep = {rec.id for rec in records}
    for job_id, row in existing.items():
        if row["source"] in MANAGED and job_id not in keep:
            jobs_db.delete(db, job_id)
            notes.append(f"job '{job_id}' is no longer in the config; removed")
    return notes


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
