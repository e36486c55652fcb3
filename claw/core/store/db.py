"""The database handle: one writer thread, so the event loop never blocks on SQLite."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlite_utils

from claw.core.errors import DiskFull, StateError
from claw.core.store import backup as copies
from claw.core.store.driver import sqlite_driver
from claw.core.store.schema import migrate

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
SQLITE_FULL = 13  # the result code, the same in every driver (the standard library's and pysqlite3's)


def load_vectors(conn: Any) -> str:
    """Load sqlite-vec into a connection; '' when loaded, else why not (the caller says so loudly)."""
    try:
        import sqlite_vec  # noqa: PLC0415 -- optional: without it memory searches by words only

        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        conn.execute("SELECT vec_version()")
    except ImportError:
        return "the sqlite-vec package is not installed"
    except AttributeError:
        return "this Python's SQLite cannot load extensions (install pysqlite3-binary)"
    except Exception as exc:  # the library raises its driver's own OperationalError
        return f"sqlite-vec did not load ({exc})"
    return ""


class Store:
    """Runs every query on one dedicated thread; `await store.run(fn, ...)` calls `fn(db, ...)` there."""

    def __init__(self, path: Path | str, *, recover: bool = True) -> None:
        self.path = Path(path)
        self.recover = recover  # a damaged database is replaced by the newest good backup at open
        self.recovered: copies.Recovery | None = None  # what open() did about a damaged database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claw-store")
        self._db: sqlite_utils.Database | None = None
        self._thread: threading.Thread | None = None
        self.vectors_missing = "not opened yet"  # '' once sqlite-vec is loaded: memory then searches by meaning

    @property
    def db(self) -> sqlite_utils.Database:
        """The handle, for code already running on the store thread (tests, benchmarks)."""
        assert self._db is not None, "Store.open() first"
        return self._db

    async def open(self) -> None:
        """Check, open (creating if needed) and migrate; StateError (one line: the file and the fix) when it can't."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    def _open(self) -> None:
        make_state_dir(self.path.parent)
        if found := copies.problem(self.path):
            if not self.recover:
                raise StateError(
                    f"{self.path} is damaged ({found}): `claw run` restores the newest good backup from "
                    f"{copies.folder_for(self.path)}, or `claw restore FILE` puts back the copy you choose"
                )
            self.recovered = copies.recover(self.path, found)
            log.error(
                "store %s was damaged (%s): moved it to %s and restored the backup %s",
                self.path,
                found,
                self.recovered.damaged.name,
                self.recovered.restored.name,
            )
        try:
            self._connect()
        except StateError as exc:  # a database from a newer Claw
            raise StateError(f"{self.path}: {exc}") from None
        except Exception as exc:  # unreadable for a reason quick_check did not see (the driver's own error class)
            if type(exc).__name__ not in ("DatabaseError", "OperationalError"):
                raise
            raise StateError(f"{self.path} cannot be opened ({exc}): check the file and its permissions") from None

    def _connect(self) -> None:
        conn = sqlite_driver().connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.vectors_missing = load_vectors(conn)
        if self.vectors_missing:
            log.error("VECTOR SEARCH OFF: %s; memory recall falls back to words only (FTS5)", self.vectors_missing)
        self._db = sqlite_utils.Database(conn)
        self._thread = threading.current_thread()
        version = migrate(self._db)
        log.debug("store %s at schema version %d", self.path, version)

    async def run(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run `fn(db, *args, **kwargs)` on the store thread and return its result."""

        def call() -> R:
            try:
                return fn(self.db, *args, **kwargs)
            except Exception as exc:
                # pysqlite3's errors carry no code: its message is SQLite's own words for SQLITE_FULL
                if getattr(exc, "sqlite_errorcode", None) != SQLITE_FULL and "database or disk is full" not in str(exc):
                    raise
                raise DiskFull(
                    f"the disk holding {self.path} is full: free some space there; "
                    "I take nothing new until then, and keep everything already taken"
                ) from None

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def backup(self, keep: int) -> Path:
        """An online copy of the database into the backups folder beside it, keeping the newest `keep`."""
        folder = copies.folder_for(self.path)
        # its own connection and thread: the copy reads a snapshot while the store thread goes on writing
        return await asyncio.to_thread(copies.backup, self.path, folder, keep=keep)

    async def close(self) -> None:
        """Checkpoint and close; pending calls finish first."""
        if self._db is not None:
            db = self._db
            await asyncio.get_running_loop().run_in_executor(self._executor, db.conn.close)
            self._db = None
        self._executor.shutdown(wait=True)


def make_state_dir(folder: Path) -> None:
    """Create the state directory, or StateError naming it and the fix."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StateError(f"{folder} is a file, not a folder: move it away or point state_dir elsewhere") from None
    except OSError as exc:
        raise StateError(
            f"the state dir {folder} cannot be created ({exc.strerror}): point state_dir at a folder you can write"
        ) from None
