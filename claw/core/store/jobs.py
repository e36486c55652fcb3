"""Scheduled jobs: definitions, runtime state kept apart from them, the history of runs, and quarantine."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job's definition as stored: what the owner (or the config) asked for."""

    id: str
    schedule: str
    action: str
    description: str = ""
    source: str = "chat"  # config, chat, dashboard, system
    owner: str = ""
    enabled: bool = True
    created: float = 0.0
    plan: str = ""  # a device command as JSON, read from `action` once (see claw.home.plans)


@dataclass(frozen=True, slots=True)
class JobState:
    """Runtime state: the next occurrence not yet accounted for, the last outcome, the failure streak."""

    id: str
    next_run: float | None = None
    last_run: float | None = None
    last_status: str = ""
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Run:
    """One occurrence and what became of it: ran, late, failed, timeout, skipped, running, interrupted."""

    job_id: str
    scheduled: float
    status: str
    started: float | None = None
    ended: float | None = None
    detail: str = ""
    id: int = 0


def rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every job row as stored, unparsed: the caller decides whether it still makes sense."""
    return list(db.query("SELECT * FROM jobs ORDER BY created, id"))


def record(row: dict[str, Any]) -> JobRecord:
    """A stored row as a JobRecord; raises ValueError/TypeError when a column holds nonsense."""
    for key in ("id", "schedule", "action"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise ValueError(f"{key} is empty or not text")
    return JobRecord(
        id=row["id"],
        schedule=row["schedule"],
        action=row["action"],
        description=str(row.get("description") or ""),
        source=str(row.get("source") or "chat"),
        owner=str(row.get("owner") or ""),
        enabled=bool(int(row.get("enabled", 1))),
        created=float(row["created"]),
        plan=str(row.get("plan") or ""),
    )


def save(db: sqlite_utils.Database, job: JobRecord, state: JobState | None = None) -> None:
    """Insert or replace a definition (and, when given, its state) in one transaction."""
    with db.conn:
        db.conn.execute("BEGIN")
        db.execute(
            "INSERT INTO jobs (id, schedule, action, description, source, owner, enabled, created, plan)"
            " VALUES (:id, :schedule, :action, :description, :source, :owner, :enabled, :created, :plan)"
            " ON CONFLICT(id) DO UPDATE SET schedule=excluded.schedule, action=excluded.action,"
            " description=excluded.description, source=excluded.source, owner=excluded.owner,"
            " enabled=excluded.enabled, created=excluded.created, plan=excluded.plan",
            {**asdict(job), "enabled": int(job.enabled)},
        )
        if state is not None:
            _put_state(db, state)


def set_plan(db: sqlite_utils.Database, job_id: str, plan: str) -> None:
    """Keep a device job's command as data, so its words are never read again."""
    db.execute("UPDATE jobs SET plan = ? WHERE id = ?", [plan, job_id])


def set_enabled(db: sqlite_utils.Database, job_id: str, enabled: bool, state: JobState) -> None:
    with db.conn:
        db.conn.execute("BEGIN")
        db.execute("UPDATE jobs SET enabled = ? WHERE id = ?", [int(enabled), job_id])
        _put_state(db, state)


def delete(db: sqlite_utils.Database, job_id: str) -> None:
    """Remove a job, its state and its history."""
    with db.conn:
        db.conn.execute("BEGIN")
        for table in ("jobs", "job_state"):
            db.execute(f"DELETE FROM {table} WHERE id = ?", [job_id])
        db.execute("DELETE FROM job_runs WHERE job_id = ?", [job_id])


def quarantine(db: sqlite_utils.Database, row: dict[str, Any], reason: str) -> int:
    """Move a job row that no longer makes sense to the quarantine table (with its state); its history stays."""
    with db.conn:
        db.conn.execute("BEGIN")
        state = db.execute("SELECT * FROM job_state WHERE id = ?", [row.get("id")]).fetchone()
        payload = {"table": "jobs", "row": row, "state": list(state) if state else None}
        cursor = db.execute(
            "INSERT INTO quarantine (kind, payload, reason, ts) VALUES (?,?,?,?)",
            ["job", json.dumps(payload, default=str), reason, time.time()],
        )
        db.execute("DELETE FROM jobs WHERE id = ?", [row.get("id")])
        db.execute("DELETE FROM job_state WHERE id = ?", [row.get("id")])
    return int(cursor.lastrowid or 0)


def quarantined(db: sqlite_utils.Database, kind: str = "job") -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM quarantine WHERE kind = ? ORDER BY id", [kind]))


def states(db: sqlite_utils.Database) -> dict[str, JobState]:
    out: dict[str, JobState] = {}
    for r in db.query("SELECT * FROM job_state"):
        out[r["id"]] = JobState(r["id"], r["next_run"], r["last_run"], r["last_status"] or "", int(r["failures"] or 0))
    return out


def put_state(db: sqlite_utils.Database, state: JobState) -> None:
    _put_state(db, state)


def put_states(db: sqlite_utils.Database, states: Iterable[JobState]) -> None:
    with db.conn:
        db.conn.execute("BEGIN")
        for state in states:
            _put_state(db, state)


