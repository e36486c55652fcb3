"""The audit log: every action, by whom and through which path."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    path: str
    action: str
    target: str = ""
    outcome: str = "ok"
    detail: str = ""
    ts: float = field(default_factory=time.time)
    message: int = 0  # the inbound message it acted for (0: none), so a resumed turn does not act twice
    run: int = 0  # the job run it acted for (0: none), likewise


def write(db: sqlite_utils.Database, entry: AuditEntry) -> None:
    db.table("audit").insert(asdict(entry))


def write_many(db: sqlite_utils.Database, entries: list[AuditEntry]) -> None:
    with db.conn:
        db.table("audit").insert_all([asdict(e) for e in entries])


def recent(db: sqlite_utils.Database, limit: int = 100, actor: str | None = None) -> list[dict[str, Any]]:
    where, params = ("WHERE actor = ?", [actor]) if actor else ("", [])
    return list(db.query(f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?", [*params, limit]))


def get_setting(db: sqlite_utils.Database, key: str, default: str = "") -> str:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else default


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def for_message(db: sqlite_utils.Database, message_id: int) -> list[dict[str, Any]]:
    """What was done for one inbound message, oldest first."""
    return list(db.query("SELECT * FROM audit WHERE message = ? ORDER BY id", [message_id]))


def after(db: sqlite_utils.Database, last: int, limit: int = 200) -> list[dict[str, Any]]:
    """Audit rows newer than id `last`, oldest first."""
    return list(db.query("SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?", [last, limit]))


def last_id(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM audit").fetchone()[0])
