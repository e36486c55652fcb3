"""Where a running daemon listens, written into its state directory so `claw chat`, `mcp` and `doctor` find it."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

FILE = "daemon.json"  # {"url": "http://127.0.0.1:8765", "pid": 1234}; removed when the daemon stops


@dataclass(frozen=True, slots=True)
class Running:
    """A daemon that said where it listens: its private listener's base URL and its process id."""

    url: str
    pid: int
    state_dir: Path

    @property
    def alive(self) -> bool:
        """Whether its process still exists (a daemon killed with -9 leaves its file behind)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # it exists, under another user
            return True
        return True


def announce(state_dir: Path, url: str) -> None:
    """Say where this process listens (written whole, then renamed: a reader never sees half a file)."""
    partial = state_dir / f".{FILE}.partial"
    partial.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    partial.replace(state_dir / FILE)


def withdraw(state_dir: Path) -> None:
    """Remove the file, if it is still this process's own."""
    found = running(state_dir)
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            (state_dir / FILE).unlink()


def running(state_dir: Path) -> Running | None:
    """The daemon that last announced itself in `state_dir`; None when none did (or the file is unreadable)."""
    try:
        data = json.loads((state_dir / FILE).read_text(encoding="utf-8"))
        return Running(url=str(data["url"]), pid=int(data["pid"]), state_dir=state_dir)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def default_dirs() -> list[Path]:
    """Where to look when nothing names a state dir: `claw demo`'s (here) and `claw init`'s defaults."""
    return [Path(".claw-demo"), Path("~/.local/share/claw").expanduser()]


def find(dirs: list[Path]) -> Running | None:
    """The first daemon announced in `dirs` whose process is alive."""
    for folder in dirs:
        found = running(folder)
        if found is not None and found.alive:
            return found
    return None
