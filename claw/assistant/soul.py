"""SOUL.md, the personality: the first part of every system prompt, re-read when the file changes."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

FALLBACK = "You are Claw, the assistant who lives in this house. Be brief, warm and exact."


class Soul:
    """Reads the personality file lazily and again whenever its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[float, int] | None = None
        self._text = FALLBACK

    @property
    def text(self) -> str:
        try:
            stat = self.path.stat()
        except OSError:
            if self._stamp is not None:
                log.warning("%s is gone; keeping the personality already loaded", self.path)
                self._stamp = None
            return self._text
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._stamp:
            try:
                text = self.path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                log.warning("cannot read %s (%s); keeping the personality already loaded", self.path, exc)
                return self._text
            self._text = text or FALLBACK
            if self._stamp is not None:
                log.info("personality reloaded from %s", self.path)
            self._stamp = stamp
        return self._text
