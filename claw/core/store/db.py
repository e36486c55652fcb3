"""The database handle: one writer thread, so the event loop never blocks on SQLite."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlite_utils

from claw.core.store.schema import migrate

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class Store:
    """Runs every query on one dedicated thread; `await store.run(fn, ...)` calls `fn(db, ...)` there."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claw-store")
        self._db: sqlite_utils.Database | None = None
        self._thread: threading.Thread | None = None

    @property
    def db(self) -> sqlite_utils.Database:
        """The handle, for code already running on the store thread (tests, benchmarks)."""
        assert self._db is not None, "Store.open() first"
        return self._db

    async def open(self) -> None:
        """Open (creating if needed) and migrate to the current schema."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._db = sqlite_utils.Database(conn)
        self._thread = threading.current_thread()
        version = migrate(self._db)
        log.debug("store %s at schema version %d", self.path, version)

    async def run(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run `fn(db, *args, **kwargs)` on the store thread and return its result."""

        def call() -> R:
            return fn(self.db, *args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        """Checkpoint and close; pending calls finish first."""
        if self._db is not None:
            db = self._db
            await asyncio.get_running_loop().run_in_executor(self._executor, db.conn.close)
            self._db = None
        self._executor.shutdown(wait=True)