def account(db: sqlite_utils.Database, state: JobState, runs: Iterable[Run]) -> list[int]:
    """Record occurrences and move the job's state on, atomically: an occurrence is never accounted twice."""
    ids: list[int] = []
    with db.conn:
        db.conn.execute("BEGIN")
        for run in runs:
            cursor = db.execute(
                "INSERT INTO job_runs (job_id, scheduled, started, ended, status, detail) VALUES (?,?,?,?,?,?)",
                [run.job_id, run.scheduled, run.started, run.ended, run.status, run.detail],
            )
            ids.append(int(cursor.lastrowid or 0))
        _put_state(db, state)
    return ids


def finish(
    db: sqlite_utils.Database, run_id: int, status: str, started: float, ended: float, detail: str, state: JobState
) -> None:
    """Close a run with its outcome (and when its action really started) and store the job's new state."""
    with db.conn:
        db.conn.execute("BEGIN")
        db.execute(
            "UPDATE job_runs SET status = ?, started = ?, ended = ?, detail = ? WHERE id = ?",
            [status, started, ended, detail, run_id],
        )
        _put_state(db, state)


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A run still marked running: the daemon stopped during it."""

    id: int
    job_id: str
    scheduled: float
    acted: bool  # something was audited under it: running it again would act twice


def unfinished(db: sqlite_utils.Database) -> list[Unfinished]:
    rows = db.execute(
        "SELECT r.id, r.job_id, r.scheduled, EXISTS (SELECT 1 FROM audit a WHERE a.run = r.id) FROM job_runs r"
        " WHERE r.status = 'running' ORDER BY r.id"
    ).fetchall()
    return [Unfinished(int(r[0]), str(r[1]), float(r[2]), bool(r[3])) for r in rows]


def interrupt(db: sqlite_utils.Database, run_ids: Sequence[int], now: float) -> int:
    """Runs a stop interrupted and that will not run again: say so (the others stay running until rerun)."""
    marks = ",".join("?" for _ in run_ids)
    if not run_ids:
        return 0
    cursor = db.execute(
        "UPDATE job_runs SET status = 'interrupted', ended = ?, detail = 'the daemon stopped during this run'"
        f" WHERE status = 'running' AND id IN ({marks})",
        [now, *run_ids],
    )
    return int(cursor.rowcount or 0)


def history(db: sqlite_utils.Database, per_job: int = 10) -> dict[str, list[Run]]:
    """The newest runs of every job, newest first."""
    out: dict[str, list[Run]] = {}
    query = (
        "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY id DESC) AS n FROM job_runs)"
        " WHERE n <= ? ORDER BY job_id, id DESC"
    )
    for r in db.query(query, [per_job]):
        out.setdefault(r["job_id"], []).append(_run(r))
    return out


def runs(db: sqlite_utils.Database, job_id: str, limit: int = 100) -> list[Run]:
    """A job's runs, oldest first."""
    found = db.query("SELECT * FROM job_runs WHERE job_id = ? ORDER BY id DESC LIMIT ?", [job_id, limit])
    return [_run(r) for r in found][::-1]


def prune(db: sqlite_utils.Database, keep: int) -> int:
    """Keep the newest `keep` runs of each job; returns how many went."""
    cursor = db.execute(
        "DELETE FROM job_runs WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER"
        " (PARTITION BY job_id ORDER BY id DESC) AS n FROM job_runs) WHERE n > ?)",
        [keep],
    )
    return int(cursor.rowcount or 0)


def _run(r: dict[str, Any]) -> Run:
    return Run(r["job_id"], r["scheduled"], r["status"], r["started"], r["ended"], r["detail"] or "", r["id"])


def _put_state(db: sqlite_utils.Database, state: JobState) -> None:
    db.execute(
        "INSERT INTO job_state (id, next_run, last_run, last_status, failures) VALUES (?,?,?,?,?)"
        " ON CONFLICT(id) DO UPDATE SET next_run=excluded.next_run, last_run=excluded.last_run,"
        " last_status=excluded.last_status, failures=excluded.failures",
        [state.id, state.next_run, state.last_run, state.last_status, state.failures],
    )


def sync(db: sqlite_utils.Database, records: Sequence[JobRecord], managed: Collection[str]) -> list[str]:
    """Upsert config/system jobs; a changed definition starts afresh, an unchanged one keeps a pause; returns notes.

    `enabled = false` in the config pauses a job; `true` keeps whatever the owner last said (pause/resume).
    Config jobs no longer in the file are removed. A chat job with a config job's id is replaced by it.
    """
    notes: list[str] = []
    existing = {row["id"]: row for row in rows(db)}
    for rec in records:
        row = existing.get(rec.id)
        if row is None:
            save(db, rec)
            continue
        same = (row["schedule"], row["action"], row["source"]) == (rec.schedule, rec.action, rec.source)
        if same:
            enabled = bool(row["enabled"]) and rec.enabled
            db.execute(
                "UPDATE jobs SET description = ?, enabled = ? WHERE id = ?", [rec.description, int(enabled), rec.id]
            )
            continue
        if row["source"] not in managed:
            notes.append(f"the config's job '{rec.id}' replaced the {row['source']} job of the same id")
        save(db, rec)
        db.execute("DELETE FROM job_state WHERE id = ?", [rec.id])  # a new definition has no past
    keep = {rec.id for rec in records}
    for job_id, row in existing.items():
        if row["source"] in managed and job_id not in keep:
            delete(db, job_id)
            notes.append(f"job '{job_id}' is no longer in the config; removed")
    return notes
