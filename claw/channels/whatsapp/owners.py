"""Who may talk to Claw over WhatsApp: the configured owners plus those added by chat (with a code)."""

from __future__ import annotations

import json
import logging

from claw.core.config import Owner
from claw.core.errors import ToolError
from claw.core.request import Request
from claw.core.safety import Guard
from claw.core.store import Store
from claw.core.store.audit import get_setting, set_setting, write

log = logging.getLogger(__name__)

SETTING = "whatsapp.owners"  # JSON: {"added": [{"name", "number"}], "removed": ["+1555..."]}


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
            if owner.number and owner.number not in self._removed:  # an owner on Telegram only has no number
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


class OwnerChanges:
    """Adding and removing owners by chat: always held for an owner's code, always audited."""

    def __init__(self, owners: Owners, guard: Guard, store: Store) -> None:
        self.owners, self.guard, self.store = owners, guard, store

    async def add(self, name: str, number: str, request: Request) -> str:
        clean = normalize(number)
        try:
            owner = Owner(name.strip(), clean)
        except ValueError as exc:
            raise ToolError(f"{number!r} is not a phone number in international form ({exc})") from None
        if not owner.name:
            raise ToolError("the new owner needs a name")
        if self.owners.find(clean) is not None:
            return f"{clean} is already an owner."

        async def run() -> str:
            await self.owners.add(owner)
            await self._audit(request, "add owner", f"{owner.name} {owner.number}")
            log.info("whatsapp: %s (%s) is now an owner", owner.name, owner.number)
            return f"{owner.name} ({owner.number}) is now an owner and can message me on WhatsApp."

        return await self.guard.require(
            action="change owners", target=f"add {owner.name} {owner.number}", run=run, request=request
        )

    async def remove(self, who: str, request: Request) -> str:
        owner = self.owners.named(who)
        if owner is None:
            names = ", ".join(f"{o.name} ({o.number})" for o in self.owners.all())
            raise ToolError(f"{who!r} is not an owner; the owners are: {names or 'nobody'}")
        if len(self.owners.all()) == 1:
            raise ToolError("that is the last owner; nobody could reach me any more. Add another owner first")

        async def run() -> str:
            await self.owners.remove(owner.number)
            await self._audit(request, "remove owner", f"{owner.name} {owner.number}")
            log.info("whatsapp: %s (%s) is no longer an owner", owner.name, owner.number)
            return f"{owner.name} ({owner.number}) is no longer an owner."

        return await self.guard.require(
            action="change owners", target=f"remove {owner.name} {owner.number}", run=run, request=request
        )

    async def _audit(self, request: Request, action: str, target: str) -> None:
        await self.store.run(write, request.audit(action, target, "ok", "owner list changed"))
