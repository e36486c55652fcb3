"""The schema, as numbered migrations; `PRAGMA user_version` records how far a database has come."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def _run(db: sqlite_utils.Database, script: str) -> None:
    # executescript() would COMMIT mid-migration; statements one by one stay in our transaction
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation TEXT NOT NULL,
            role TEXT NOT NULL,              -- user, assistant, tool, system
            content TEXT NOT NULL DEFAULT '',
            tool_calls TEXT,                 -- JSON list, assistant turns only
            tool_name TEXT,                  -- tool turns only
            channel TEXT NOT NULL DEFAULT '',
            sender TEXT NOT NULL DEFAULT '',
            external_id TEXT UNIQUE,         -- e.g. Twilio MessageSid: the dedupe key
            images INTEGER NOT NULL DEFAULT 0,
            ts REAL NOT NULL,
            seq INTEGER,                     -- order in the history; NULL while an inbound message waits its turn
            compacted INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX messages_by_conversation ON messages(conversation, seq);
        CREATE TABLE sessions (conversation TEXT PRIMARY KEY, start_seq INTEGER NOT NULL);
        CREATE TABLE facts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            text TEXT NOT NULL,
            scope TEXT NOT NULL,             -- 'household' or an owner's conversation
            author TEXT NOT NULL,            -- who said it
            source TEXT NOT NULL,            -- which path: chat, memory flush, dashboard...
            ts REAL NOT NULL,
            deleted REAL
        );
        CREATE TABLE summaries (
            conversation TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            upto_seq INTEGER NOT NULL,
            ts REAL NOT NULL
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts REAL NOT NULL,
            actor TEXT NOT NULL,             -- owner name, 'scheduler', 'unknown:+1555...'
            path TEXT NOT NULL,              -- fast-path, llm, routine, schedule, dashboard, webhook
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL,           -- ok, failed, denied, held, confirmed
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE devices (
            id TEXT PRIMARY KEY,             -- serial, MAC or UDN: never the IP
            name TEXT NOT NULL,
            room TEXT NOT NULL DEFAULT '',
            floor TEXT NOT NULL DEFAULT '',
            aliases TEXT NOT NULL DEFAULT '[]',
            kind TEXT NOT NULL,
            driver TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT '',
            info TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT '{}',
            available INTEGER NOT NULL DEFAULT 1,
            controllable INTEGER NOT NULL DEFAULT 1,
            ignored INTEGER NOT NULL DEFAULT 0,
            owner_named INTEGER NOT NULL DEFAULT 0,  -- the owner renamed or re-roomed it: keep that
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            camera TEXT NOT NULL,
            start_ts REAL NOT NULL,
            end_ts REAL,
            snapshot TEXT NOT NULL DEFAULT '',
            clip TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            what TEXT NOT NULL DEFAULT '',   -- person, vehicle, delivery, animal, nothing
            alert INTEGER NOT NULL DEFAULT 0,
            alerted INTEGER NOT NULL DEFAULT 0,
            score REAL NOT NULL DEFAULT 0,
            zones TEXT NOT NULL DEFAULT '[]',
            bytes INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX events_by_time ON events(start_ts);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            media TEXT NOT NULL DEFAULT '[]',
            kind TEXT NOT NULL DEFAULT 'reply',
            status TEXT NOT NULL DEFAULT 'queued',  -- queued, sending, unknown, sent, delivered, held, dead
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt REAL NOT NULL DEFAULT 0,
            provider_id TEXT,
            error TEXT NOT NULL DEFAULT '',
            dedupe_key TEXT UNIQUE,
            created REAL NOT NULL,
            updated REAL NOT NULL
        );
        CREATE INDEX outbox_pending ON outbox(status, next_attempt);
        CREATE TABLE windows (recipient TEXT PRIMARY KEY, last_inbound REAL NOT NULL);
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            schedule TEXT NOT NULL,
            action TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'config',   -- config, chat, dashboard
            owner TEXT NOT NULL DEFAULT '',
            enabled INTEGER NOT NULL DEFAULT 1,
            created REAL NOT NULL
        );
        CREATE TABLE job_state (
            id TEXT PRIMARY KEY,
            next_run REAL,
            last_run REAL,
            last_status TEXT NOT NULL DEFAULT '',
            failures INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL,
            scheduled REAL NOT NULL,
            started REAL,
            ended REAL,
            status TEXT NOT NULL,            -- ran, late, skipped, failed, timeout
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX job_runs_by_job ON job_runs(job_id, scheduled);
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            reason TEXT NOT NULL,
            ts REAL NOT NULL
        );
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    )
    db.table("messages").enable_fts(["content"], fts_version="FTS5", create_triggers=True)
    db.table("facts").enable_fts(["text"], fts_version="FTS5", create_triggers=True)


def _v2(db: sqlite_utils.Database) -> None:
    # The outbox keeps each message's short title (the template variable outside the 24 h window),
    # and status callbacks and resend checks look rows up by the provider's message id.
    _run(
        db,
        """
        ALTER TABLE outbox ADD COLUMN title TEXT NOT NULL DEFAULT '';
        CREATE INDEX outbox_by_provider ON outbox(provider_id);
        """,
    )


def _v3(db: sqlite_utils.Database) -> None:
    # A device job keeps its command as data ({"target": ..., "change": ...}), read from its words once;
    # rows from before are filled in when the scheduler next loads them.
    _run(db, "ALTER TABLE jobs ADD COLUMN plan TEXT NOT NULL DEFAULT '';")


def _v4(db: sqlite_utils.Database) -> None:
    # Exactly-once answers: an inbound message is "answered" in the same transaction that stores its reply
    # and queues it; `tries` counts the turns started on it (a message that crashes us is not retried forever);
    # an audit row names the message (or the job run) it acted for, so a turn or run resumed after a crash
    # does not act twice.
    _run(
        db,
        """
        ALTER TABLE messages ADD COLUMN answered REAL;
        ALTER TABLE messages ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
        UPDATE messages SET answered = ts WHERE role = 'user' AND seq IS NOT NULL;
        CREATE INDEX messages_unanswered ON messages(channel) WHERE role = 'user' AND answered IS NULL;
        ALTER TABLE audit ADD COLUMN message INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX audit_by_message ON audit(message) WHERE message > 0;
        ALTER TABLE audit ADD COLUMN run INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX audit_by_run ON audit(run) WHERE run > 0;
        """,
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this database lacks, each in its own transaction; return the version."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this Claw ({len(MIGRATIONS)}): upgrade Claw"
        )
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.conn:
            db.conn.execute("BEGIN")
            step(db)
            db.conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)
