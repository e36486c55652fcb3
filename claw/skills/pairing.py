"""Pairing: tell the owner the steps, ask the device until it hands out a token, keep it in the state dir."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from claw.core.errors import DeviceError
from claw.home.device import Found
from claw.skills.format import Skill
from claw.skills.http import DeviceHttp, prepare

log = logging.getLogger(__name__)
Notify = Callable[[str], Awaitable[None]]


class TokenStore:
    """Tokens a device handed out when paired: `<state>/skills-data/<skill>/tokens.json`, owner-only."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, dict[str, str]] = {}

    def _file(self, skill: str) -> Path:
        return self.folder / skill / "tokens.json"

    def get(self, skill: str, key: str) -> str | None:
        if skill not in self._cache:
            self._cache[skill] = _read(self._file(skill))
        return self._cache[skill].get(key)

    async def put(self, skill: str, key: str, token: str) -> None:
        tokens = {**self._cache.get(skill, _read(self._file(skill))), key: token}
        self._cache[skill] = tokens
        await asyncio.to_thread(_write, self._file(skill), tokens)


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("cannot read the paired tokens in %s (%s); pairing again will replace them", path, exc)
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write(path: Path, tokens: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(tokens, handle, indent=1)
    tmp.replace(path)


class Pairer:
    """Runs one pairing at a time per device; a second caller waits for the first one's token."""

    def __init__(self, skill: Skill, http: DeviceHttp, tokens: TokenStore, notify: Notify | None) -> None:
        self.skill, self.http, self.tokens, self.notify = skill, http, tokens, notify
        self._locks: dict[str, asyncio.Lock] = {}
        self._told: set[str] = set()  # devices whose owner already has the steps: later tries are silent
        self.waiting: dict[str, str] = {}  # devices seen and not paired yet (id -> name): the dashboard says so

    def token(self, key: str) -> str | None:
        return self.tokens.get(self.skill.name, key)

    async def ensure(self, found: Found) -> str:
        """The device's token, pairing first if there is none (bounded by the skill's pairing timeout)."""
        lock = self._locks.setdefault(found.id, asyncio.Lock())
        async with lock:
            token = self.token(found.id)
            if token:
                return token
            return await self._pair(found)

    async def _pair(self, found: Found) -> str:
        pairing = self.skill.pairing
        assert pairing is not None and pairing.request is not None and pairing.token is not None
        steps = " ".join(f"{i}. {step}" for i, step in enumerate(pairing.steps, 1))
        log.info("pairing %s (%s) at %s", found.name, self.skill.name, found.address)
        self.waiting[found.id] = found.name
        if self.notify is not None and found.id not in self._told:
            self._told.add(found.id)
            await self.notify(f"To let me control the {found.name} ({self.skill.name}): {steps}")
        host, _, port = found.address.rpartition(":")
        scope: dict[str, Any] = {
            "device": {"id": found.id, "name": found.name, "address": found.address},
            "host": host,
            "port": port,
            "address": found.address,
            "name": found.name,
        }
        prepared = prepare(pairing.request, scope)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + pairing.timeout
        last = ""
        while loop.time() < deadline:
            try:
                answer = await self.http.call(found.name, found.address, prepared, auth=False)
            except DeviceError as exc:
                answer, last = None, exc.problem
            token = pairing.token.get(answer) if answer is not None else None
            if isinstance(token, str) and token:
                await self.tokens.put(self.skill.name, found.id, token)
                self.waiting.pop(found.id, None)
                log.info("paired %s (%s)", found.name, self.skill.name)
                if self.notify is not None:
                    await self.notify(f"Paired with the {found.name}.")
                return token
            if pairing.error is not None and answer is not None:
                said = pairing.error.get(answer)
                last = str(said) if isinstance(said, str) else last
            await asyncio.sleep(pairing.every)
        raise DeviceError(found.name, f"was not paired within {pairing.timeout:.0f} s ({last or 'no answer'})")
