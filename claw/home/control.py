"""The one place devices are actuated: validation, the safety guard, parallel fan-out, audit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from claw.core.errors import ClawError, DeviceError, ToolError
from claw.core.ratelimit import CommandLimits
from claw.core.request import Request
from claw.core.safety import Guard
from claw.core.store import Store
from claw.core.store.audit import AuditEntry, write_many
from claw.home.capabilities import OPEN_CLOSE
from claw.home.device import Device, Driver
from claw.home.registry import Registry
from claw.home.states import already_words

log = logging.getLogger(__name__)

Status = Literal["done", "already", "failed", "unsupported", "held", "needs_approval", "limited"]


@dataclass(frozen=True, slots=True)
class Change:
    """What to do to each target: set capability values, or run an action (media)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    action: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    power: bool | None = None  # "on"/"off" in the owner's words, mapped per kind (shades open/close)
    level: float | None = None  # "set X to 20": mapped per device to its setpoint, brightness, position or volume
    unit: str = ""  # the owner's unit for `level` ("%" or "°"), which picks the capability

    def describe(self) -> str:
        if self.action:
            extra = f" {self.params.get('query') or self.params.get('uri') or ''}".rstrip()
            return f"{self.action.replace('_', ' ')}{extra}"
        if self.power is not None:
            return "turn on" if self.power else "turn off"
        if self.level is not None:
            return f"set to {_n(self.level)}{self.unit}"
        return ", ".join(f"set {k.replace('_', ' ')} to {v}" for k, v in self.values.items())


@dataclass(frozen=True, slots=True)
class Result:
    device: Device
    status: Status
    detail: str = ""
    state: Mapping[str, Any] = field(default_factory=dict)


def plan(device: Device, change: Change) -> dict[str, Any] | None:
    """The validated state changes for one device, or None if it cannot do this."""
    if change.action:  # media controls, or a skill's named action ("load_preset", "identify")
        ok = any(
            c.type == "action" and (c.key == change.action or change.action in c.options) for c in device.capabilities
        )
        return {} if ok else None
    values = dict(change.values)
    if change.level is not None:
        order = LEVEL_TEMPERATURE if change.unit.startswith("°") else LEVEL_PERCENT
        key = next((k for k in order if (c := device.capability(k)) is not None and c.writable), None)
        if key is None:
            return None
        values[key] = change.level
    if change.power is not None:
        if device.capability("on"):
            values["on"] = change.power
        elif device.kind in OPEN_CLOSE:
            key, on_value, off_value = OPEN_CLOSE[device.kind]
            values[key] = on_value if change.power else off_value
        elif (mode := device.capability("mode")) is not None and mode.writable and mode.options:
            # a thermostat turns off and back to heating; an alarm "on" is armed (away), "off" is disarmed
            wanted: tuple[str, ...] = ("heat", "auto", "away", "home") if change.power else ("off", "disarmed")
            now = device.state.get("mode")
            if change.power and now in mode.options and now not in ("off", "disarmed"):
                wanted = (str(now),)  # "arm the alarm" while armed for the night keeps night, never away
            pick = next((w for w in wanted if w in mode.options), None)
            if pick is None:
                return None
            values["mode"] = pick
        else:
            return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        cap = device.capability(key)
        if cap is None:
            return None
        out[key] = cap.validate(value)
    return out


LEVEL_PERCENT = ("brightness", "position", "volume", "target_temp")
LEVEL_TEMPERATURE = ("target_temp",)


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _sensitive(device: Device, changes: Mapping[str, Any]) -> bool:
    return any((cap := device.capability(k)) is not None and cap.is_sensitive(v) for k, v in changes.items())


def _describe_sensitive(device: Device, changes: Mapping[str, Any]) -> str:
    if "locked" in changes:
        return f"unlock the {device.name}"
    if device.kind == "alarm":
        return f"disarm the {device.name}"
    if changes.get("state") == "open" or changes.get("position") == 100:
        return f"open the {device.name}"
    return f"{', '.join(f'set {k} to {v}' for k, v in changes.items())} on the {device.name}"


