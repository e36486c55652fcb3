"""The words people wrap a command in ("please", "hey claw", "could you"), which change nothing it asks."""

from __future__ import annotations

import re

_POLITE = re.compile(r"^(?:please|hey claw|claw|ok claw|can you|could you|would you)[,\s]+|[,\s]+(?:please|thanks)$")


def without_politeness(text: str) -> str:
    """The command inside a polite message: "could you turn off the lights please" -> "turn off the lights"."""
    return _POLITE.sub("", text).strip()
