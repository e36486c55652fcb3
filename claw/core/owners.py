"""The one identity map of owners, for every channel: the config's [[owners]] plus changes made by chat (with a code).

An owner is one person with a WhatsApp number, a Telegram user id (in their own private chat), or both, and
an alert preference. WhatsApp, Telegram and the owner tools all read this one map, so removing an owner by
chat stops them on every channel at once.
"""

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

# JSON: {"added": [{"name", "number", "telegram", "prefer"}], "removed": ["+1555...", "telegram:42"]} (owner keys).
# The name is older than Telegram: databases written before keep working.
SETTING = "whatsapp.owners"


def normalize(address: str) -> str:
    """Turn `whatsapp:+1 555 123-4567` into `+15551234567` (E.164, as the owner list keeps it)."""
    number = address.strip().removeprefix("whatsapp:").strip()
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"+{digits}" if digits else ""


class Owners:
    """The merged owner list: the config's owners plus runtime changes kept in the settings table."""

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
            self._added = [_stored(o) for o in data.get("added", [])]
            self._removed = {str(n) for n in data.get("removed", [])}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Never overwrite what we cannot read: keep the config owners only, and say so.
            log.error("owners: the stored owner changes (%s) are unreadable (%s); using [[owners]] only", SETTING, exc)

    def all(self) -> tuple[Owner, ...]:
        """Every owner now, one entry per person (keyed by number, else Telegram id)."""
        merged: dict[str, Owner] = {}
        for owner in (*self.configured, *self._added):
            if owner.key not in self._removed and not (
                owner.telegram and f"telegram:{owner.telegram}" in self._removed
            ):
                merged[owner.key] = owner
        return tuple(merged.values())

    def find(self, address: str) -> Owner | None:
        """The owner with this WhatsApp number (any spelling of it)."""
        number = normalize(address)
        return next((o for o in self.all() if number and o.number == number), None)

    def by_telegram(self, user_id: int) -> Owner | None:
        """The owner with this Telegram user id."""
        return next((o for o in self.all() if user_id and o.telegram == user_id), None)

    def by_key(self, key: str) -> Owner | None:
        """The owner whose conversation key (`Owner.key`) this is."""
        return next((o for o in self.all() if o.key == key), None)

    def named(self, who: str) -> Owner | None:
        """An owner by number or (case-insensitive) name."""
        if any(ch.isdigit() for ch in who):
            found = self.find(who)
            if found is None and who.strip().isdigit():
                found = self.by_telegram(int(who.strip()))
            return found
        return next((o for o in self.all() if o.name.lower() == who.strip().lower()), None)

    async def add(self, owner: Owner) -> None:
        self._added = [o for o in self._added if o.key != owner.key] + [owner]
        self._removed -= {owner.key, f"telegram:{owner.telegram}"}
        await self._save()

    async def remove(self, owner: Owner) -> None:
        """`owner` is no owner any more, on every channel."""
        self._added = [o for o in self._added if o.key != owner.key]
        self._removed.add(owner.key)
        if owner.telegram:
            self._removed.add(f"telegram:{owner.telegram}")
        await self._save()

    async def _save(self) -> None:
        added = [{"name": o.name, "number": o.number, "telegram": o.telegram, "prefer": o.prefer} for o in self._added]
        await self.store.run(set_setting, SETTING, json.dumps({"added": added, "removed": sorted(self._removed)}))


class OwnerChanges:
    """Adding and removing owners by chat: always held for an owner's code, always audited."""

    def __init__(self, owners: Owners, guard: Guard, store: Store) -> None:
        self.owners, self.guard, self.store = owners, guard, store

    async def add(self, name: str, number: str, telegram: int, request: Request) -> str:
        """Add an owner by WhatsApp number and/or Telegram user id, once an owner's code says yes."""
        clean = normalize(number) if number else ""
        try:
            owner = Owner(name.strip(), clean, telegram)
        except ValueError as exc:
            raise ToolError(f"give a phone number in international form or a Telegram user id ({exc})") from None
        if not owner.name:
            raise ToolError("the new owner needs a name")
        if (clean and self.owners.find(clean) is not None) or (telegram and self.owners.by_telegram(telegram)):
            return f"{owner.name} ({_address(owner)}) is already an owner."
        where = " and ".join(w for w, on in (("WhatsApp", owner.number), ("Telegram", owner.telegram)) if on)

        async def run() -> str:
            await self.owners.add(owner)
            await self._audit(request, "add owner", f"{owner.name} {_address(owner)}")
            log.info("owners: %s (%s) is now an owner", owner.name, _address(owner))
            return f"{owner.name} ({_address(owner)}) is now an owner and can message me on {where}."

        return await self.guard.require(
            action="change owners", target=f"add {owner.name} {_address(owner)}", run=run, request=request
        )

    def unremovable(self, who: str) -> str | None:
        """Why `who` cannot be removed (not an owner, the last one), or None: asked before any code is."""
        if self.owners.named(who) is None:
            names = ", ".join(f"{o.name} ({_address(o)})" for o in self.owners.all())
            return f"{who!r} is not an owner; the owners are: {names or 'nobody'}"
        if len(self.owners.all()) == 1:
            return "that is the last owner; nobody could reach me any more. Add another owner first"
        return None

    async def remove(self, who: str, request: Request) -> str:
        problem = self.unremovable(who)
        if problem is not None:
            raise ToolError(problem)
        owner = self.owners.named(who)
        assert owner is not None

        async def run() -> str:
            await self.owners.remove(owner)
            await self._audit(request, "remove owner", f"{owner.name} {_address(owner)}")
            log.info("owners: %s (%s) is no longer an owner", owner.name, _address(owner))
            return f"{owner.name} ({_address(owner)}) is no longer an owner, on any channel."

        return await self.guard.require(
            action="change owners", target=f"remove {owner.name} {_address(owner)}", run=run, request=request
        )

    async def _audit(self, request: Request, action: str, target: str) -> None:
        await self.store.run(write, request.audit(action, target, "ok", "owner list changed"))


def _stored(row: dict[str, object]) -> Owner:
    """One owner added by chat, as `_save` wrote it (rows from before Telegram have a name and a number only)."""
    prefer = str(row.get("prefer", ""))
    return Owner(
        str(row["name"]),
        str(row.get("number", "")),
        int(str(row.get("telegram", 0))),
        "whatsapp" if prefer == "whatsapp" else "telegram" if prefer == "telegram" else "",
    )


def _address(owner: Owner) -> str:
    both = [a for a in (owner.number, f"Telegram {owner.telegram}" if owner.telegram else "") if a]
    return ", ".join(both)