class Control:
    """Applies a change to devices in parallel; each device gets its own timeout and result."""

    def __init__(
        self,
        registry: Registry,
        drivers: Mapping[str, Driver],
        guard: Guard,
        store: Store,
        *,
        timeout: float,
        limits: CommandLimits | None = None,
    ) -> None:
        self.registry, self.drivers, self.guard, self.store, self.timeout = registry, drivers, guard, store, timeout
        self.limits = limits or CommandLimits()  # agents and the model tight, an owner's own commands far above

    async def admit(self, turn: Request) -> str:
        """Empty when `turn` may send device commands now; else the refusal, said and audited once per turn."""
        first = turn.receipt.limited is None
        why = self.limits.admit(turn)
        if why and first:
            await self.store.run(write_many, [turn.audit("device commands", "", "denied", why)])
        return why

    async def apply(self, devices: Sequence[Device], change: Change, turn: Request) -> list[Result]:
        if devices and (why := await self.admit(turn)):
            return [Result(d, "limited", why) for d in devices]  # nothing is sent; the sentence is said once
        audit: list[AuditEntry] = []
        results = await asyncio.gather(*(self._one(d, change, turn, audit) for d in devices))
        if audit:  # one write for the whole fan-out, after it: the store never sits between devices
            await self.store.run(write_many, audit)
        return list(results)

    async def _one(self, device: Device, change: Change, turn: Request, audit: list[AuditEntry]) -> Result:
        try:
            changes = plan(device, change)
        except ToolError as exc:
            return Result(device, "failed", str(exc))
        if changes is None:
            return Result(device, "unsupported", f"{device.name} can't {change.describe()}")
        if not device.controllable:
            return Result(device, "needs_approval", f"{device.name} waits for your yes before I control it")
        explicit = device.kind in ALWAYS_SENT and not change.action  # a reported state may be stale or spoofed
        # "already" only when the device itself says so: someone may have switched it by hand since the poll
        was = _already(device.state, change, changes) and _already(await self._fresh(device), change, changes)
        if was and not explicit:
            return Result(device, "already", "", device.state)
        sensitive_action = bool(change.action) and any(
            c.type == "action" and c.is_sensitive(change.action) for c in device.capabilities
        )
        sensitive = sensitive_action or (not change.action and _sensitive(device, changes))
        if sensitive and turn.released:  # the owner's code released this very call already
            return await self._actuate(device, change, changes, turn, audit, cleared=True)
        if sensitive:
            description = (
                f"{change.describe()} on the {device.name}"
                if sensitive_action
                else _describe_sensitive(device, changes)
            )

            async def run_later() -> str:
                done: list[AuditEntry] = []
                result = await self._actuate(device, change, changes, turn, done, cleared=True)
                await self.store.run(write_many, done)
                checked = _confirmed(result, changes, was=False) if explicit else result
                return say_results([checked], Change(values=changes))

            pending = await self.guard.hold(description, run_later, turn)
            return Result(device, "held", pending.shown)
        result = await self._actuate(device, change, changes, turn, audit)
        return _confirmed(result, changes, was=was) if explicit else result

    async def _fresh(self, device: Device) -> dict[str, Any]:
        """The device's state read now (kept in the registry); the cached one if it does not answer."""
        try:
            async with asyncio.timeout(self.timeout):
                state = await self.drivers[device.driver].read(device)
        except Exception:  # commands are idempotent: a failed read just means we send it
            return {}
        self.registry.mark(device, available=True, state=state)
        return state

    async def _actuate(
        self,
        device: Device,
        change: Change,
        changes: dict[str, Any],
        turn: Request,
        audit: list[AuditEntry],
        *,
        cleared: bool = False,
    ) -> Result:
        driver = self.drivers[device.driver]
        try:
            async with asyncio.timeout(self.timeout):
                if change.action:
                    state = await driver.act(device, change.action, change.params, cleared=cleared)
                else:
                    state = await driver.write(device, changes)
        except TimeoutError:
            self.registry.mark(device, available=False)
            result = Result(device, "failed", f"the {device.name} didn't answer within {self.timeout:.0f} s")
        except DeviceError as exc:
            if exc.unreachable:
                self.registry.mark(device, available=False)
            result = Result(device, "failed", str(exc))
        except ClawError as exc:
            result = Result(device, "failed", str(exc))
        except Exception as exc:  # a driver bug must cost one device, not the whole request
            log.exception("driver %s failed on %s", device.driver, device.name)
            result = Result(device, "failed", f"{device.name} failed ({type(exc).__name__})")
        else:
            self.registry.mark(device, available=True, state=state)
            result = Result(device, "done", "", state)
        audit.append(
            turn.audit(
                change.describe() if change.action or change.power is not None else _values(changes),
                device.name,
                "ok" if result.status == "done" else result.status,
                result.detail,
            )
        )
        return result


