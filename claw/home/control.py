"""The one place devices are actuated: validation, the safety guard, parallel fan-out, audit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from claw.core.errors import ClawError, DeviceError, InvalidValue, NothingSaved, ToolError
from claw.core.ratelimit import CommandLimits, Refusal
from claw.core.request import Request
from claw.core.safety import Ask, Guard, Pending
from claw.core.store import Store
from claw.core.store.audit import AuditEntry, write_many
from claw.home.capabilities import OPEN_CLOSE
from claw.home.device import Device, Driver
from claw.home.registry import Registry

log = logging.getLogger(__name__)

Status = Literal["done", "already", "failed", "unsupported", "held", "needs_approval", "limited"]
# Why a device failed, for the words: no answer in time (`waited`), reports another state than the one sent, a
# value it cannot take (`invalid`), cannot be reached, no favourite by that name (`saved`), or another device error
# (only `detail`, in English, says which).
Reason = Literal["", "timeout", "reports", "invalid", "unreachable", "nothing_saved", "device"]


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
    """What one change did to one device (typed: the assistant's speech words it per language)."""

    device: Device
    status: Status
    detail: str = ""  # English, from the device or the validation ("must be between 5 and 30°C, not 45")
    state: Mapping[str, Any] = field(default_factory=dict)
    reason: Reason = ""
    pending: Pending | None = None  # "held": the code waiting for an owner
    invalid: InvalidValue | None = None  # "invalid": what the setting would take
    saved: NothingSaved | None = None  # "nothing_saved": what was asked for, and what the speaker has
    waited: float = 0.0  # "timeout": the seconds it had to answer
    refusal: Refusal | None = None  # "limited": why this turn may send no commands


@dataclass(frozen=True, slots=True)
class Applied:
    """What a change did to its devices: a held change's outcome, said when its code releases it."""

    results: tuple[Result, ...]
    change: Change


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
    if "brightness" in values and "on" not in values and (c := device.capability("on")) is not None and c.writable:
        values["on"] = bool(values["brightness"])  # a light set to 40 % comes on, as Home Assistant's do
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


def _ask(device: Device, changes: Mapping[str, Any]) -> Ask:
    """What a sensitive change asks the owners, as data: "unlock" the Front Door, "disarm" the Alarm Panel."""
    if "locked" in changes:
        return Ask("unlock", (device.name,))
    if device.kind == "alarm":
        return Ask("disarm", (device.name,))
    if changes.get("state") == "open" or changes.get("position") == 100:
        return Ask("open", (device.name,))
    return Ask("set", (device.name,), ", ".join(f"set {k} to {v}" for k, v in changes.items()))


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

    async def admit(self, turn: Request) -> Refusal:
        """Falsy when `turn` may send device commands now; else the refusal, audited once per turn."""
        first = turn.receipt.limited is None
        why = self.limits.admit(turn)
        if why and first:
            await self.store.run(write_many, [turn.audit("device commands", "", "denied", str(why))])
        return why

    async def apply(self, devices: Sequence[Device], change: Change, turn: Request) -> list[Result]:
        if devices and (why := await self.admit(turn)):
            return [Result(d, "limited", str(why), refusal=why) for d in devices]  # nothing sent; said once
        audit: list[AuditEntry] = []
        results = await asyncio.gather(*(self._one(d, change, turn, audit) for d in devices))
        if audit:  # one write for the whole fan-out, after it: the store never sits between devices
            await self.store.run(write_many, audit)
        return list(results)

    async def _one(self, device: Device, change: Change, turn: Request, audit: list[AuditEntry]) -> Result:
        try:
            changes = plan(device, change)
        except InvalidValue as exc:
            return Result(device, "failed", str(exc), reason="invalid", invalid=exc)
        except ToolError as exc:
            return Result(device, "failed", str(exc), reason="invalid")
        if changes is None:
            return Result(device, "unsupported")
        if not device.controllable:
            return Result(device, "needs_approval")
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
            ask = Ask("action", (device.name,), change.describe()) if sensitive_action else _ask(device, changes)

            async def run_later() -> Applied:
                done: list[AuditEntry] = []
                result = await self._actuate(device, change, changes, turn, done, cleared=True)
                await self.store.run(write_many, done)
                checked = _confirmed(result, changes, was=False) if explicit else result
                return Applied((checked,), change if sensitive_action else Change(values=changes))

            pending = await self.guard.hold(ask, run_later, turn)
            return Result(device, "held", pending=pending)
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
            said = f"the {device.name} didn't answer within {self.timeout:.0f} s"
            result = Result(device, "failed", said, reason="timeout", waited=self.timeout)
        except NothingSaved as exc:
            result = Result(device, "failed", str(exc), reason="nothing_saved", saved=exc)
        except DeviceError as exc:
            if exc.unreachable:
                self.registry.mark(device, available=False)
            result = Result(device, "failed", str(exc), reason="unreachable" if exc.unreachable else "device")
        except ClawError as exc:
            result = Result(device, "failed", str(exc), reason="device")
        except Exception as exc:  # a driver bug must cost one device, not the whole request
            log.exception("driver %s failed on %s", device.driver, device.name)
            result = Result(device, "failed", f"{device.name} failed ({type(exc).__name__})", reason="device")
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
    if against:  # the words name what it reports now (the speech layer reads the device's state)
        return Result(device, "failed", "", state, reason="reports")
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
