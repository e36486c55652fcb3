"""The append-only history of every conversation, searchable with FTS5."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils


@dataclass(frozen=True, slots=True)
class Message:
    """One stored turn: user text, assistant reply (maybe with tool calls) or a tool result."""

    role: str
    content: str
    conversation: str = ""
    id: int = 0
    tool_calls: tuple[dict[str, Any], ...] = ()
    tool_name: str = ""
    channel: str = ""
    sender: str = ""
    ts: float = field(default_factory=time.time)
    images: int = 0
    seq: int = 0

    def as_chat(self) -> dict[str, Any]:
        """The message in Ollama's chat format."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = list(self.tool_calls)
        if self.tool_name:
            out["tool_name"] = self.tool_name
        return out


def _row_to_message(row: dict[str, Any]) -> Message:
    return Message(
        id=row["id"],
        conversation=row["conversation"],
        role=row["role"],
        content=row["content"],
        tool_calls=tuple(json.loads(row["tool_calls"])) if row["tool_calls"] else (),
        tool_name=row["tool_name"] or "",
        channel=row["channel"],
        sender=row["sender"],
        ts=row["ts"],
        images=row["images"],
        seq=row["seq"] or 0,
    )


def _next_seq(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM messages").fetchone()[0])


def append(db: sqlite_utils.Database, conversation: str, messages: list[Message]) -> list[int]:
    """Append turns to the end of a conversation's history; returns their ids."""
    with db.conn:
        return insert(db, conversation, messages)


def insert(db: sqlite_utils.Database, conversation: str, messages: Sequence[Message]) -> list[int]:
    """`append` inside a transaction the caller holds."""
    ids = []
    for m in messages:
        cursor = db.execute(
            "INSERT INTO messages (conversation, role, content, tool_calls, tool_name, channel, sender,"
            " images, ts, seq, answered) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                conversation,
                m.role,
                m.content,
                json.dumps(list(m.tool_calls)) if m.tool_calls else None,
                m.tool_name or None,
                m.channel,
                m.sender,
                m.images,
                m.ts,
                _next_seq(db),
                m.ts if m.role == "user" else None,  # only messages waiting for a turn are unanswered
            ],
        )
        ids.append(int(cursor.lastrowid or 0))
    return ids


@dataclass(frozen=True, slots=True)
class Answering:
    """The reply to one inbound message: stored, queued and marked answered in one transaction."""

    conversation: str
    message_id: int
    record: tuple[Message, ...]  # what joins the history: tool calls, tool results, the reply


def answer(db: sqlite_utils.Database, reply: Answering) -> bool:
    """Store a reply and mark its message answered, inside the caller's transaction; False if answered before."""
    row = db.execute("SELECT answered FROM messages WHERE id = ?", [reply.message_id]).fetchone()
    if row is not None and row[0] is not None:
        return False
    insert(db, reply.conversation, reply.record)
    db.execute("UPDATE messages SET answered = ? WHERE id = ?", [time.time(), reply.message_id])
    return True


def answer_alone(db: sqlite_utils.Database, reply: Answering) -> bool:
    """`answer` in its own transaction (channels with nothing else to write: the terminal, the API)."""
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        return answer(db, reply)


def record_inbound(db: sqlite_utils.Database, conversation: str, m: Message, external_id: str | None) -> int | None:
    """Persist an inbound message, waiting for its turn; None when `external_id` was seen (a replay)."""
    try:
        cursor = db.execute(
            "INSERT INTO messages (conversation, role, content, channel, sender, external_id, images, ts)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [conversation, "user", m.content, m.channel, m.sender, external_id, m.images, m.ts],
        )
    except Exception as exc:  # sqlite3.IntegrityError on the UNIQUE external_id
        if "UNIQUE" in str(exc):
            return None
        raise
    return int(cursor.lastrowid or 0)


def take(db: sqlite_utils.Database, message_id: int) -> int:
    """An inbound message enters the history when its turn starts, after the replies before it.

    Returns how many turns have now started on it (more than one: a restart interrupted an earlier one).
    """
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        db.execute(
            # always the newest place: a message a restart left behind must not sit before replies given since
            "UPDATE messages SET seq = CASE WHEN answered IS NULL THEN ? ELSE seq END, tries = tries + 1 WHERE id = ?",
            [_next_seq(db), message_id],
        )
        row = db.execute("SELECT tries FROM messages WHERE id = ?", [message_id]).fetchone()
    return int(row[0]) if row else 0


