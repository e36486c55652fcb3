"""Unguessable, expiring tokens for pictures: the only files a listener will ever serve."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024  # Twilio's limit for WhatsApp media


@dataclass(frozen=True, slots=True)
class Grant:
    path: Path
    content_type: str
    expires: float


class MediaTokens:
    """Maps random tokens to files for a while; anything else is a 404."""

    def __init__(self, ttl: float = 600.0) -> None:
        self.ttl = ttl
        self._grants: dict[str, Grant] = {}

    def issue(self, path: Path | str, content_type: str = "image/jpeg", ttl: float | None = None) -> str:
        self._sweep()
        token = secrets.token_urlsafe(24)
        self._grants[token] = Grant(Path(path), content_type, time.time() + (ttl or self.ttl))
        return token

    def resolve(self, token: str) -> Grant | None:
        grant = self._grants.get(token)
        if grant is None or grant.expires < time.time():
            self._grants.pop(token, None)
            return None
        return grant

    def _sweep(self) -> None:
        now = time.time()
        for token in [t for t, g in self._grants.items() if g.expires < now]:
            del self._grants[token]
