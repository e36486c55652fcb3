"""The verbs of the home: resolve targets, apply through Control, run routines; outcomes typed, never worded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from claw.core.errors import ClawError, NeedsConfirmation, TargetNotFound
from claw.core.ratelimit import ALLOWED, Refusal
from claw.core.request import Request
from claw.core.safety import Ask, Guard, KillSwitch, Pending
from claw.core.store import Store
from claw.core.store.audit import write
from claw.home.control import Applied, Change, Control, Result
from claw.home.plans import from_plan
from claw.home.registry import Registry
from claw.home.routines import Routine, RoutineBook
from claw.home.targeting import Resolver, Target

# Sets the cameras' alert mode for a routine (wired to the eyes by the daemon); returns the eyes' typed outcome.
ModeSetter = Callable[[str, Request], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class RoutineOutcome:
    """What a routine did: each step's results, the named devices it could not find, the cameras' mode reply."""

    name: str
    steps: tuple[Applied, ...] = ()
    missing: tuple[str, ...] = ()  # device names a step named that are gone
    mode: object = None  # the cameras' alert mode outcome (the eyes' type; speech says it)
    mode_held: Pending | None = None  # the mode change disarms a camera: it waits for this code
    stopped: Literal["", "paused", "limited"] = ""  # not run: the kill switch, or the command limit (`why`)
    why: Refusal = ALLOWED


@dataclass(frozen=True, slots=True)
class Allowed:
    """Claw may control these devices now (the owner's code released it)."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Managed:
    """A device renamed (the old name stays an alias) or moved, or why not: it matched `matched` devices."""

    what: Literal["rename", "move"]
    old: str  # its name before
    name: str  # its name now
    room: str  # its room now
    old_room: str = ""
    matched: tuple[str, ...] = ()  # more than one device matched: nothing changed


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
        room_floors: Mapping[str, str] | None = None,
    ) -> None:
        self.registry, self.control, self.routines = registry, control, routines
        self.guard, self.killswitch, self.store = guard, killswitch, store
        self.room_aliases = room_aliases
        self.room_floors = room_floors or {}  # the floor the config declares per room: its devices are on it
        self.on_mode: ModeSetter | None = None

    def resolver(self) -> Resolver:
        return Resolver(self.registry.devices(), self.room_aliases, self.room_floors)

    async def change(self, target: Target, change: Change, turn: Request) -> Applied:
        """Apply `change` to what `target` names; every device's result, the unsupported ones included."""
        devices = self.resolver().resolve(target, power=change.power is not None)
        return Applied(tuple(await self.control.apply(devices, change, turn)), change)

    async def run_routine_named(self, name: str, request: Request) -> RoutineOutcome:
        """Run a routine by name (a schedule); ClawError when there is none by that name now."""
        routine = self.routines.get(name)
        if routine is None:
            known = ", ".join(r.name for r in self.routines.all()) or "none"
            raise ClawError(f"there is no routine called '{name}' now (routines: {known})")
        return await self.routine(routine, request)

    async def run_plan(self, plan: Mapping[str, Any], request: Request) -> Applied:
        """Carry out a stored device command (claw.home.plans) as the owner asked it then."""
        target, change = from_plan(plan)
        if isinstance(target, tuple):  # exact devices, as they were when the owner asked
            devices = [d for i in target if (d := self.registry.get(i)) is not None]
            if not devices:
                raise ClawError(f"the devices it was for are gone ({', '.join(plan.get('names', ()))})")
            return Applied(tuple(await self.control.apply(devices, change, request)), change)
        try:
            return await self.change(target, change, request)
        except TargetNotFound as exc:
            raise ClawError(str(exc)) from None

    async def routine(self, routine: Routine, turn: Request) -> RoutineOutcome:
        """Run every step at once (one device's latency, not the sum); the outcome per step."""
        if await self.killswitch.refuse(turn, f"routine {routine.name}"):
            return RoutineOutcome(routine.name, stopped="paused")
        if why := await self.control.admit(turn):  # refused as a whole: no step runs, the camera mode stays
            return RoutineOutcome(routine.name, stopped="limited", why=why)
        resolver = self.resolver()
        changes: list[Change] = []
        jobs: list[Any] = []
        missing: list[str] = []
        for step in routine.steps:
            try:
                devices = resolver.resolve(step.target, power=step.change.power is not None)
            except TargetNotFound:
                if step.target.name:  # a named device that is gone is worth saying; a missing kind is not
                    missing.append(step.target.name)
                continue
            changes.append(step.change)
            jobs.append(self.control.apply(devices, step.change, turn))
        outcomes: list[list[Result]] = list(await asyncio.gather(*jobs))
        mode_said, mode_held = await self._camera_mode(routine, turn)
        await self.store.run(write, turn.audit(f"routine {routine.name}"))
        steps = tuple(Applied(tuple(r), c) for c, r in zip(changes, outcomes, strict=True))
        return RoutineOutcome(routine.name, steps, tuple(missing), mode_said, mode_held)

    async def _camera_mode(self, routine: Routine, request: Request) -> tuple[object, Pending | None]:
        """A routine may switch the cameras' alert mode (away, night); disarming still needs the code."""
        if not routine.mode or self.on_mode is None:
            return None, None
        try:
            return await self.on_mode(routine.mode, request), None
        except NeedsConfirmation as exc:
            held = [p for p in self.guard.pending() if p.code == exc.code] or request.receipt.held[-1:]
            return None, held[0] if held else None

    async def allow(self, target: Target, request: Request) -> str:
        """Let Claw control devices that guard the house: needs the owner's code."""
        devices = self.resolver().resolve(target)

        async def approve() -> Allowed:
            for d in devices:
                await self.registry.update(d, controllable=True)
            return Allowed(tuple(d.name for d in devices))

        ask = Ask("allow", tuple(d.name for d in devices))
        return await self.guard.require(run=approve, request=request, ask=ask)

    async def manage(self, target: Target, what: Literal["rename", "move"], value: str, request: Request) -> Managed:
        """Rename one device (the old name stays an alias) or move it to another room."""
        devices = self.resolver().resolve(target)
        if len(devices) != 1:
            return Managed(what, "", "", "", matched=tuple(d.name for d in devices))
        device = devices[0]
        old, old_room = device.name, device.room
        if what == "rename":
            await self.registry.update(
                device, name=value.title(), aliases=tuple(dict.fromkeys([*device.aliases, device.name]))
            )
        else:
            await self.registry.update(device, room=value)
        said = f"{old} in the {old_room}" if old_room else old
        await self.store.run(write, request.audit(what, said, "ok", f"now {device.name} in the {device.room}"))
        return Managed(what, old, device.name, device.room, old_room)