def wait(db: sqlite_utils.Database, message_id: int) -> None:
    """A taken message whose model turn waits for an earlier one: its try counts only once its turn starts
    (a restart while it waits must not bring it closer to being given up)."""
    db.execute("UPDATE messages SET tries = MAX(tries - 1, 0) WHERE id = ? AND answered IS NULL", [message_id])


def requeue(db: sqlite_utils.Database, message_id: int) -> None:
    """A message whose model turn waited for an earlier one starts now: after that turn's reply in the history."""
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        db.execute(
            "UPDATE messages SET seq = ?, tries = tries + 1 WHERE id = ? AND answered IS NULL",
            [_next_seq(db), message_id],
        )


def session_start(db: sqlite_utils.Database, conversation: str) -> int:
    row = db.execute("SELECT start_seq FROM sessions WHERE conversation = ?", [conversation]).fetchone()
    return int(row[0]) if row else 0


def new_session(db: sqlite_utils.Database, conversation: str) -> None:
    """`/new`: later prompts start after the current last message; nothing is deleted."""
    last = _next_seq(db) - 1
    db.execute(
        "INSERT INTO sessions (conversation, start_seq) VALUES (?, ?)"
        " ON CONFLICT(conversation) DO UPDATE SET start_seq = excluded.start_seq",
        [conversation, last],
    )
    db.execute("DELETE FROM summaries WHERE conversation = ?", [conversation])


def live(db: sqlite_utils.Database, conversation: str, answering: int = 0) -> list[Message]:
    """The current session's turns that are not yet compacted into the summary, oldest first.

    `answering`: the inbound message a turn answers now. Other inbound messages already taken but not yet
    answered (queued behind it, or left by a restart) are not in its history: they get turns of their own
    (-1: no message, so none of those; 0: every row, as the dashboard shows them).
    """
    start = session_start(db, conversation)
    others = " AND NOT (role = 'user' AND answered IS NULL AND id != :m)" if answering else ""
    rows = db.query(
        f"SELECT * FROM messages WHERE conversation = :c AND seq > :s AND compacted = 0{others} ORDER BY seq",
        {"c": conversation, "s": start, "m": answering},
    )
    return [_row_to_message(r) for r in rows]


def mark_compacted(db: sqlite_utils.Database, conversation: str, upto_seq: int) -> None:
    """Fold turns into the summary; a message still waiting for its answer stays out of it (its turn needs it)."""
    db.execute(
        "UPDATE messages SET compacted = 1 WHERE conversation = ? AND seq <= ? AND compacted = 0"
        " AND NOT (role = 'user' AND answered IS NULL)",
        [conversation, upto_seq],
    )


def search(db: sqlite_utils.Database, query: str, *, conversation: str | None, limit: int = 8) -> list[Message]:
    """Full-text search over the whole history (compacted turns included), best matches of the newest."""
    # FTS5 walks its index newest-first for free; ranking every match of a common word would not scale.
    sql = (
        "SELECT messages.* FROM messages JOIN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q"
        " ORDER BY rowid DESC LIMIT :window) AS hit ON messages.id = hit.rowid"
        " WHERE messages.role IN ('user', 'assistant')"
    )
    params: dict[str, Any] = {"q": fts_query(query), "window": 400}
    if conversation is not None:
        sql += " AND messages.conversation = :c"
        params["c"] = conversation
    found = [_row_to_message(r) for r in db.query(sql, params)]
    words = {w.strip('"').lower() for w in fts_query(query).split(" OR ")}
    found.sort(key=lambda m: (sum(w in m.content.lower() for w in words), m.id), reverse=True)
    return found[:limit]


def count(db: sqlite_utils.Database, conversation: str | None = None) -> int:
    if conversation is None:
        return int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
    return int(db.execute("SELECT COUNT(*) FROM messages WHERE conversation = ?", [conversation]).fetchone()[0])


def fts_query(text: str) -> str:
    """Words of free text as an FTS5 OR-query, so punctuation from a model never breaks the syntax."""
    words = ["".join(ch for ch in w if ch.isalnum()) for w in text.split()]
    words = [w for w in words if len(w) > 1]
    return " OR ".join(f'"{w}"' for w in words[:12]) or '""'
