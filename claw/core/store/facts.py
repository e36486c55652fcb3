"""Curated facts with provenance and a lifecycle, their vectors, and the running summary of each conversation."""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlite_utils

from claw.core.store.messages import Message
from claw.core.store.messages import _row_to_message as row_to_message
from claw.core.store.terms import match_query, terms

HOUSEHOLD = "household"
FactKind = Literal["fact", "preference"]
_COLUMNS = (
    "facts.id, facts.text, facts.scope, facts.author, facts.source, facts.ts, facts.message, facts.valid_from,"
    " facts.superseded_by, facts.kind, facts.deleted"
)
_CURRENT = "facts.deleted IS NULL AND facts.superseded_by IS NULL"
COARSE = 300  # candidates the sign-bit pass hands to the exact cosine pass (all scopes, before filtering)


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing Claw believes: what, whose (scope), who said it, through what, in which message, since when."""

    id: int
    text: str
    scope: str
    author: str
    source: str
    ts: float
    message: int = 0  # the stored message it was said in (0: none, e.g. typed on the dashboard)
    valid_from: float = 0.0
    superseded_by: int | None = None  # the fact that replaced it; None while it holds
    kind: FactKind = "fact"  # "preference": a standing wish of the owner's, always in the prompt
    deleted: float | None = None

    @property
    def current(self) -> bool:
        return self.deleted is None and self.superseded_by is None


def _fact(row: Sequence[Any]) -> Fact:
    kind: FactKind = "preference" if row[9] == "preference" else "fact"
    return Fact(
        int(row[0]), row[1], row[2], row[3], row[4], float(row[5]), int(row[6]), float(row[7]), row[8], kind, row[10]
    )


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" for _ in values)


def remember(
    db: sqlite_utils.Database,
    text: str,
    *,
    scope: str,
    author: str,
    source: str,
    message: int = 0,
    kind: FactKind = "fact",
    replaces: int | None = None,
    ts: float | None = None,
) -> Fact:
    """Store a fact once (the same text in the same scope is refreshed); `replaces`: the fact it supersedes."""
    text = " ".join(text.split())
    now = time.time() if ts is None else ts
    with db.conn:
        row = db.execute(
            f"SELECT id FROM facts WHERE scope = ? AND lower(text) = lower(?) AND {_CURRENT}", [scope, text]
        ).fetchone()
        if row:
            fact_id = int(row[0])
            db.execute(
                "UPDATE facts SET ts = ?, author = ?, source = ?, message = ?, kind = ? WHERE id = ?",
                [now, author, source, message, kind, fact_id],
            )
        else:
            cursor = db.execute(
                "INSERT INTO facts (text, scope, author, source, ts, message, valid_from, kind, terms)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                [text, scope, author, source, now, message, now, kind, terms(text)],
            )
            fact_id = int(cursor.lastrowid or 0)
        if replaces is not None and replaces != fact_id:
            db.execute("UPDATE facts SET superseded_by = ? WHERE id = ? AND superseded_by IS NULL", [fact_id, replaces])
    found = get(db, fact_id)
    assert found is not None
    return found


def get(db: sqlite_utils.Database, fact_id: int) -> Fact | None:
    """One fact by id, whatever its state (current, superseded or forgotten)."""
    row = db.execute(f"SELECT {_COLUMNS} FROM facts WHERE id = ?", [fact_id]).fetchone()
    return _fact(row) if row else None


def facts(
    db: sqlite_utils.Database, scopes: list[str], limit: int = 200, *, kind: FactKind | None = None
) -> list[Fact]:
    """Current facts in these scopes, newest first (superseded and forgotten ones are history, not belief)."""
    where = f"{_CURRENT} AND facts.scope IN ({_marks(scopes)})"
    params: list[Any] = [*scopes]
    if kind is not None:
        where += " AND facts.kind = ?"
        params.append(kind)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM facts WHERE {where} ORDER BY facts.ts DESC, facts.id DESC LIMIT ?", [*params, limit]
    ).fetchall()
    return [_fact(r) for r in rows]


def by_ids(db: sqlite_utils.Database, ids: Sequence[int]) -> dict[int, Fact]:
    if not ids:
        return {}
    rows = db.execute(f"SELECT {_COLUMNS} FROM facts WHERE id IN ({_marks(ids)})", list(ids)).fetchall()
    return {int(r[0]): _fact(r) for r in rows}


def history(db: sqlite_utils.Database, fact_id: int) -> list[Fact]:
    """The fact and the ones it replaced, newest first: how a belief changed."""
    chain: list[Fact] = []
    current = get(db, fact_id)
    while current is not None and len(chain) < 50:
        chain.append(current)
        row = db.execute("SELECT id FROM facts WHERE superseded_by = ?", [current.id]).fetchone()
        current = get(db, int(row[0])) if row else None
    return chain


def keyword_ranks(db: sqlite_utils.Database, query: str, scopes: list[str], limit: int = 50) -> list[int]:
    """Current facts whose words match (stemmed, accent-blind), best BM25 first: the keyword leg."""
    # CROSS JOIN keeps the full-text index as the outer loop: matches first, then their rows by id (the planner
    # would otherwise walk every current fact of the scope and query the index once per row)
    rows = db.execute(
        "SELECT facts.id FROM facts_fts CROSS JOIN facts ON facts.id = facts_fts.rowid WHERE facts_fts MATCH ?"
        f" AND {_CURRENT} AND facts.scope IN ({_marks(scopes)}) ORDER BY facts_fts.rank LIMIT ?",
        [match_query(query), *scopes, limit],
    ).fetchall()
    return [int(r[0]) for r in rows]


def vector_ranks(
    db: sqlite_utils.Database, vector: Sequence[float], model: str, scopes: list[str], limit: int = 50
) -> list[tuple[int, float]]:
    """Current facts nearest in meaning (cosine distance via sqlite-vec), nearest first: the vector leg.

    Two passes: the Hamming distance of sign bits picks COARSE candidates among every stored fact vector
    (cheap: 112 bytes a fact for 896 dimensions), then cosine over the current ones in these scopes orders
    them; exact while the store holds fewer vectors than that.
    """
    # the narrow sign-bit table alone first (no join while scanning), then whose and current, then cosine
    rows = db.execute(
        "WITH near AS (SELECT vectors.ref AS id FROM vectors WHERE vectors.kind = 'fact' AND vectors.model = ?"
        " ORDER BY vec_distance_hamming(vec_bit(vectors.bits), vec_bit(?)) LIMIT ?)"
        " SELECT near.id, vec_distance_cosine(vector_floats.vector, ?) AS d FROM near"
        " CROSS JOIN facts ON facts.id = near.id"
        " JOIN vector_floats ON vector_floats.kind = 'fact' AND vector_floats.ref = near.id"
        f" WHERE {_CURRENT} AND facts.scope IN ({_marks(scopes)}) ORDER BY d LIMIT ?",
        [model, signs(vector), max(COARSE, 4 * limit), pack(vector), *scopes, limit],
    ).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


def ranks(
    db: sqlite_utils.Database,
    query: str,
    vector: Sequence[float] | None,
    model: str,
    scopes: list[str],
    depth: int = 50,
) -> tuple[list[int], list[tuple[int, float]]]:
    """Both legs in one visit to the store thread: keyword ranks, and vector ranks when a vector is given."""
    keyword = keyword_ranks(db, query, scopes, depth)
    return keyword, vector_ranks(db, vector, model, scopes, depth) if vector is not None else []


def search(db: sqlite_utils.Database, query: str, scopes: list[str], limit: int = 8) -> list[Fact]:
    """Current facts matching the words of query, best first (the keyword leg alone)."""
    ids = keyword_ranks(db, query, scopes, limit)
    found = by_ids(db, ids)
    return [found[i] for i in ids if i in found]


def forget(db: sqlite_utils.Database, query: str, scopes: list[str]) -> list[Fact]:
    """Soft-delete the facts that best match; returns what was forgotten (kept for audit and undo)."""
    found = search(db, query, scopes, limit=3)
    exact = [f for f in found if query.lower() in f.text.lower()]
    chosen = exact or found[:1]
    for f in chosen:
        forget_id(db, f.id)
    return chosen


def forget_id(db: sqlite_utils.Database, fact_id: int) -> Fact | None:
    """Soft-delete one fact; None when there is no such current fact."""
    db.execute(f"UPDATE facts SET deleted = ? WHERE id = ? AND {_CURRENT}", [time.time(), fact_id])
    found = get(db, fact_id)
    return found if found is not None and found.deleted is not None else None


def undo(db: sqlite_utils.Database, fact_id: int) -> Fact | None:
    """Bring a fact back: un-forget it, and if a correction replaced it, forget that correction instead.

    None when it cannot: there is no such fact, or the correction was itself replaced since (undo that first).
    """
    fact = get(db, fact_id)
    if fact is None:
        return None
    with db.conn:
        if fact.superseded_by is not None:
            replacing = get(db, fact.superseded_by)
            if replacing is None or (replacing.superseded_by is not None):
                return None
            db.execute("UPDATE facts SET deleted = COALESCE(deleted, ?) WHERE id = ?", [time.time(), replacing.id])
            db.execute("UPDATE facts SET superseded_by = NULL WHERE id = ?", [fact_id])
        db.execute("UPDATE facts SET deleted = NULL WHERE id = ?", [fact_id])
    return get(db, fact_id)


def pack(vector: Sequence[float]) -> bytes:
    """A vector as sqlite-vec stores it: little-endian float32."""
    return struct.pack(f"<{len(vector)}f", *vector)


def signs(vector: Sequence[float]) -> bytes:
    """A vector's signs as sqlite-vec's bit vector: bit i of the blob set when dimension i is positive."""
    bits = bytearray((len(vector) + 7) // 8)
    for i, value in enumerate(vector):
        if value > 0:
            bits[i >> 3] |= 1 << (i & 7)
    return bytes(bits)


def unpack(blob: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


def set_vector(db: sqlite_utils.Database, kind: str, ref: int, model: str, vector: Sequence[float]) -> None:
    db.execute(
        "INSERT INTO vectors (kind, ref, model, bits) VALUES (?,?,?,?) ON CONFLICT(kind, ref)"
        " DO UPDATE SET model = excluded.model, bits = excluded.bits",
        [kind, ref, model, signs(vector)],
    )
    db.execute(
        "INSERT INTO vector_floats (kind, ref, vector) VALUES (?,?,?) ON CONFLICT(kind, ref)"
        " DO UPDATE SET vector = excluded.vector",
        [kind, ref, pack(vector)],
    )


def set_vectors(db: sqlite_utils.Database, kind: str, model: str, rows: Sequence[tuple[int, Sequence[float]]]) -> None:
    with db.conn:
        for ref, vector in rows:
            set_vector(db, kind, ref, model, vector)


def without_vectors(db: sqlite_utils.Database, model: str, limit: int = 64) -> list[Fact]:
    """Current facts not yet embedded with this model (written while the model server was down, or before)."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM facts LEFT JOIN vectors ON vectors.kind = 'fact' AND vectors.ref = facts.id"
        f" AND vectors.model = ? WHERE {_CURRENT} AND vectors.ref IS NULL ORDER BY facts.id LIMIT ?",
        [model, limit],
    ).fetchall()
    return [_fact(r) for r in rows]


