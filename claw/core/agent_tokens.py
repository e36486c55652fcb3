"""Agents' tokens (`[mcp] agents`): one per agent, kept in the state dir (0600), never the dashboard's.

`claw mcp token NAME` shows one and `--rotate` replaces it; the daemon reads the file again whenever it
changes, so a rotated token stops working at once, without a restart.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path

from claw.core.errors import ClawError

log = logging.getLogger(__name__)

FILE = "agent-tokens.json"  # {"agent-name": "token", ...}


class AgentTokens:
    """Which agent a token belongs to; creates the configured agents' tokens on first use."""

    def __init__(self, state_dir: Path, names: tuple[str, ...]) -> None:
        self.path = state_dir / FILE
        self.names = names
        self._seen: tuple[int, int, int] | None = None
        self._tokens: dict[str, str] = {}

    def ensure(self) -> None:
        """Give every configured agent a token (kept ones stay)."""
        tokens = self._read()
        missing = [n for n in self.names if n not in tokens]
        if missing:
            tokens.update({n: secrets.token_urlsafe(24) for n in missing})
            self._write(tokens)

    def token(self, name: str, *, rotate: bool = False) -> str:
        """The agent's token (made now if it has none); `rotate`: a new one, the old one stops working."""
        if name not in self.names:
            known = ", ".join(self.names) or "none"
            raise ClawError(f"there is no agent called {name!r} in [mcp] agents (agents: {known}); add it there first")
        tokens = self._read()
        if rotate or name not in tokens:
            tokens[name] = secrets.token_urlsafe(24)
            self._write(tokens)
        return tokens[name]

    @staticmethod
    def stored(state_dir: Path, name: str = "") -> str:
        """The token kept for agent `name` (no name: the only one, or the one called "agent"); "" if none."""
        try:
            data = json.loads((state_dir / FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        if not isinstance(data, dict):
            return ""
        if not name:
            name = next(iter(data)) if len(data) == 1 else "agent"
        return str(data.get(name, ""))

    def who(self, offered: str) -> str | None:
        """The configured agent whose token this is (constant-time per token), else None."""
        if not offered:
            return None
        found = None
        for name, token in self._current().items():
            if name in self.names and token and hmac.compare_digest(offered.encode(), token.encode()):
                found = name
        return found

    def _current(self) -> dict[str, str]:
        try:
            stat = self.path.stat()
        except OSError:
            return {}
        seen = (stat.st_mtime_ns, stat.st_size, stat.st_ino)  # a rotation replaces the file
        if seen != self._seen:
            self._tokens, self._seen = self._read(), seen
        return self._tokens

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ClawError(
                f"{self.path} is unreadable ({exc}): move it aside and run `claw mcp token` again"
            ) from None
        if not isinstance(data, dict):
            raise ClawError(f"{self.path} is not a table of agent tokens: move it aside and run `claw mcp token` again")
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, tokens: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(tokens, out, indent=1, sort_keys=True)
        temporary.replace(self.path)
        log.info("agent tokens in %s: %s", self.path, ", ".join(sorted(tokens)))
