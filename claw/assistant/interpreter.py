"""Reading a scheduled command's words once into a plan the home runs directly (claw.home.plans)."""

from __future__ import annotations

from typing import Any

from claw.assistant.plain_commands import PlainCommands
from claw.home.house import Home
from claw.home.plans import plan_of


class Interpreter:
    """Turns "turn on the porch light" into {"target": ..., "change": ...} with the fast path's grammar."""

    def __init__(self, home: Home) -> None:
        self.path = PlainCommands(home.actions, home.routines, lambda: home.version)

    def plan(self, text: str) -> dict[str, Any] | None:
        """The plan for a device command, or None when the words are not one complete, known command."""
        intent = self.path.matcher().match(text)
        if intent is None or intent.kind != "change":
            return None
        return plan_of(intent.target, intent.change)
