"""Outbox rows and 24 h windows: every outbound message is a row before anything is sent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

from claw.core.store.messages import Answering, Message, answer, record_inbound

PENDING = ("queued", "unknown")  # what a sender still has to act on, oldest first per recipient
WAITING = ("queued", "unknown", "sending", "held")  # not yet out of our hands


@dataclass(frozen=True, slots=True)
class Draft:
    """A row to insert: one part of one outbound message for one recipient."""

    channel: str
    recipient: str
    body: str
    dedupe_key: str
    media: tuple[tuple[str, str], ...] = ()  # (path, content type)
    kind: str = "reply"
    title: str = ""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A persisted outbound message part, with the recipient's last inbound time (0: never)."""

    id: int
    channel: str
    recipient: str
    body: str
    media: tuple[tuple[str, str], ...]
    kind: str
    title: str
    status: str
    attempts: int
    next_attempt: float
    provider_id: str | None
    error: str
    dedupe_key: str | None
    created: float
    updated: float
    last_inbound: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["media"] = [{"path": p, "content_type": t} for p, t in self.media]
        return out


def _row(data: dict[str, Any]) -> OutboxRow:
    media = tuple((str(m["path"]), str(m["content_type"])) for m in json.loads(data["media"] or "[]"))
    return OutboxRow(
        id=data["id"],
        channel=data["channel"],
        recipient=data["recipient"],
        body=data["body"],
        media=media,
        kind=data["kind"],
        title=data.get("title") or "",
        status=data["status"],
        attempts=data["attempts"],
        next_attempt=data["next_attempt"],
        provider_id=data["provider_id"],
        error=data["error"],
        dedupe_key=data["dedupe_key"],
        created=data["created"],
        updated=data["updated"],
        last_inbound=float(data.get("last_inbound") or 0.0),
    )


_SELECT = (
    "SELECT o.*, COALESCE(w.last_inbound, 0) AS last_inbound FROM outbox o"
    " LEFT JOIN windows w ON w.recipient = o.recipient"
)


def enqueue(db: sqlite_utils.Database, drafts: Sequence[Draft], answering: Answering | None = None) -> int:
    """Insert drafts in order, all or none; a dedupe key seen before is skipped. Returns rows added.

    With `answering`, the reply joins the history and its message is marked answered in the same
    transaction: a crash leaves either all of it or none (and then the message is answered again).
    A message answered before gets nothing queued twice.
    """
    now = time.time()
    added = 0
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        if answering is not None and not answer(db, answering):
            return 0
        for d in drafts:
            media = json.dumps([{"path": p, "content_type": t} for p, t in d.media])
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (channel, recipient, body, media, kind, title, status, dedupe_key,"
                " created, updated) VALUES (?,?,?,?,?,?,'queued',?,?,?)",
                [d.channel, d.recipient, d.body, media, d.kind, d.title, d.dedupe_key, now, now],
            )
            added += cursor.rowcount
    return added


def get(db: sqlite_utils.Database, row_id: int) -> OutboxRow | None:
    rows = list(db.query(f"{_SELECT} WHERE o.id = ?", [row_id]))
    return _row(rows[0]) if rows else None


def recover(db: sqlite_utils.Database, channel: str) -> int:
    """At start-up: a send in flight when the daemon stopped has an unknown outcome; check before resending."""
    cursor = db.execute(
        "UPDATE outbox SET status = 'unknown', updated = ? WHERE channel = ? AND status = 'sending'",
        [time.time(), channel],
    )
    return cursor.rowcount


def pending_recipients(db: sqlite_utils.Database, channel: str) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT recipient FROM outbox WHERE channel = ? AND status IN ('queued', 'unknown')", [channel]
    ).fetchall()
    return [str(r[0]) for r in rows]


def head(db: sqlite_utils.Database, channel: str, recipient: str) -> OutboxRow | None:
    """The oldest row still to act on for one recipient: messages go out in order."""
    rows = list(
        db.query(
            f"{_SELECT} WHERE o.channel = ? AND o.recipient = ? AND o.status IN ('queued', 'unknown')"
            " ORDER BY o.id LIMIT 1",
            [channel, recipient],
        )
    )
    return _row(rows[0]) if rows else None


def claim(db: sqlite_utils.Database, row_id: int) -> bool:
    """Mark a row as being sent (persisted first, so a crash leaves 'sending' -> 'unknown')."""
    cursor = db.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated = ?"
        " WHERE id = ? AND status IN ('queued', 'unknown')",
        [time.time(), row_id],
    )
    return cursor.rowcount == 1


def mark_sent(db: sqlite_utils.Database, row_id: int, provider_id: str) -> None:
    """The provider took the message; a status callback may already have moved it further."""
    db.execute(
        "UPDATE outbox SET provider_id = COALESCE(provider_id, ?), error = '', updated = ?,"
        " status = CASE WHEN status IN ('sending', 'unknown', 'queued') THEN 'sent' ELSE status END"
        " WHERE id = ? AND status NOT IN ('held', 'skipped', 'dead')",
        [provider_id, time.time(), row_id],
    )


def mark_delivered(db: sqlite_utils.Database, row_id: int, provider_id: str) -> None:
    db.execute(
        "UPDATE outbox SET provider_id = COALESCE(provider_id, ?), status = 'delivered', updated = ?"
        " WHERE id = ? AND status IN ('sending', 'unknown', 'queued', 'sent')",
        [provider_id, time.time(), row_id],
    )


