"""Copies of the database: online backups with SQLite's backup API, integrity checks, restore and recovery."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claw.core.errors import StateError
from claw.core.store.driver import sqlite_driver
from claw.core.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

FOLDER = "backups"  # beside the database, in the state dir
PREFIX = "claw-"  # claw-20261207-033000.db: names sort by time
COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite's files that belong to a database file


@dataclass(frozen=True, slots=True)
class Recovery:
    """A damaged database moved aside and the newest good backup put in its place."""

    damaged: Path  # where the damaged file now is
    problem: str  # what the integrity check said
    restored: Path  # the backup it was restored from
    taken: float  # when that backup was taken (epoch seconds)


def folder_for(db_path: Path) -> Path:
    """Where the backups of `db_path` are kept."""
    return db_path.parent / FOLDER


def backups(folder: Path) -> list[Path]:
    """The backups in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{PREFIX}*.db") if p.is_file())


@contextlib.contextmanager
def _connect(path: Path, *, readonly: bool = False) -> Iterator[Any]:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = sqlite_driver().connect(uri, uri=True, timeout=5.0, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def problem(path: Path) -> str:
    """Why the database at `path` is damaged ("" when `PRAGMA quick_check` passes, or when there is no file)."""
    if not path.exists():
        return ""
    try:
        # read-only: a damaged file (and its write-ahead log) is looked at, never checkpointed or changed
        with _connect(path, readonly=True) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite_driver().DatabaseError as exc:
        return str(exc)
    return _said([str(row[0]) for row in rows])


def schema_version(path: Path) -> int:
    """The `PRAGMA user_version` of the database at `path`."""
    with _connect(path, readonly=True) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _copy(source: Path, target: Path) -> None:
    """Copy `source` into a new single-file database at `target` with the backup API (a consistent snapshot)."""
    partial = target.with_name(f".{target.name}.partial")
    _remove(partial)
    with _connect(source) as src, _connect(partial) as dst:
        src.backup(dst)  # one step: a read transaction on its own connection, so the store's writer goes on
        dst.execute("PRAGMA journal_mode=DELETE")  # one file, with no -wal beside it
        if found := _quick_check(dst):
            raise StateError(f"the copy of {source} at {partial} failed its integrity check ({found})")
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(target)


def _quick_check(conn: Any) -> str:
    return _said([str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()])


def _said(findings: list[str]) -> str:
    """quick_check's rows in one short line: "" for ["ok"], else the first two findings and how many more."""
    lines = [line.strip() for finding in findings for line in finding.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("*** in database")] or lines  # a header, not a finding
    if lines == ["ok"]:
        return ""
    more = f" and {len(lines) - 2} more findings" if len(lines) > 2 else ""
    return "; ".join(lines[:2]) + more


def _remove(path: Path) -> None:
    for name in (path, *(path.with_name(path.name + c) for c in COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def backup(db_path: Path, folder: Path, *, keep: int, now: float | None = None) -> Path:
    """Take an online backup of `db_path` into `folder`, keep the newest `keep`; return the new file."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{PREFIX}*.partial*"):  # a copy a crash interrupted
        stale.unlink(missing_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    target = folder / f"{PREFIX}{stamp}.db"
    _copy(db_path, target)
    for old in backups(folder)[:-keep]:
        old.unlink()
    return target


def taken_at(backup_file: Path) -> float:
    """When a backup was taken, from its name (its file time when the name says nothing)."""
    try:
        return time.mktime(time.strptime(backup_file.stem.removeprefix(PREFIX), "%Y%m%d-%H%M%S"))
    except ValueError:
        return backup_file.stat().st_mtime


def move_aside(db_path: Path, label: str) -> Path:
    """Rename the database and its -wal/-shm to `<name>.<label>-<time>`, kept together; return the new name."""
    aside = db_path.with_name(f"{db_path.name}.{label}-{time.strftime('%Y%m%d-%H%M%S')}")
    for companion in ("", *COMPANIONS):
        source = db_path.with_name(db_path.name + companion)
        if source.exists():
            source.replace(aside.with_name(aside.name + companion))
    return aside


def restore(db_path: Path, backup_file: Path) -> Path | None:
    """Put `backup_file` in place of `db_path` (the daemon stopped); return where the old database went."""
    if not backup_file.is_file():
        raise StateError(f"{backup_file} does not exist: `claw backup --list` shows the backups there are")
    if found := problem(backup_file):
        raise StateError(f"{backup_file} is damaged ({found}): choose another backup (`claw backup --list`)")
    try:
        version = schema_version(backup_file)
    except sqlite_driver().DatabaseError as exc:
        raise StateError(f"{backup_file} is not a Claw database ({exc}): choose a claw-*.db backup") from None
    if version > len(MIGRATIONS):
        raise StateError(f"{backup_file} comes from a newer Claw (schema {version}): upgrade Claw, then restore it")
    aside = move_aside(db_path, "before-restore") if db_path.exists() else None
    _copy(backup_file, db_path)
    return aside


def recover(db_path: Path, found: str) -> Recovery:
    """Move a damaged database aside and restore the newest good backup; StateError when there is none."""
    folder = folder_for(db_path)
    good = next((b for b in reversed(backups(folder)) if not problem(b)), None)
    if good is None:
        raise StateError(
            f"{db_path} is damaged ({found}) and {folder} holds no good backup: "
            f"restore a copy with `claw restore FILE`, or move {db_path.name} aside to start with an empty one"
        )
    damaged = move_aside(db_path, "damaged")
    _copy(good, db_path)
    return Recovery(damaged=damaged, problem=found, restored=good, taken=taken_at(good))