# Explicit commands to these are always sent, whatever their reported state says: a state message may be stale or
# forged, and a door left unlocked because a report said "locked" is the costliest mistake in the house.
ALWAYS_SENT = frozenset({"lock", "alarm", "garage_door", "gate", "shade"})


def _confirmed(result: Result, changes: Mapping[str, Any], *, was: bool) -> Result:
    """A sent command to a lock, alarm, garage door, gate or cover, judged by what the device reported after it.

    "already" only when it reported the wanted state before and confirms it now; a report that contradicts
    the command just sent is said as such, never taken for done.
    """
    if result.status != "done":
        return result
    state, device = result.state, result.device
    against = [k for k, v in changes.items() if k in state and not _shows(state[k], v)]
    if against:
        now = already_words(device)
        detail = f"I sent the command, but the {device.name} reports it is {now}" if now != "set that way" else ""
        return Result(device, "failed", detail or f"I sent the command, but the {device.name} reports otherwise", state)
    if was and all(k in state for k in changes):
        return Result(device, "already", "", state)
    return result


def _shows(have: Any, want: Any) -> bool:
    """A reported value shows the wanted one (a door on its way counts; levels within a step of rounding)."""
    if (want, have) in (("open", "opening"), ("closed", "closing")):
        return True
    if isinstance(want, int | float) and not isinstance(want, bool):
        return isinstance(have, int | float) and not isinstance(have, bool) and abs(have - want) <= 1
    return bool(have == want)


def _already(state: Mapping[str, Any], change: Change, changes: Mapping[str, Any]) -> bool:
    if change.action == "pause":
        return state.get("playback") in ("paused", "stopped")
    return not change.action and bool(state) and all(state.get(k) == v for k, v in changes.items())


def _values(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items())


def say_results(results: Sequence[Result], change: Change) -> str:
    """One short paragraph for the owner: what was done, what already was, what failed and why."""
    done = [r for r in results if r.status == "done"]
    already = [r for r in results if r.status == "already"]
    failed = [r for r in results if r.status == "failed"]
    held = [r for r in results if r.status == "held"]
    approval = [r for r in results if r.status == "needs_approval"]
    lines: list[str] = []
    if done:
        title = done[0].state.get("title") if change.action in ("play_favorite", "play_uri") else ""
        if title:
            lines.append(f"Playing {title} on {_list(done)}.")
        else:
            groups: dict[tuple[str, str], list[Result]] = {}
            for r in done:  # "Turned off the lamps. Closed the shades." — the verb each kind of device takes
                groups.setdefault(_past(change, r.device, r.state), []).append(r)
            lines += [f"{verb} {_list(rs)}{after}." for (verb, after), rs in groups.items()]
    if already:
        words: dict[str, list[Result]] = {}
        for r in already:
            words.setdefault(_already_said(r.device, change), []).append(r)
        for state, rs in words.items():
            who = _cap(_list(rs)) if len(rs) <= 2 or not done else f"{len(rs)} others"
            lines.append(f"{who} {'was' if len(rs) == 1 else 'were'} already {state}.")
    for detail in dict.fromkeys(r.detail for r in failed):  # one device's reason once, not once per device
        lines.append(_cap(f"{detail}.".replace("..", ".")))
    lines += list(dict.fromkeys(r.detail for r in results if r.status == "limited"))  # said once per reply
    for r in held:
        lines.append(r.detail)
    if approval:
        lines.append(
            f'{_cap(_list(approval))} need{"s" if len(approval) == 1 else ""} your OK first (say "allow <name>").'
        )
    if not lines:
        lines.append(f"Nothing here can {change.describe()}.")
    return " ".join(lines)


