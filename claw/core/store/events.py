"""The camera event history: rows of the `events` table, and retention by age and total size.

Every function takes the sqlite_utils handle first, to run on the store's thread (`await store.run(fn, ...)`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored camera event; `snapshot` and `clip` (the frame strip) are file paths."""

    id: int
    camera: str
    start_ts: float
    end_ts: float | None
    snapshot: str
    clip: str
    title: str
    description: str
    what: str
    alert: bool  # the vision model (or the fallback) found it worth telling
    alerted: bool  # it was sent to the owners
    score: float
    zones: tuple[str, ...]
    bytes: int
    due: bool = False  # its alert was decided but a stop came before it was queued

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventRecord:
        try:
            zones = tuple(str(z) for z in json.loads(row.get("zones") or "[]"))
        except ValueError:
            zones = ()
        return cls(
            id=int(row["id"]),
            camera=str(row["camera"]),
            start_ts=float(row["start_ts"]),
            end_ts=None if row.get("end_ts") is None else float(row["end_ts"]),
            snapshot=str(row.get("snapshot") or ""),
            clip=str(row.get("clip") or ""),
            title=str(row.get("title") or ""),
            description=str(row.get("description") or ""),
            what=str(row.get("what") or ""),
            alert=bool(row.get("alert")),
            alerted=bool(row.get("alerted")),
            due=row.get("alerted") == 2,
            score=float(row.get("score") or 0.0),
            zones=zones,
            bytes=int(row.get("bytes") or 0),
        )

    @property
    def notable(self) -> bool:
        """Worth telling: the model said so and it is not 'nothing'."""
        return self.alert and self.what != "nothing"


def insert(db: sqlite_utils.Database, camera: str, start_ts: float, **fields: Any) -> int:
    """Add an event; returns its id."""
    if "zones" in fields:
        fields["zones"] = json.dumps(sorted(fields["zones"]))
    table = db.table("events")
    table.insert({"camera": camera, "start_ts": start_ts, **fields})
    return int(str(table.last_pk))


def update(db: sqlite_utils.Database, event_id: int, **fields: Any) -> None:
    if "zones" in fields:
        fields["zones"] = json.dumps(sorted(fields["zones"]))
    if "alert" in fields:
        fields["alert"] = int(bool(fields["alert"]))
    if "alerted" in fields:
        fields["alerted"] = int(fields["alerted"])  # 0 not sent, 1 queued, 2 decided but not yet queued
    db.table("events").update(event_id, fields)


def get(db: sqlite_utils.Database, event_id: int) -> EventRecord | None:
    rows = list(db.query("SELECT * FROM events WHERE id = ?", [event_id]))
    return EventRecord.from_row(rows[0]) if rows else None


def recent(
    db: sqlite_utils.Database,
    *,
    camera: str | None = None,
    since: float | None = None,
    until: float | None = None,
    what: Sequence[str] = (),
    notable: bool | None = None,
    limit: int = 50,
) -> list[EventRecord]:
    """Events newest first, filtered by camera, time, kinds and whether they were worth telling."""
    where, params = ["title != ''"], list[Any]()  # an event still being described has no title yet
    if camera is not None:
        where.append("camera = ?")
        params.append(camera)
    if since is not None:
        where.append("start_ts >= ?")
        params.append(since)
    if until is not None:
        where.append("start_ts <= ?")
        params.append(until)
    if what:
        where.append(f"what IN ({', '.join('?' for _ in what)})")
        params.extend(what)
    if notable is not None:
        where.append("(alert = 1 AND what != 'nothing')" if notable else "NOT (alert = 1 AND what != 'nothing')")
    sql = f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY start_ts DESC, id DESC LIMIT ?"
    return [EventRecord.from_row(r) for r in db.query(sql, [*params, limit])]


def unfinished(db: sqlite_utils.Database, since: float) -> list[EventRecord]:
    """Events since `since` a stop left half done: an alert decided but not queued (alerted = 2), or never
    described (no title yet), oldest first."""
    rows = db.query(
        "SELECT * FROM events WHERE start_ts >= ? AND (alerted = 2 OR (title = '' AND description = ''))"
        " ORDER BY start_ts, id",
        [since],
    )
    return [EventRecord.from_row(r) for r in rows]


def close_dangling(db: sqlite_utils.Database) -> int:
    """Events left open by a stop mid-event end where they began; returns how many."""
    cursor = db.execute("UPDATE events SET end_ts = start_ts WHERE end_ts IS NULL")
    return int(cursor.rowcount)


def expired(db: sqlite_utils.Database, before: float, max_bytes: int) -> list[EventRecord]:
    """Events to delete: older than `before`, then the oldest until the rest fit in `max_bytes`."""
    rows = [EventRecord.from_row(r) for r in db.query("SELECT * FROM events ORDER BY start_ts, id")]
    old = [r for r in rows if r.start_ts < before]
    kept = rows[len(old) :]
    total = sum(r.bytes for r in kept)
    for record in kept:
        if total <= max_bytes:
            break
        old.append(record)
        total -= record.bytes
    return old


def delete(db: sqlite_utils.Database, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 500):  # SQLite limits the number of parameters
        chunk = list(ids[start : start + 500])
        db.execute(f"DELETE FROM events WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)
