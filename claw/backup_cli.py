"""`claw backup` copies the state database now (Claw may be running); `claw restore FILE` puts a copy back."""

from __future__ import annotations

import time
from pathlib import Path

from claw.core import instance
from claw.core.config import Config
from claw.core.errors import StateError
from claw.core.store import backup as copies

DB = "claw.db"


def backup(config: Config, *, listing: bool = False) -> int:
    """Take a backup (or list them); print where it went."""
    db_path = config.state_path / DB
    folder = copies.folder_for(db_path)
    if listing:
        found = copies.backups(folder)
        if not found:
            print(f"No backups in {folder} yet: `claw backup` takes one.")
        for path in reversed(found):
            taken = time.strftime("%Y-%m-%d %H:%M", time.localtime(copies.taken_at(path)))
            print(f"{path}  {taken}  {path.stat().st_size // 1024} kB")
        return 0
    if not db_path.is_file():
        raise StateError(f"{db_path} does not exist yet: start Claw once (`claw run`), then back it up")
    if damage := copies.problem(db_path):
        raise StateError(f"{db_path} is damaged ({damage}): `claw restore FILE` puts a good backup back")
    started = time.perf_counter()
    path = copies.backup(db_path, folder, keep=config.backup.keep)
    took = time.perf_counter() - started
    print(f"Backed up {db_path} to {path} ({path.stat().st_size // 1024} kB in {took:.1f} s).")
    return 0


def restore(config: Config, file: Path) -> int:
    """Put `file` in place of the state database; refused while a Claw runs on it."""
    db_path = config.state_path / DB
    running = instance.find([config.state_path])
    if running is not None:
        raise StateError(
            f"Claw is running on {config.state_path} (process {running.pid}): stop it first "
            "(`systemctl stop claw`, or Ctrl-C), then restore"
        )
    aside = copies.restore(db_path, file.expanduser())
    kept = f"; the database it replaced is kept as {aside}" if aside else ""
    print(f"Restored {db_path} from {file}{kept}. Start Claw again to use it.")
    return 0
