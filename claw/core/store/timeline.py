"""The household's timeline: what happened, when, and what caused it, read from the audit log and its neighbours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlite_utils

Kind = Literal["action", "device", "job", "camera"]
LINK_SECONDS = 15.0  # a device change this soon after Claw's own command to it was that command's doing


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing that happened: what, to what, and its cause (who or what, through which path)."""

    id: str  # "a12" (audit), "d7" (device change), "j3" (job run), "c5" (camera event): stable across reads
    ts: float
    kind: Kind
    what: str  # "turn on", "unlock", "on", "locked", "ran", "person"
    target: str  # a device, a job, a camera
    actor: str  # who: "Sam", "the job 'porch at dusk'", "the model for Sam", "" (by hand)
    via: str  # the path: fast-path, llm, routine, schedule, dashboard, heartbeat, system, mcp; "hand"; "camera"
    outcome: str = "ok"
    detail: str = ""
    said: str = ""  # the owner's words that caused it, when it came from a message
    channel: str = ""  # where those words came from: whatsapp, telegram, local


def record_change(db: sqlite_utils.Database, device: str, name: str, what: str, ts: float) -> int:
    """Note that a device changed; link it to the audit row of Claw's command that caused it, if any (0: none)."""
    row = db.execute(
        "SELECT id FROM audit WHERE target = ? AND outcome IN ('ok', 'confirmed') AND ts BETWEEN ? AND ?"
        " ORDER BY id DESC LIMIT 1",
        [name, ts - LINK_SECONDS, ts + 1.0],
    ).fetchone()
    cause = int(row[0]) if row else 0
    db.execute(
        "INSERT INTO device_changes (ts, device, name, what, audit) VALUES (?,?,?,?,?)", [ts, device, name, what, cause]
    )
    return cause


def entries(
    db: sqlite_utils.Database,
    since: float,
    until: float,
    *,
    targets: Sequence[str] = (),
    limit: int = 200,
) -> list[Entry]:
    """What happened between since and until, newest first; `targets`: only these devices (by name)."""
    out: list[Entry] = []
    names = [t.casefold() for t in targets]
    where_target = f" AND lower(audit.target) IN ({','.join('?' for _ in names)})" if names else ""
    audit_rows = db.execute(
        "SELECT audit.id, audit.ts, audit.actor, audit.path, audit.action, audit.target, audit.outcome, audit.detail,"
        " COALESCE(messages.content, ''), COALESCE(messages.channel, ''), audit.run"
        " FROM audit LEFT JOIN messages ON messages.id = audit.message AND audit.message > 0"
        f" WHERE audit.ts BETWEEN ? AND ?{where_target} ORDER BY audit.ts DESC LIMIT ?",
        [since, until, *names, limit],
    ).fetchall()
    for r in audit_rows:
        out.append(Entry(f"a{r[0]}", r[1], "action", r[4], r[5], r[2], r[3], r[6], r[7], r[8][:200], r[9]))
    where_device = f" AND lower(name) IN ({','.join('?' for _ in names)})" if names else ""
    changes = db.execute(
        f"SELECT id, ts, name, what, audit FROM device_changes WHERE ts BETWEEN ? AND ?{where_device} AND audit = 0"
        " ORDER BY ts DESC LIMIT ?",
        [since, until, *names, limit],
    ).fetchall()
    for r in changes:  # Claw's own changes are already in the audit log; these are the ones nobody asked Claw for
        out.append(Entry(f"d{r[0]}", r[1], "device", r[3], r[2], "", "hand"))
    if not names:
        out.extend(_jobs(db, since, until, limit))
        out.extend(_camera(db, since, until, limit))
    out.sort(key=lambda e: (e.ts, e.id), reverse=True)
    return out[:limit]


def _jobs(db: sqlite_utils.Database, since: float, until: float, limit: int) -> list[Entry]:
    rows = db.execute(
        "SELECT job_runs.id, COALESCE(job_runs.started, job_runs.scheduled), job_runs.job_id, job_runs.status,"
        " job_runs.detail, COALESCE(jobs.description, ''), COALESCE(jobs.owner, '')"
        " FROM job_runs LEFT JOIN jobs ON jobs.id = job_runs.job_id"
        " WHERE COALESCE(job_runs.started, job_runs.scheduled) BETWEEN ? AND ? ORDER BY 2 DESC LIMIT ?",
        [since, until, limit],
    ).fetchall()
    return [
        Entry(f"j{r[0]}", r[1], "job", r[3], r[5] or r[2], f"the job '{r[2]}'", "schedule", r[3], r[4][:200], "", "")
        for r in rows
    ]


def _camera(db: sqlite_utils.Database, since: float, until: float, limit: int) -> list[Entry]:
    rows = db.execute(
        "SELECT id, start_ts, camera, what, title FROM events WHERE start_ts BETWEEN ? AND ?"
        " AND what NOT IN ('', 'nothing') ORDER BY start_ts DESC LIMIT ?",
        [since, until, limit],
    ).fetchall()
    # the title is the vision model's words (untrusted): shown as a description, never as a cause of anything
    return [Entry(f"c{r[0]}", r[1], "camera", r[3], r[2], "", "camera", "ok", r[4][:200]) for r in rows]


def job_owner(db: sqlite_utils.Database, run: int) -> dict[str, Any]:
    """The job behind a run: its id, description and who made it (empty when unknown)."""
    row = db.execute(
        "SELECT jobs.id, jobs.description, jobs.owner FROM job_runs JOIN jobs ON jobs.id = job_runs.job_id"
        " WHERE job_runs.id = ?",
        [run],
    ).fetchone()
    return {"id": row[0], "description": row[1], "owner": row[2]} if row else {}


def last_user_message_before(db: sqlite_utils.Database, conversation: str, before_id: int) -> float:
    """When the owner last wrote in this conversation before message `before_id` (0 if never)."""
    row = db.execute(
        "SELECT MAX(ts) FROM messages WHERE conversation = ? AND role = 'user' AND id < ?"
        + (" AND id != ?" if before_id else ""),
        [conversation, before_id or 2**62, *([before_id] if before_id else [])],
    ).fetchone()
    return float(row[0] or 0.0)
