"""SQLite in WAL mode: the one place that owns the schema and writes the database."""

from claw.core.store.db import Store

__all__ = ["Store"]
