"""The schema, as numbered migrations; `PRAGMA user_version` records how far a database has come."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from claw.core.errors import StateError
from claw.core.store.terms import terms


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


_FTS_TRIGGERS = """
CREATE TRIGGER {t}_ai AFTER INSERT ON {t} BEGIN
  INSERT INTO {t}_fts (rowid, {c}) VALUES (new.rowid, new.{c});
END
;;CREATE TRIGGER {t}_ad AFTER DELETE ON {t} BEGIN
  INSERT INTO {t}_fts ({t}_fts, rowid, {c}) VALUES ('delete', old.rowid, old.{c});
END
;;CREATE TRIGGER {t}_au AFTER UPDATE OF {c} ON {t} BEGIN
  INSERT INTO {t}_fts ({t}_fts, rowid, {c}) VALUES ('delete', old.rowid, old.{c});
  INSERT INTO {t}_fts (rowid, {c}) VALUES (new.rowid, new.{c});
END
"""


def _accent_blind_fts(db: sqlite_utils.Database, table: str, column: str) -> None:
    """Rebuild a table's FTS5 index so "cafe" finds "café" and "Strasse" finds "Straße" (remove_diacritics 2)."""
    for trigger in ("ai", "ad", "au"):
        db.execute(f"DROP TRIGGER IF EXISTS {table}_{trigger}")
    db.execute(f"DROP TABLE IF EXISTS {table}_fts")
    db.execute(
        f"CREATE VIRTUAL TABLE {table}_fts USING fts5({column}, content='{table}', content_rowid='id',"
        " tokenize='unicode61 remove_diacritics 2')"
    )
    for statement in _FTS_TRIGGERS.format(t=table, c=column).split(";;"):
        db.execute(statement)
    db.execute(f"INSERT INTO {table}_fts ({table}_fts) VALUES ('rebuild')")


def _v5(db: sqlite_utils.Database) -> None:
    # Memory with a history and by meaning: each fact names the message it came from, holds from valid_from
    # until superseded_by names the fact that replaced it (never overwritten), and is a plain fact or a standing
    # preference; it is found by its stemmed, accent-folded words (terms) and by its vector (one float32 blob
    # per fact or compacted message, compared with sqlite-vec). The audit log is read as a timeline by time.
    _run(
        db,
        """
        ALTER TABLE facts ADD COLUMN message INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE facts ADD COLUMN valid_from REAL NOT NULL DEFAULT 0;
        ALTER TABLE facts ADD COLUMN superseded_by INTEGER;
        ALTER TABLE facts ADD COLUMN kind TEXT NOT NULL DEFAULT 'fact';
        ALTER TABLE facts ADD COLUMN terms TEXT NOT NULL DEFAULT '';
        UPDATE facts SET valid_from = ts;
        CREATE INDEX facts_current ON facts(scope, ts) WHERE deleted IS NULL AND superseded_by IS NULL;
        CREATE TABLE vectors (
            kind TEXT NOT NULL,              -- 'fact' or 'message'
            ref INTEGER NOT NULL,            -- its row id
            model TEXT NOT NULL,             -- the embedding model: vectors of another model are not compared
            bits BLOB NOT NULL,              -- the vector's signs, one bit a dimension: the cheap first pass
            PRIMARY KEY (kind, ref)
        );
        CREATE TABLE vector_floats (         -- apart, so the first pass scans narrow rows only
            kind TEXT NOT NULL,
            ref INTEGER NOT NULL,
            vector BLOB NOT NULL,            -- float32, unit length: the exact (cosine) second pass
            PRIMARY KEY (kind, ref)
        );
        CREATE TABLE device_changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts REAL NOT NULL,
            device TEXT NOT NULL,            -- the device id
            name TEXT NOT NULL,
            what TEXT NOT NULL,              -- 'on', 'off', 'locked', 'unlocked', 'open', 'closed', 'armed (night)'...
            audit INTEGER NOT NULL DEFAULT 0 -- the audit row that caused it; 0: by hand, or by the device itself
        );
        CREATE INDEX device_changes_by_time ON device_changes(ts);
        CREATE INDEX audit_by_time ON audit(ts);
        """,
    )
    for fact_id, text in db.execute("SELECT id, text FROM facts").fetchall():
        db.execute("UPDATE facts SET terms = ? WHERE id = ?", [terms(text), fact_id])
    _accent_blind_fts(db, "facts", "terms")
    _accent_blind_fts(db, "messages", "content")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this database lacks, each in its own transaction; return the version."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise StateError(
            f"its schema version {version} is newer than this Claw's ({len(MIGRATIONS)}): upgrade Claw, "
            "or `claw restore` a backup this version took"
        )
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.conn:
            db.conn.execute("BEGIN")
            step(db)
            db.conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)