def reschedule(
    db: sqlite_utils.Database,
    row_id: int,
    *,
    status: str,
    delay: float,
    error: str,
    after: str = "sending",
    forget: bool = False,
) -> bool:
    """Try again after `delay` s, if the row is still in status `after` (a callback may have settled it).

    `status` is 'queued' (nothing went out) or 'unknown' (check first); `forget` drops the provider id
    of a failed earlier send, so the next one records its own.
    """
    now = time.time()
    cursor = db.execute(
        "UPDATE outbox SET status = ?, next_attempt = ?, error = ?, updated = ?,"
        " provider_id = CASE WHEN ? THEN NULL ELSE provider_id END WHERE id = ? AND status = ?",
        [status, now + delay, error, now, forget, row_id, after],
    )
    return cursor.rowcount == 1


def kill(db: sqlite_utils.Database, row_id: int, error: str) -> None:
    """Dead-letter a row: it will never be sent; doctor and the dashboard show it."""
    db.execute("UPDATE outbox SET status = 'dead', error = ?, updated = ? WHERE id = ?", [error, time.time(), row_id])


def hold(db: sqlite_utils.Database, row_id: int, *, template: bool) -> None:
    """Outside the window: keep the row until the recipient writes; maybe queue a template right behind it."""
    now = time.time()
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE outbox SET status = 'held', provider_id = NULL, updated = ? WHERE id = ?", [now, row_id])
        row = get(db, row_id)
        if template and row is not None and row.kind != "template":
            db.execute(
                "INSERT OR IGNORE INTO outbox (channel, recipient, body, kind, title, status, dedupe_key,"
                " created, updated) VALUES (?,?,?,'template',?,'queued',?,?,?)",
                [row.channel, row.recipient, row.title, row.title, f"{row.dedupe_key or row.id}:template", now, now],
            )


def close_window(db: sqlite_utils.Database, recipient: str) -> None:
    """The provider says the window is closed, whatever we thought."""
    db.execute("DELETE FROM windows WHERE recipient = ?", [recipient])


def opened(db: sqlite_utils.Database, channel: str, recipient: str, when: float) -> int:
    """The recipient wrote: open the window, release held rows (in order), drop unsent templates.

    Returns how many held rows were released.
    """
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        return _open(db, channel, recipient, when)


@dataclass(frozen=True, slots=True)
class Arriving:
    """An inbound message from a known sender, to persist (deduplicated by `external_id`)."""

    channel: str
    conversation: str
    message: Message
    external_id: str | None
    recipient: str  # the sender, as outbound rows name them
    when: float


def arrived(db: sqlite_utils.Database, items: Sequence[Arriving]) -> list[tuple[int | None, int]]:
    """Persist a burst of inbound messages in one transaction, opening each sender's window.

    Returns (message id, or None for a replay; held rows released) per item.
    """
    results: list[tuple[int | None, int]] = []
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        for item in items:
            message_id = record_inbound(db, item.conversation, item.message, item.external_id)
            released = _open(db, item.channel, item.recipient, item.when) if message_id is not None else 0
            results.append((message_id, released))
    return results


def _open(db: sqlite_utils.Database, channel: str, recipient: str, when: float) -> int:
    db.execute(
        "INSERT INTO windows (recipient, last_inbound) VALUES (?, ?)"
        " ON CONFLICT(recipient) DO UPDATE SET last_inbound = MAX(last_inbound, excluded.last_inbound)",
        [recipient, when],
    )
    released = db.execute(
        "UPDATE outbox SET status = 'queued', next_attempt = 0, updated = ?"
        " WHERE channel = ? AND recipient = ? AND status = 'held'",
        [time.time(), channel, recipient],
    ).rowcount
    if released:
        db.execute(
            "UPDATE outbox SET status = 'skipped', error = 'window opened: the full message goes instead',"
            " updated = ? WHERE channel = ? AND recipient = ? AND kind = 'template' AND status = 'queued'",
            [time.time(), channel, recipient],
        )
    return int(released)


def last_inbound(db: sqlite_utils.Database, recipient: str) -> float:
    row = db.execute("SELECT last_inbound FROM windows WHERE recipient = ?", [recipient]).fetchone()
    return float(row[0]) if row else 0.0


def claimed(db: sqlite_utils.Database, provider_ids: Iterable[str], *, besides: int = 0) -> set[str]:
    """Which of these provider ids belong to a row other than `besides` (a resend check never adopts them)."""
    ids = list(provider_ids)
    if not ids:
        return set()
    marks = ",".join("?" for _ in ids)
    rows = db.execute(
        f"SELECT provider_id FROM outbox WHERE provider_id IN ({marks}) AND id != ?", [*ids, besides]
    ).fetchall()
    return {str(r[0]) for r in rows}


def recent(db: sqlite_utils.Database, *, limit: int = 50, status: str | None = None) -> list[OutboxRow]:
    where, params = ("WHERE o.status = ?", [status]) if status else ("", [])
    return [_row(r) for r in db.query(f"{_SELECT} {where} ORDER BY o.id DESC LIMIT ?", [*params, limit])]


def counts(db: sqlite_utils.Database, channel: str | None = None) -> dict[str, int]:
    where, params = ("WHERE channel = ?", [channel]) if channel else ("", [])
    rows = db.execute(f"SELECT status, COUNT(*) FROM outbox {where} GROUP BY status", params).fetchall()
    return {str(status): int(n) for status, n in rows}


@dataclass(frozen=True, slots=True)
class Unanswered:
    """An inbound message persisted but not answered: the daemon stopped before or during its turn."""

    id: int
    conversation: str
    content: str
    external_id: str
    images: int
    tries: int  # turns already started on it (0: never taken up)


def unanswered(db: sqlite_utils.Database, channel: str) -> list[Unanswered]:
    rows = db.execute(
        "SELECT id, conversation, content, COALESCE(external_id, ''), images, tries FROM messages"
        " WHERE channel = ? AND role = 'user' AND answered IS NULL ORDER BY id",
        [channel],
    ).fetchall()
    return [Unanswered(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5])) for r in rows]
