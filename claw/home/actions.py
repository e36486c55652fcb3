"""The verbs of the home: resolve targets, apply through Control, run routines, phrase the outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from claw.core.errors import ClawError, NeedsConfirmation, TargetNotFound
from claw.core.request import Request
from claw.core.safety import Guard, KillSwitch
from claw.core.store import Store
from claw.core.store.audit import write
from claw.home.control import Change, Control, Result, say_results
from claw.home.device import Device
from claw.home.plans import from_plan
from claw.home.registry import Registry
from claw.home.routines import Routine, RoutineBook
from claw.home.states import already_words, thermostat_sentence
from claw.home.targeting import Resolver, Target, names

# Sets the cameras' alert mode for a routine (wired to the eyes by the daemon); returns what to tell the owner.
ModeSetter = Callable[[str, Request], Awaitable[str]]


class Actions:
    """The verbs of the home, shared by the fast path, the LLM tools, schedules and the dashboard."""

    def __init__(
        self,
        registry: Registry,
        control: Control,
        routines: RoutineBook,
        guard: Guard,
        killswitch: KillSwitch,
        store: Store,
        room_aliases: Mapping[str, str],
    ) -> None:
        self.registry, self.control, self.routines = registry, control, routines
        self.guard, self.killswitch, self.store = guard, killswitch, store
        self.room_aliases = room_aliases
        self.on_mode: ModeSetter | None = None

    def resolver(self) -> Resolver:
        return Resolver(self.registry.devices(), self.room_aliases)

    async def change(self, target: Target, change: Change, turn: Request) -> tuple[str, list[Result]]:
        devices = self.resolver().resolve(target)
        results = await self.control.apply(devices, change, turn)
        if all(r.status == "unsupported" for r in results):
            kinds = sorted({d.kind.replace("_", " ") for d in devices})
            return f"{target.describe().capitalize()} ({', '.join(kinds)}) can't {change.describe()}.", results
        return say_results([r for r in results if r.status != "unsupported"], change), results

    async def run_routine_named(self, name: str, request: Request) -> str:
        """Run a routine by name (a schedule); ClawError when there is none by that name now."""
        routine = self.routines.get(name)
        if routine is None:
            known = ", ".join(r.name for r in self.routines.all()) or "none"
            raise ClawError(f"there is no routine called '{name}' now (routines: {known})")
        return await self.routine(routine, request)

    async def run_plan(self, plan: Mapping[str, Any], request: Request) -> str:
        """Carry out a stored device command (claw.home.plans) as the owner asked it then."""
        target, change = from_plan(plan)
        if isinstance(target, tuple):  # exact devices, as they were when the owner asked
            devices = [d for i in target if (d := self.registry.get(i)) is not None]
            if not devices:
                raise ClawError(f"the devices it was for are gone ({', '.join(plan.get('names', ()))})")
            results = await self.control.apply(devices, change, request)
            return say_results([r for r in results if r.status != "unsupported"], change)
        try:
            text, _ = await self.change(target, change, request)
        except TargetNotFound as exc:
            raise ClawError(str(exc)) from None
        return text

    async def routine(self, routine: Routine, turn: Request) -> str:
        """Run every step at once (one device's latency, not the sum); report per step."""
        if await self.killswitch.refuse(turn, f"routine {routine.name}"):
            return f"Automations are paused, so I did not run {routine.name}."
        if why := await self.control.admit(turn):  # refused as a whole: no step runs, the camera mode stays
            return why
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
            jobs.append(self.control.apply(devices, step.change, turn))
        outcomes: list[list[Result]] = list(await asyncio.gather(*jobs))
        mode_said = await self._camera_mode(routine, turn)
        await self.store.run(write, turn.audit(f"routine {routine.name}"))
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

    async def _camera_mode(self, routine: Routine, request: Request) -> str:
        """A routine may switch the cameras' alert mode (away, night); disarming still needs the code."""
        if not routine.mode or self.on_mode is None:
            return ""
        try:
            return await self.on_mode(routine.mode, request)
        except NeedsConfirmation as exc:
            return exc.prompt

    async def describe(self, target: Target, asked: str) -> str:
        """A state question answered in sentences: "The Garage Door is closed."."""
        devices = self.resolver().resolve(target)
        lines = [_state_sentence(d, asked) for d in devices[:12]]
        more = f" (and {len(devices) - 12} more)" if len(devices) > 12 else ""
        return " ".join(lines) + more

    async def allow(self, target: Target, request: Request) -> str:
        """Let Claw control devices that guard the house: needs the owner's code."""
        devices = self.resolver().resolve(target)

        async def approve() -> str:
            for d in devices:
                await self.registry.update(d, controllable=True)
            return f"I can control {names(devices)} now."

        return await self.guard.require(action="let me control", target=names(devices), run=approve, request=request)

    async def manage(self, target: Target, what: Literal["rename", "move"], value: str, request: Request) -> str:
        """Rename one device (the old name stays an alias) or move it to another room."""
        devices = self.resolver().resolve(target)
        if len(devices) != 1:
            return f"That matches {len(devices)} devices ({names(devices)}); name just one."
        device = devices[0]
        old = f"{device.name} in the {device.room}" if device.room else device.name
        if what == "rename":
            await self.registry.update(
                device, name=value.title(), aliases=tuple(dict.fromkeys([*device.aliases, device.name]))
            )
            result = f"Renamed {old} to {device.name}; the old name still works."
        else:
            await self.registry.update(device, room=value)
            result = f"Moved {device.name} to the {device.room}."
        await self.store.run(write, request.audit(what, old, "ok", result))
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
        return thermostat_sentence(device)
    if "state" in s:
        return f"The {device.name} is {s['state']}."
    if "locked" in s:
        return f"The {device.name} is {'locked' if s['locked'] else 'UNLOCKED'}."
    if "mode" in s and device.kind == "alarm":
        return f"The {device.name} is {already_words(device)}."  # "armed for the night", not "is night"
    if "on" in s:
        level = f" at {s['brightness']}%" if s.get("on") and "brightness" in s else ""
        return f"The {device.name} is {'on' if s['on'] else 'off'}{level}."
    if "position" in s:
        opened = "closed" if s["position"] == 0 else f"{s['position']}% open"
        return f"The {device.name} is {opened}."
    return f"The {device.name}: {', '.join(f'{k} {v}' for k, v in s.items()) or 'no readings yet'}."
