"""The demo house seen through `GET /api/devices`: tracked state, differences, and resetting to a baseline."""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from typing import Any

from understanding.daemon import Daemon

# The state keys an owner changes; readings (current_temp, battery, contact) and track info are not tracked.
TRACKED = ("on", "brightness", "position", "target_temp", "mode", "locked", "state", "volume", "playback", "group")
CODE = re.compile(r"\bOK ([A-Z0-9]{4})\b")

State = dict[str, dict[str, Any]]


def normalise(key: str, value: Any) -> Any:
    if key == "playback" and value == "stopped":
        return "paused"  # "not playing": a speaker that was paused to reset it equals one never started
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def snapshot(devices: list[dict[str, Any]]) -> State:
    return {
        d["name"]: {k: normalise(k, v) for k, v in (d.get("state") or {}).items() if k in TRACKED}
        for d in devices
        if not d.get("ignored")
    }


def raw_states(devices: list[dict[str, Any]]) -> State:
    return {d["name"]: dict(d.get("state") or {}) for d in devices}


def diff(before: State, after: State) -> dict[str, dict[str, list[Any]]]:
    """{device: {key: [old, new]}} for every tracked key that changed (devices that vanished count too)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, {}), after.get(name, {})
        changed = {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
        if changed:
            out[name] = changed
    return out


_OP = re.compile(r"^\s*(<=|>=|<|>|!=|~)\s*(-?\d+(?:\.\d+)?)?\s*$")


def value_matches(spec: Any, old: Any, new: Any) -> bool:
    """An exact value, or "<N"/">N"/"<"/">" (lower/higher than N or than before), "!=" (changed), "any"."""
    if isinstance(spec, str):
        if spec == "any":
            return True
        if spec.strip() == "!=":
            return bool(new != old)
        m = _OP.match(spec)
        if m and isinstance(new, int | float) and not isinstance(new, bool):
            op, ref = m.group(1), m.group(2)
            limit = float(ref) if ref is not None else (float(old) if isinstance(old, int | float) else None)
            if op == "!=":
                return new != old if ref is None else float(new) != float(ref)
            if limit is None:
                return False
            return {
                "<": new < limit,
                ">": new > limit,
                "<=": new <= limit,
                ">=": new >= limit,
                "~": abs(new - limit) <= 5,
            }[op]
    spec = normalise("playback", spec) if spec in ("stopped", "paused") else spec
    if isinstance(spec, int | float) and not isinstance(spec, bool) and isinstance(new, int | float):
        return abs(float(spec) - float(new)) < 0.01
    return bool(spec == new)


def effects_match(
    effects: dict[str, dict[str, Any]], changes: dict[str, dict[str, list[Any]]], after_raw: State
) -> list[str]:
    """Differences between the expected effects and what changed; [] when exactly the expected happened."""
    problems: list[str] = []
    for name, want in effects.items():
        got = changes.get(name, {})
        for key, spec in want.items():
            if key in TRACKED:
                if key not in got and spec == "any":
                    continue  # "any": may change or not
                if key not in got:
                    problems.append(f"{name}.{key} unchanged (wanted {spec})")
                elif not value_matches(spec, got[key][0], got[key][1]):
                    problems.append(f"{name}.{key} -> {got[key][1]!r} (wanted {spec})")
            else:  # an untracked key such as a speaker's title: compare the after-state, loosely
                value = after_raw.get(name, {}).get(key)
                if str(spec).lower() not in str(value).lower():
                    problems.append(f"{name}.{key} is {value!r} (wanted {spec})")
        for key in got:
            if key not in want and not _follows_power(key, want, got[key]):
                problems.append(f"{name}.{key} also changed {got[key][0]!r} -> {got[key][1]!r}")
    for name, got in changes.items():
        if name not in effects:
            problems.append(f"{name} changed too: " + ", ".join(f"{k} {v[0]!r} -> {v[1]!r}" for k, v in got.items()))
    return problems


def _follows_power(key: str, want: dict[str, Any], change: list[Any]) -> bool:
    """A light's brightness that goes to or from 0 (or unknown) with its power: part of on/off, not an extra.

    Hubs report an off light as brightness 0 (Home Assistant, Zigbee2MQTT); turning it on brings the level back.
    """
    return key == "brightness" and "on" in want and (change[0] in (0, None) or change[1] in (0, None))


class House:
    """Resets the devices to the demo's starting state (plus a case's `given`) through the daemon's own API.

    Going through the daemon (the dashboard's `POST /api/devices/{id}`) keeps its registry in step with the
    simulated devices, so "already off" answers stay true; sensitive restores (disarm, unlock, open) are
    confirmed with the one-time code the API returns, echoed through `POST /api/chat` like an owner would.
    """

    def __init__(self, daemon: Daemon, devices: list[dict[str, Any]]) -> None:
        self.daemon = daemon
        self.ids = {d["name"]: d["id"] for d in devices}
        self.kinds = {d["name"]: d["kind"] for d in devices}
        # only the simulated HTTP-JSON devices answer GET /state (Home Assistant, MQTT and Sonos ones do not)
        http = [d for d in devices if d.get("driver", "http-json") == "http-json"]
        self.addresses = {d["name"]: d.get("address", "") for d in http}
        self.baseline = snapshot(devices)

    def devices(self) -> list[dict[str, Any]]:
        return list(self.daemon.get("/api/devices"))

    def desired(self, given: dict[str, dict[str, Any]] | None) -> State:
        want = copy.deepcopy(self.baseline)
        for name, values in (given or {}).items():
            if name not in want:
                raise ValueError(f"given: no device called {name!r}")
            want[name].update({k: normalise(k, v) for k, v in values.items() if k in TRACKED})
        return want

    def reset(self, given: dict[str, dict[str, Any]] | None = None) -> list[str]:
        """Bring every device to the wanted state; returns what could not be done (a harness problem)."""
        want = self.desired(given)
        extras = {n: {k: v for k, v in vals.items() if k not in TRACKED} for n, vals in (given or {}).items()}
        problems: list[str] = []
        confirmed = False
        for attempt in range(2):
            have = snapshot(self.devices())
            todo = {n: {k: v for k, v in w.items() if have.get(n, {}).get(k) != v} for n, w in want.items()}
            todo = {n: t for n, t in todo.items() if t}
            for n, t in todo.items():  # a brightness alone would switch an off light on (as in Home Assistant)
                if "brightness" in t and "on" in want[n]:
                    t["on"] = want[n]["on"]
            if not todo:
                break
            if attempt == 1:
                problems = [
                    f"{n}: still { ({k: have.get(n, {}).get(k) for k in t}) } (wanted {t})" for n, t in todo.items()
                ]
                break
            for name, values in todo.items():
                confirmed |= self._set(name, values, have.get(name, {}), extras.get(name, {}), problems)
        if confirmed:
            self.daemon.chat("/new")
        return problems

    def _set(
        self, name: str, values: dict[str, Any], have: dict[str, Any], extra: dict[str, Any], problems: list[str]
    ) -> bool:
        path = f"/api/devices/{self.ids[name]}"
        bodies: list[dict[str, Any]] = []
        values = dict(values)
        if self.kinds[name] == "speaker":
            group = values.pop("group", None)
            if group is not None:
                bodies.append({"action": "unjoin"} if group == name else {"action": "join", "params": {"with": group}})
            playback = values.pop("playback", None)
            if playback == "playing":
                query = str(extra.get("title") or "Chill")
                bodies.append({"action": "play_favorite", "params": {"query": query}})
            elif playback is not None:
                bodies.append({"action": "pause"})
        if values:
            bodies.insert(0, {"values": values})
        confirmed = False
        for body in bodies:
            status, answer = self.daemon.request("POST", path, body)
            code = answer.get("code") if isinstance(answer, dict) else None
            if status == 202 and code:
                self.daemon.chat(f"OK {code}")
                confirmed = True
            elif status >= 400:
                problems.append(f"{name}: POST {json.dumps(body)} -> {status} {answer}")
        return confirmed

    def ground_truth(self) -> dict[str, list[str]]:
        """Compare the registry with the simulated HTTP devices' own /state (they are ours, on 127.0.N.x)."""
        registry = raw_states(self.devices())
        drift: dict[str, list[str]] = {}
        for name, address in self.addresses.items():
            if self.kinds[name] == "speaker" or not address:
                continue
            try:
                with urllib.request.urlopen(f"http://{address}/state", timeout=5) as response:
                    real = json.loads(response.read())
            except OSError as exc:
                drift[name] = [f"unreachable: {exc}"]
                continue
            mine = registry.get(name, {})
            bad = [
                f"{k}: registry {mine.get(k)!r}, device {v!r}"
                for k, v in real.items()
                if k in TRACKED and mine.get(k) != v
            ]
            if bad:
                drift[name] = bad
        return drift
