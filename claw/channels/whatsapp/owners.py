"""Who may talk to Claw over WhatsApp: the configured owners plus those added by chat (with a code)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from claw.assistant.toolbox import CURRENT_TURN, Tool
from claw.core.config import Owner
from claw.core.errors import ToolError
from claw.core.store import Store
from claw.core.store.audit import AuditEntry, get_setting, set_setting, write

log = logging.getLogger(__name__)

SETTING = "whatsapp.owners"  # JSON: {"added": [{"name", "number"}], "removed": ["+1555..."]}


class ConfirmationGuard(Protocol):
    """What the home part's guard offers (`app.guard`): run now if confirmed, else hold and ask for a code."""

    async def require(self, *, action: str, target: str, run: Callable[[], Awaitable[str]]) -> str: ...


def normalize(address: str) -> str:
    """Turn `whatsapp:+1 555 123-4567` into `+15551234567` (E.164, as the owner list keeps it)."""
    number = address.strip().removeprefix("whatsapp:").strip()
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"+{digits}" if digits else ""


class Owners:
    """The merged owner list; the config's owners plus runtime changes kept in the settings table."""

    def __init__(self, configured: tuple[Owner, ...], store: Store) -> None:
        self.configured = configured
        self.store = store
        self._added: list[Owner] = []
        self._removed: set[str] = set()

    async def load(self) -> None:
        raw = await self.store.run(get_setting, SETTING, "")
        if not raw:
            return
        try:
            data = json.loads(raw)
            self._added = [Owner(str(o["name"]), str(o["number"])) for o in data.get("added", [])]
            self._removed = {str(n) for n in data.get("removed", [])}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Never overwrite what we cannot read: keep the config owners only, and say so.
            log.error(
                "whatsapp: the stored owner changes (%s) are unreadable (%s); using [[owners]] only", SETTING, exc
            )

    def all(self) -> tuple[Owner, ...]:
        merged: dict[str, Owner] = {}
        for owner in (*self.configured, *self._added):
            if owner.number not in self._removed:
                merged[owner.number] = owner
        return tuple(merged.values())

    def find(self, address: str) -> Owner | None:
        number = normalize(address)
        return next((o for o in self.all() if o.number == number), None)

    def named(self, who: str) -> Owner | None:
        """An owner by number or (case-insensitive) name."""
        return (
            self.find(who)
            if any(ch.isdigit() for ch in who)
            else next((o for o in self.all() if o.name.lower() == who.strip().lower()), None)
        )

    async def add(self, owner: Owner) -> None:
        self._added = [o for o in self._added if o.number != owner.number] + [owner]
        self._removed.discard(owner.number)
        await self._save()

    async def remove(self, number: str) -> None:
        self._added = [o for o in self._added if o.number != number]
        self._removed.add(number)
        await self._save()

    async def _save(self) -> None:
        data = {"added": [{"name": o.name, "number": o.number} for o in self._added], "removed": sorted(self._removed)}
        await self.store.run(set_setting, SETTING, json.dumps(data))


def owner_tools(owners: Owners, guard: Callable[[], ConfirmationGuard | None], store: Store) -> list[Tool]:
    """`add_owner` and `remove_owner`: both wait for a one-time code echoed by an owner."""

    async def confirmed(action: str, target: str, run: Callable[[], Awaitable[str]]) -> str:
        g = guard()
        if g is None:
            raise ToolError(
                "changing the owner list needs a one-time confirmation code and the confirmation guard is not "
                "running; edit [[owners]] in the config file and restart Claw instead"
            )
        return await g.require(action="change owners", target=f"{action} {target}", run=run)

    async def audit(action: str, target: str) -> None:
        turn = CURRENT_TURN.get()
        await store.run(write, AuditEntry(turn.actor, turn.path, action, target, "ok", "owner list changed"))

    async def add_owner(name: str, number: str) -> str:
        clean = normalize(number)
        try:
            owner = Owner(name.strip(), clean)
        except ValueError as exc:
            raise ToolError(f"{number!r} is not a phone number in international form ({exc})") from None
        if not owner.name:
            raise ToolError("the new owner needs a name")
        if owners.find(clean) is not None:
            return f"{clean} is already an owner."

        async def run() -> str:
            await owners.add(owner)
            await audit("add owner", f"{owner.name} {owner.number}")
            log.info("whatsapp: %s (%s) is now an owner", owner.name, owner.number)
            return f"{owner.name} ({owner.number}) is now an owner and can message me on WhatsApp."

        return await confirmed("add", f"{owner.name} {owner.number}", run)

    async def remove_owner(who: str) -> str:
        owner = owners.named(who)
        if owner is None:
            names = ", ".join(f"{o.name} ({o.number})" for o in owners.all())
            raise ToolError(f"{who!r} is not an owner; the owners are: {names or 'nobody'}")
        if len(owners.all()) == 1:
            raise ToolError("that is the last owner; nobody could reach me any more. Add another owner first")

        async def run() -> str:
            await owners.remove(owner.number)
            await audit("remove owner", f"{owner.name} {owner.number}")
            log.info("whatsapp: %s (%s) is no longer an owner", owner.name, owner.number)
            return f"{owner.name} ({owner.number}) is no longer an owner."

        return await confirmed("remove", f"{owner.name} {owner.number}", run)

    number_schema: dict[str, Any] = {"type": "string", "description": "international form, e.g. +15551234567"}
    return [
        Tool(
            "add_owner",
            "Let a new person talk to Claw over WhatsApp as an owner (needs a confirmation code).",
            {
                "type": "object",
                "properties": {"name": {"type": "string"}, "number": number_schema},
                "required": ["name", "number"],
            },
            add_owner,
            sensitive=True,
            group="whatsapp",
        ),
        Tool(
            "remove_owner",
            "Stop an owner from talking to Claw over WhatsApp (needs a confirmation code).",
            {
                "type": "object",
                "properties": {"who": {"type": "string", "description": "the owner's name or number"}},
                "required": ["who"],
            },
            remove_owner,
            sensitive=True,
            group="whatsapp",
        ),
    ]
