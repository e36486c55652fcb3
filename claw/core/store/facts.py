"""Curated facts with provenance, and the running summary of each conversation."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlite_utils

from claw.core.store.messages import fts_query

HOUSEHOLD = "household"


@dataclass(frozen=True, slots=True)
class Fact:
    id: int
    text: str
    scope: str
    author: str
    source: str
    ts: float


def remember(db: sqlite_utils.Database, text: str, *, scope: str, author: str, source: str) -> Fact:
    """Store a fact once; the same text in the same scope is refreshed, not duplicated."""
    text = " ".join(text.split())
    row = db.execute(
        "SELECT id FROM facts WHERE scope = ? AND lower(text) = lower(?) AND deleted IS NULL", [scope, text]
    ).fetchone()
    now = time.time()
    if row:
        db.execute("UPDATE facts SET ts = ?, author = ?, source = ? WHERE id = ?", [now, author, source, row[0]])
        fact_id = int(row[0])
    else:
        cursor = db.execute(
            "INSERT INTO facts (text, scope, author, source, ts) VALUES (?,?,?,?,?)",
            [text, scope, author, source, now],
        )
        fact_id = int(cursor.lastrowid or 0)
    return Fact(fact_id, text, scope, author, source, now)


def facts(db: sqlite_utils.Database, scopes: list[str], limit: int = 200) -> list[Fact]:
    """Live facts in these scopes, newest first."""
    marks = ",".join("?" for _ in scopes)
    rows = db.execute(
        f"SELECT id, text, scope, author, source, ts FROM facts WHERE deleted IS NULL AND scope IN ({marks})"
        " ORDER BY ts DESC, id DESC LIMIT ?",
        [*scopes, limit],
    ).fetchall()
    return [Fact(*r) for r in rows]


def search(db: sqlite_utils.Database, query: str, scopes: list[str], limit: int = 8) -> list[Fact]:
    marks = ",".join("?" for _ in scopes)
    rows = db.execute(
        "SELECT facts.id, facts.text, facts.scope, facts.author, facts.source, facts.ts FROM facts_fts"
        " JOIN facts ON facts.id = facts_fts.rowid WHERE facts_fts MATCH ? AND facts.deleted IS NULL"
        f" AND facts.scope IN ({marks}) ORDER BY rank LIMIT ?",
        [fts_query(query), *scopes, limit],
    ).fetchall()
    return [Fact(*r) for r in rows]


def forget(db: sqlite_utils.Database, query: str, scopes: list[str]) -> list[Fact]:
    """Soft-delete the facts that best match; returns what was forgotten (kept for audit)."""
    found = search(db, query, scopes, limit=3)
    exact = [f for f in found if query.lower() in f.text.lower()]
    chosen = exact or found[:1]
    now = time.time()
    for f in chosen:
        db.execute("UPDATE facts SET deleted = ? WHERE id = ?", [now, f.id])
    return chosen


def summary(db: sqlite_utils.Database, conversation: str) -> tuple[str, int]:
    row = db.execute("SELECT text, upto_seq FROM summaries WHERE conversation = ?", [conversation]).fetchone()
    return (row[0], int(row[1])) if row else ("", 0)


def set_summary(db: sqlite_utils.Database, conversation: str, text: str, upto_seq: int) -> None:
    db.execute(
        "INSERT INTO summaries (conversation, text, upto_seq, ts) VALUES (?,?,?,?)"
        " ON CONFLICT(conversation) DO UPDATE SET text=excluded.text, upto_seq=excluded.upto_seq, ts=excluded.ts",
        [conversation, text, upto_seq, time.time()],
    )
