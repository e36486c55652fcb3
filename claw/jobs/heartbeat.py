"""The heartbeat: plain code checks the house; the model is asked only to phrase what needs saying."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from claw.core.config import HeartbeatConfig
from claw.core.findings import Check, Finding, in_window, quiet_window
from claw.jobs.clock import Clock
from claw.jobs.schedule import Place

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 10.0  # seconds one provider may take before the beat goes on without it
PHRASE_SYSTEM = (
    "Write one short message to the owner about the house, from the findings below. Plain words, no greeting, "
    "no advice they did not ask for, nothing that is not in the findings. A phone screen at most."
)


def plain_list(findings: Sequence[Finding]) -> str:
    """What goes out when the model cannot phrase it: the findings, urgent first, one a line."""
    ordered = sorted(findings, key=lambda f: f.severity != "urgent")
    if len(ordered) == 1:
        return f"Heads-up: {ordered[0].text}"
    return "Heads-up:\n" + "\n".join(f"- {f.text}" for f in ordered)


class Heartbeat:
    """One beat: run every check, keep what is new (or a day old, or back after clearing), tell it, or stay silent."""

    def __init__(
        self,
        *,
        checks: Sequence[Check],
        clock: Clock,
        place: Place,
        config: HeartbeatConfig,
        phrase: Callable[[list[Finding]], Awaitable[str]],
        notify: Callable[[str, bool], Awaitable[None]],  # (text, urgent)
        load: Callable[[], Awaitable[dict[str, Any]]],
        save: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.checks, self.clock, self.place, self.config = checks, clock, place, config
        self.phrase, self.notify, self.load, self.save = phrase, notify, load, save
        self.quiet = quiet_window(config.quiet_hours)
        self._failing: set[str] = set()
        self._memory: dict[str, Any] | None = None

    async def beat(self) -> str:
        """Check the house once; returns a line for the history ("all quiet", "told 1 finding")."""
        now = self.clock.now()
        found = await self._findings()
        memory = self._memory if self._memory is not None else await self.load()
        before = dict(memory)
        stamp = now.timestamp()
        for key in [k for k in memory if k not in found]:  # cleared: a return is news again
            del memory[key]
        quiet = in_window(self.quiet, now.astimezone(self.place.tz).time())
        repeat = self.config.repeat_hours * 3600
        tell: list[Finding] = []
        held = 0
        for key, finding in found.items():
            told = float(memory.get(key, 0.0))
            memory.setdefault(key, 0.0)
            if told and stamp - told < repeat:
                continue
            if quiet and finding.severity != "urgent":
                held += 1
                continue
            tell.append(finding)
        if tell:
            text = await self.phrase(tell)
            await self.notify(text, any(f.severity == "urgent" for f in tell))
            for finding in tell:
                memory[finding.key] = stamp
        self._memory = memory
        if memory != before:
            await self.save(memory)
        if not found:
            return f"all quiet ({len(self.checks)} check{'s' if len(self.checks) != 1 else ''})"
        parts = [f"{len(found)} finding{'s' if len(found) != 1 else ''}"]
        if tell:
            parts.append(f"told {len(tell)}")
        if held:
            parts.append(f"{held} held for quiet hours")
        if not tell and not held:
            parts.append("already told")
        return ", ".join(parts)

    async def _findings(self) -> dict[str, Finding]:
        results = await asyncio.gather(*(self._run(check) for check in list(self.checks)))
        found: dict[str, Finding] = {}
        for finding in (f for batch in results for f in batch):
            if finding.key not in found or finding.severity == "urgent":
                found[finding.key] = finding
        return found

    async def _run(self, check: Check) -> list[Finding]:
        name = getattr(check, "__qualname__", repr(check))
        try:
            result = await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT)
        except Exception as exc:
            if name not in self._failing:  # said once, and once again when it recovers
                log.warning("heartbeat check %s failed: %r", name, exc)
                self._failing.add(name)
            return []
        if name in self._failing:
            log.info("heartbeat check %s works again", name)
            self._failing.discard(name)
        good = [f for f in result if isinstance(f, Finding)]
        if len(good) != len(result):
            log.warning("heartbeat check %s returned %d things that are not Findings", name, len(result) - len(good))
        return good