def message_ranks(
    db: sqlite_utils.Database, vector: Sequence[float], model: str, conversation: str, limit: int = 20
) -> list[tuple[int, float]]:
    """Compacted messages of a conversation nearest in meaning, nearest first (the same two passes)."""
    rows = db.execute(
        "WITH near AS (SELECT vectors.ref AS id FROM vectors JOIN messages ON messages.id = vectors.ref"
        " WHERE vectors.kind = 'message' AND vectors.model = ? AND messages.conversation = ?"
        " ORDER BY vec_distance_hamming(vec_bit(vectors.bits), vec_bit(?)) LIMIT ?)"
        " SELECT near.id, vec_distance_cosine(vector_floats.vector, ?) AS d FROM near"
        " JOIN vector_floats ON vector_floats.kind = 'message' AND vector_floats.ref = near.id ORDER BY d LIMIT ?",
        [model, conversation, signs(vector), max(COARSE, 4 * limit), pack(vector), limit],
    ).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


def edit(db: sqlite_utils.Database, fact_id: int, text: str, *, author: str, source: str) -> Fact | None:
    """A correction: the new text becomes a new fact that supersedes the old one (which stays as history)."""
    old = get(db, fact_id)
    if old is None or not old.current:
        return None
    return remember(db, text, scope=old.scope, author=author, source=source, kind=old.kind, replaces=old.id)


