"""Carry out intents and routines: resolve targets, apply through Control, phrase the outcome."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from claw.assistant.home_intents import Intent
from claw.assistant.toolbox import Turn
from claw.core.errors import NeedsConfirmation, TargetNotFound
from claw.core.store.audit import AuditEntry, get_setting, write
from claw.home.control import Change, Result, say_results
from claw.home.device import Device
from claw.home.routines import Routine
from claw.home.targeting import Resolver, Target, names

if TYPE_CHECKING:
    from claw.home.part import Home

PAUSED_KEY = "automations_paused"


class Actions:
    """The verbs of the home, shared by the fast path, the LLM tools, schedules and the dashboard."""

    def __init__(self, home: Home) -> None:
        self.home = home

    def resolver(self) -> Resolver:
        return Resolver(self.home.registry.devices(), self.home.room_aliases)

    async def change(self, target: Target, change: Change, turn: Turn) -> tuple[str, list[Result]]:
        devices = self.resolver().resolve(target)
        results = await self.home.control.apply(devices, change, turn)
        if all(r.status == "unsupported" for r in results):
            kinds = sorted({d.kind.replace("_", " ") for d in devices})
            return f"{target.describe().capitalize()} ({', '.join(kinds)}) can't {change.describe()}.", results
        return say_results([r for r in results if r.status != "unsupported"], change), results

    async def routine(self, routine: Routine, turn: Turn) -> str:
        """Run every step at once (one device's latency, not the sum); report per step."""
        if await self.home.store.run(get_setting, PAUSED_KEY) == "1" and turn.path in ("schedule", "dashboard"):
            await self.home.store.run(
                write,
                AuditEntry(
                    turn.actor,
                    turn.path,
                    f"routine {routine.name}",
                    "",
                    "denied",
                    "automations are paused (kill switch)",
                ),
            )
            return f"Automations are paused, so I did not run {routine.name}."
        resolver = self.resolver()
        changes: list[Change] = []
        jobs: list[Any] = []
        missing: list[str] = []
        for step in routine.steps:
            try:
                devices = resolver.resolve(step.target)
            except TargetNotFound:
                if step.target.name:  # a named device that is gone is worth saying; a missing kind is not
                    missing.append(f"I couldn't find {step.target.describe()}.")
                continue
            changes.append(step.change)
            jobs.append(self.home.control.apply(devices, step.change, turn))
        outcomes: list[list[Result]] = list(await asyncio.gather(*jobs))
        mode_said = await self._camera_mode(routine)
        await self.home.store.run(write, AuditEntry(turn.actor, turn.path, f"routine {routine.name}", "", "ok", ""))
        parts = []
        for change, step_results in zip(changes, outcomes, strict=True):
            useful = [r for r in step_results if r.status != "unsupported"]
            if useful:
                parts.append(say_results(useful, change))
        parts.extend(missing)
        if mode_said:
            parts.append(mode_said)
        body = " ".join(parts) or "There was nothing to do."
        return f"{routine.name.capitalize()}: {body}"

    async def _camera_mode(self, routine: Routine) -> str:
        """A routine may switch the cameras' alert mode (away, night); disarming still needs the code."""
        eyes = self.home.app.eyes
        if not routine.mode or eyes is None:
            return ""
        try:
            return str(await eyes.set_mode(routine.mode))
        except NeedsConfirmation as exc:
            return exc.prompt

    async def query(self, intent: Intent) -> str:
        devices = self.resolver().resolve(intent.target)
        lines = [_state_sentence(d, intent.query) for d in devices[:12]]
        more = f" (and {len(devices) - 12} more)" if len(devices) > 12 else ""
        return " ".join(lines) + more

    async def run_intent(self, intent: Intent, turn: Turn) -> str:
        try:
            if intent.kind == "routine" and intent.routine is not None:
                return await self.routine(intent.routine, turn)
            if intent.kind == "change":
                text, _ = await self.change(intent.target, intent.change, turn)
                return text
            if intent.kind == "query":
                return await self.query(intent)
            if intent.kind == "allow":
                return await self.allow(intent.target, turn)
            if intent.kind in ("rename", "move"):
                return await self.manage(intent, turn)
        except TargetNotFound as exc:
            return str(exc)
        except NeedsConfirmation as exc:
            return exc.prompt
        return "I'm not sure what to do with that."

    async def allow(self, target: Target, turn: Turn) -> str:
        devices = self.resolver().resolve(target)

        async def approve() -> str:
            for d in devices:
                await self.home.registry.update(d, controllable=True)
            return f"I can control {names(devices)} now."

        return await self.home.guard.require(action="let me control", target=names(devices), run=approve)

    async def manage(self, intent: Intent, turn: Turn) -> str:
        devices = self.resolver().resolve(intent.target)
        if len(devices) != 1:
            return f"That matches {len(devices)} devices ({names(devices)}); name just one."
        device = devices[0]
        old = f"{device.name} in the {device.room}" if device.room else device.name
        if intent.kind == "rename":
            await self.home.registry.update(
                device, name=intent.value.title(), aliases=tuple(dict.fromkeys([*device.aliases, device.name]))
            )
            result = f"Renamed {old} to {device.name}; the old name still works."
        else:
            await self.home.registry.update(device, room=intent.value)
            result = f"Moved {device.name} to the {device.room}."
        await self.home.store.run(write, AuditEntry(turn.actor, turn.path, intent.kind, old, "ok", result))
        return result


def _state_sentence(device: Device, asked: str) -> str:
    s = device.state
    if not device.available:
        return f"I can't reach the {device.name} right now."
    if asked == "playing" or device.kind == "speaker":
        track = s.get("title") or s.get("uri") or "nothing"
        playing = s.get("playback") == "playing"
        doing = f"playing {track}" if playing else "not playing"
        return f"The {device.name} is {doing} (volume {s.get('volume', '?')})."
    if asked == "temperature" or device.kind == "thermostat":
        return (
            f"The {device.name} reads {s.get('current_temp', '?')}°C, set to {s.get('target_temp', '?')}°C"
            f"{', mode ' + str(s['mode']) if 'mode' in s else ''}."
        )
    if "state" in s:
        return f"The {device.name} is {s['state']}."
    if "locked" in s:
        return f"The {device.name} is {'locked' if s['locked'] else 'UNLOCKED'}."
    if "mode" in s and device.kind == "alarm":
        return f"The {device.name} is {s['mode']}."
    if "on" in s:
        level = f" at {s['brightness']}%" if s.get("on") and "brightness" in s else ""
        return f"The {device.name} is {'on' if s['on'] else 'off'}{level}."
    if "position" in s:
        opened = "closed" if s["position"] == 0 else f"{s['position']}% open"
        return f"The {device.name} is {opened}."
    return f"The {device.name}: {', '.join(f'{k} {v}' for k, v in s.items()) or 'no readings yet'}."
