"""Which SQLite library the store uses: one for every connection, since two in one process corrupt each other."""

from __future__ import annotations

import importlib
import sqlite3
from typing import Any


def sqlite_driver() -> Any:
    """pysqlite3 where installed (its SQLite may load extensions; sqlite_utils then uses it too), else sqlite3.

    Every connection to the database (the store's, a backup's, an integrity check's) must come from here:
    two SQLite libraries in one process do not see each other's locks, and one closing its file can pull
    the shared-memory index from under the other (a bus error, or a damaged database).
    """
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError:  # not on this platform: the standard library, maybe without extension loading
        return sqlite3