def _already_said(device: Device, change: Change) -> str:
    """What the device already was, in the words of the change asked: "set to 21°C", "at 50%", "armed (away)"."""
    if change.level is not None:
        unit = _unit(device, change)
        return f"set to {_n(change.level)}{unit}" if unit == "°C" else f"at {_n(change.level)}{unit}"
    if len(change.values) == 1 and not change.action:
        ((key, value),) = change.values.items()
        if key == "target_temp":
            return f"set to {_n(value)}°C"
        if key in ("brightness", "volume") or (key == "position" and value not in (0, 100)):
            return f"at {_n(value)}%"
        if key == "color_temp" and isinstance(value, int | float) and value > 0:
            return f"at {round(1_000_000 / value / 100) * 100} K"
    return already_words(device)


def _unit(device: Device, change: Change) -> str:
    """The unit a bare "set X to 20" meant on this device: °C for a setpoint, % for the rest."""
    order = LEVEL_TEMPERATURE if change.unit.startswith("°") else LEVEL_PERCENT
    key = next((k for k in order if (c := device.capability(k)) is not None and c.writable), "")
    return "°C" if key == "target_temp" else "%"


def _past(change: Change, device: Device | None = None, state: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The verb before and the words after the list of devices: ("Closed", ""), ("Set", " to 20°")."""
    if change.action:
        verb = {
            "play": "Resumed",
            "pause": "Paused",
            "next": "Skipped to the next track on",
            "previous": "Went back a track on",
            "play_favorite": "Playing on",
            "play_uri": "Playing on",
            "join": "Grouped",
            "unjoin": "Ungrouped",
        }.get(change.action, "Done:")
        return verb, ""
    if change.power is not None:
        if device is not None and device.kind in OPEN_CLOSE and device.capability("on") is None:
            key = OPEN_CLOSE[device.kind][0]
            if key == "locked":
                return ("Unlocked", "") if change.power else ("Locked", "")
            return ("Opened", "") if change.power else ("Closed", "")
        if device is not None and device.kind == "alarm":  # an alarm is armed, in the mode it took, never "turned on"
            mode = (state or {}).get("mode")
            return ("Armed", f" ({mode} mode)" if isinstance(mode, str) else "") if change.power else ("Disarmed", "")
        return ("Turned on", "") if change.power else ("Turned off", "")
    if change.level is not None:
        return "Set", f" to {_n(change.level)}{change.unit}"
    values = dict(change.values)
    if values in ({"position": 0}, {"state": "closed"}):
        return "Closed", ""
    if values in ({"position": 100}, {"state": "open"}):
        return "Opened", ""
    if values == {"locked": True}:
        return "Locked", ""
    if values == {"locked": False}:
        return "Unlocked", ""
    if set(values) == {"mode"}:
        mode = values["mode"]
        return ("Disarmed", "") if mode == "disarmed" else ("Armed", f" ({mode} mode)")
    if len(values) == 1:
        ((key, value),) = values.items()
        if key in ("brightness", "position"):
            return "Set", f" to {_n(value)}%"
        if key == "volume":
            return "Set the volume of", f" to {_n(value)}%"
        if key == "target_temp":
            return "Set", f" to {_n(value)}°C"
    words = ", ".join(
        f"{WORDS.get(k, k.replace('_', ' '))} to {_n(v) if isinstance(v, float) else v}" for k, v in values.items()
    )
    return "Set", f": {words}"


# How people call the state keys a reply may have to name.
WORDS = {"target_temp": "the target temperature", "color_temp": "the colour temperature", "on": "power"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def display_name(device: Device) -> str:
    """'the Study speaker', 'the Kitchen Ceiling': what people call it in a sentence."""
    name = device.name if device.name.lower().startswith("the ") else f"the {device.name}"
    if device.kind == "speaker" and not any(w in device.name.lower() for w in ("speaker", "sonos", "one", "play")):
        name += " speaker"
    return name


def _list(results: Sequence[Result]) -> str:
    names = [display_name(r.device) for r in results]
    if len(names) > 6:
        return f"{len(names)} devices ({', '.join(n.removeprefix('the ') for n in names[:4])}, …)"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
