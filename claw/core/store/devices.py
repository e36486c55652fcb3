"""Device rows: the registry's persistence (the IP is a mutable attribute, the id is stable)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils


def all_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    rows = []
    for found in db.query("SELECT * FROM devices ORDER BY room, name"):
        row = dict(found)
        row["aliases"] = tuple(json.loads(row["aliases"]))
        row["info"] = json.loads(row["info"])
        row["state"] = json.loads(row["state"])
        rows.append(row)
    return rows


def save(db: sqlite_utils.Database, record: dict[str, Any]) -> None:
    """Insert or replace one device row."""
    row = dict(record)
    row["aliases"] = json.dumps(list(row.get("aliases", ())))
    row["info"] = json.dumps(row.get("info", {}), default=str)
    row["state"] = json.dumps(row.get("state", {}), default=str)
    for flag in ("available", "controllable", "ignored", "owner_named"):
        row[flag] = int(bool(row.get(flag)))
    db.table("devices").upsert(row, pk="id")


def save_state(db: sqlite_utils.Database, device_id: str, state: dict[str, Any], available: bool, seen: float) -> None:
    db.execute(
        "UPDATE devices SET state = ?, available = ?, last_seen = ? WHERE id = ?",
        [json.dumps(state, default=str), int(available), seen, device_id],
    )


def delete(db: sqlite_utils.Database, device_id: str) -> None:
    """Forget one device row (its hub removed it)."""
    db.execute("DELETE FROM devices WHERE id = ?", [device_id])
