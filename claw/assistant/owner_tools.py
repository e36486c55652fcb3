"""The model's tools for the owner list: adding or removing an owner always waits for an owner's code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from claw.assistant.toolbox import Tool, current_request
from claw.core.request import Request


def owner_tools(
    add: Callable[[str, str, int, Request], Awaitable[str]],
    remove: Callable[[str, Request], Awaitable[str]],
    unremovable: Callable[[str], str | None],
) -> list[Tool]:
    """`add_owner` and `remove_owner` over the one identity map of owners (given by the daemon); `unremovable`
    says before any code is asked for why someone cannot be removed (not an owner, the last one)."""

    async def add_owner(name: str, number: str = "", telegram: int = 0) -> str:
        return await add(name, number, telegram, current_request())

    async def remove_owner(who: str) -> str:
        return await remove(who, current_request())

    number_schema: dict[str, Any] = {"type": "string", "description": "international form, e.g. +15551234567"}
    return [
        Tool(
            "add_owner",
            "Let a new person talk to Claw as an owner, on WhatsApp (number) and/or Telegram (user id); "
            "needs a confirmation code.",
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "number": number_schema,
                    "telegram": {"type": "integer", "minimum": 1, "description": "their Telegram user id"},
                },
                "required": ["name"],
            },
            add_owner,
            effect="manages",
        ),
        Tool(
            "remove_owner",
            "Stop an owner from talking to Claw, on every channel (needs a confirmation code).",
            {
                "type": "object",
                "properties": {"who": {"type": "string", "description": "the owner's name or number"}},
                "required": ["who"],
            },
            remove_owner,
            effect="manages",
            precheck=lambda args: unremovable(str(args.get("who") or "")),
        ),
    ]