def summary(db: sqlite_utils.Database, conversation: str) -> tuple[str, int]:
    row = db.execute("SELECT text, upto_seq FROM summaries WHERE conversation = ?", [conversation]).fetchone()
    return (row[0], int(row[1])) if row else ("", 0)


def set_summary(db: sqlite_utils.Database, conversation: str, text: str, upto_seq: int) -> None:
    db.execute(
        "INSERT INTO summaries (conversation, text, upto_seq, ts) VALUES (?,?,?,?)"
        " ON CONFLICT(conversation) DO UPDATE SET text=excluded.text, upto_seq=excluded.upto_seq, ts=excluded.ts",
        [conversation, text, upto_seq, time.time()],
    )


def count(db: sqlite_utils.Database) -> int:
    """Current facts, all scopes."""
    return int(db.execute(f"SELECT COUNT(*) FROM facts WHERE {_CURRENT}").fetchone()[0])


def messages_by_ids(db: sqlite_utils.Database, ids: Sequence[int]) -> list[Message]:
    """Stored turns by id, in the order asked."""
    if not ids:
        return []
    rows = {r["id"]: r for r in db.query(f"SELECT * FROM messages WHERE id IN ({_marks(ids)})", list(ids))}
    return [row_to_message(rows[i]) for i in ids if i in rows]
