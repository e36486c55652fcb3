"""A WLED LED strip speaking the WLED JSON API (/json, /json/state, /json/info)."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web
from zeroconf import ServiceInfo

from claw_sim.devices.base import SimDevice, service_info, stable_mac

VERSION = "0.14.4"
VID = 2405180
EFFECTS = ("Solid", "Blink", "Breathe", "Wipe", "Wipe Random", "Random Colors", "Sweep", "Rainbow")
PALETTES = ("Default", "* Random Cycle", "* Color 1", "* Colors 1&2", "* Color Gradient", "Party", "Ocean")
ERR_JSON = 9  # WLED's "JSON parsing failed" error number

Color = list[int]


class WledStrip(SimDevice):
    """A one-segment WLED strip with a few stored presets; out-of-range values are clamped as WLED does."""

    def __init__(
        self,
        *,
        name: str,
        room: str,
        ip: str,
        port: int | None = None,
        mac: str | None = None,
        led_count: int = 60,
        on: bool = False,
        bri: int = 128,
    ) -> None:
        self.mac = (mac or stable_mac(f"wled/{room}/{name}")).lower()
        super().__init__(ip=ip, name=name, room=room, device_id=self.mac, port=port)
        self.led_count = led_count
        self._boot = time.time()
        self.state: dict[str, Any] = {
            "on": on,
            "bri": bri,
            "transition": 7,
            "ps": -1,
            "pl": -1,
            "nl": {"on": False, "dur": 60, "mode": 1, "tbri": 0, "rem": -1},
            "udpn": {"send": False, "recv": True, "sgrp": 1, "rgrp": 1},
            "lor": 0,
            "mainseg": 0,
            "seg": [_segment(led_count)],
        }
        # Stored presets, as /presets.json serves them (id -> partial state with a name `n`).
        self.presets: dict[int, dict[str, Any]] = {
            1: {
                "n": "Warm white",
                "on": True,
                "bri": 200,
                "seg": [{"id": 0, "col": [[255, 180, 100]], "fx": 0}],
            },
            2: {"n": "Evening", "on": True, "bri": 60, "seg": [{"id": 0, "col": [[255, 100, 20]], "fx": 2}]},
            3: {"n": "Party", "on": True, "bri": 255, "seg": [{"id": 0, "fx": 7, "pal": 5}]},
        }

    def info(self) -> dict[str, Any]:
        """The /json/info document."""
        return {
            "ver": VERSION,
            "vid": VID,
            "leds": {
                "count": self.led_count,
                "pwr": 350 if self.state["on"] else 0,
                "fps": 42 if self.state["on"] else 0,
                "maxpwr": 850,
                "maxseg": 32,
                "seglc": [1],
                "lc": 1,
                "rgbw": False,
                "wv": 0,
                "cct": 0,
            },
            "str": False,
            "name": self.name,
            "udpport": 21324,
            "live": False,
            "liveseg": -1,
            "lm": "",
            "lip": "",
            "ws": 0,
            "fxcount": len(EFFECTS),
            "palcount": len(PALETTES),
            "cpalcount": 0,
            "wifi": {"bssid": "02:00:00:00:00:01", "rssi": -58, "signal": 84, "channel": 6},
            "fs": {"u": 12, "t": 983, "pmt": 0},
            "ndc": 0,
            "arch": "esp32",
            "core": "v3.3.6-16-gcc5440f6a2",
            "freeheap": 198000,
            "uptime": int(time.time() - self._boot),
            "opt": 79,
            "brand": "WLED",
            "product": "FOSS",
            "mac": self.mac,
            "ip": self.ip,
        }

    def apply(self, body: dict[str, Any]) -> None:
        """Apply a /json/state POST body: on (or "t"), bri, transition, ps, seg; unknown keys are ignored."""
        if "ps" in body:
            self._load_preset(body["ps"])
        on = body.get("on")
        if on == "t":
            self.state["on"] = not self.state["on"]
        elif isinstance(on, bool):
            self.state["on"] = on
        bri = _int(body.get("bri"))
        if bri is not None:
            # bri 0 turns the strip off and keeps the last brightness for the next "on".
            if bri <= 0:
                self.state["on"] = False
            else:
                self.state["bri"] = min(bri, 255)
        transition = _int(body.get("transition"))
        if transition is not None:
            self.state["transition"] = max(0, min(transition, 65535))
        segs = body.get("seg")
        if isinstance(segs, dict):
            segs = [segs]
        if isinstance(segs, list):
            for index, seg in enumerate(segs):
                if isinstance(seg, dict):
                    self._apply_segment(seg, index)
        if "ps" not in body and any(key in body for key in ("on", "bri", "seg")):
            self.state["ps"] = -1  # a manual change leaves the preset

    def _load_preset(self, raw: object) -> None:
        preset_id = _int(raw)
        preset = self.presets.get(preset_id) if preset_id is not None else None
        if preset_id is None or preset is None:
            return  # WLED ignores an unknown preset
        self.apply({key: value for key, value in preset.items() if key != "n"})
        self.state["ps"] = preset_id

    def _apply_segment(self, seg: dict[str, Any], index: int) -> None:
        seg_id = _int(seg.get("id"))
        target_id = index if seg_id is None else seg_id
        if target_id != 0:
            return  # one segment only; WLED ignores ids it has no segment for
        target = self.state["seg"][0]
        for key, top in (
            ("fx", len(EFFECTS) - 1),
            ("pal", len(PALETTES) - 1),
            ("sx", 255),
            ("ix", 255),
            ("bri", 255),
        ):
            value = _int(seg.get(key))
            if value is not None:
                target[key] = max(0, min(value, top))
        if isinstance(seg.get("on"), bool):
            target["on"] = seg["on"]
        cols = seg.get("col")
        if isinstance(cols, list):
            for slot, raw in enumerate(cols[:3]):
                color = _color(raw)
                if color is not None:
                    target["col"][slot] = color

    # ----------------------------------------------------------------- HTTP
    def add_routes(self, app: web.Application) -> None:
        """GET /json, GET|POST /json/state, GET /json/info, GET /presets.json."""
        app.router.add_get("/json", self._get_all)
        app.router.add_get("/json/", self._get_all)
        app.router.add_get("/json/state", self._get_state)
        app.router.add_post("/json/state", self._post_state)
        app.router.add_post("/json", self._post_state)
        app.router.add_get("/json/info", self._get_info)
        app.router.add_get("/json/eff", self._get_effects)
        app.router.add_get("/json/pal", self._get_palettes)
        app.router.add_get("/presets.json", self._get_presets)

    async def _get_all(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"state": self.state, "info": self.info(), "effects": list(EFFECTS), "palettes": list(PALETTES)}
        )

    async def _get_state(self, _request: web.Request) -> web.Response:
        return web.json_response(self.state)

    async def _get_info(self, _request: web.Request) -> web.Response:
        return web.json_response(self.info())

    async def _get_effects(self, _request: web.Request) -> web.Response:
        return web.json_response(list(EFFECTS))

    async def _get_palettes(self, _request: web.Request) -> web.Response:
        return web.json_response(list(PALETTES))

    async def _get_presets(self, _request: web.Request) -> web.Response:
        presets: dict[str, Any] = {"0": {}}
        presets.update({str(key): value for key, value in self.presets.items()})
        return web.json_response(presets)

    async def _post_state(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return web.json_response({"error": ERR_JSON}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": ERR_JSON}, status=400)
        self.apply(body)
        if body.get("v") is True:
            return web.json_response(self.state)
        return web.json_response({"success": True})

    def service_infos(self) -> list[ServiceInfo]:
        """`_wled._tcp` (TXT mac) and `_http._tcp`, instance wled-<last 6 of mac>."""
        instance = f"wled-{self.mac[-6:]}"
        return [
            service_info(
                service_type=service_type,
                instance=instance,
                ip=self.ip,
                port=self.port,
                server=f"{instance}.local.",
                properties={"mac": self.mac} if service_type.startswith("_wled") else {},
            )
            for service_type in ("_wled._tcp.local.", "_http._tcp.local.")
        ]


def _segment(led_count: int) -> dict[str, Any]:
    return {
        "id": 0,
        "start": 0,
        "stop": led_count,
        "len": led_count,
        "grp": 1,
        "spc": 0,
        "of": 0,
        "on": True,
        "frz": False,
        "bri": 255,
        "cct": 127,
        "col": [[255, 160, 0], [0, 0, 0], [0, 0, 0]],
        "fx": 0,
        "sx": 128,
        "ix": 128,
        "pal": 0,
        "sel": True,
        "rev": False,
        "mi": False,
    }


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _color(raw: object) -> Color | None:
    """Accept [r,g,b], [r,g,b,w] or "RRGGBB" as WLED does; None if it is neither."""
    if isinstance(raw, str) and len(raw) in {6, 8}:
        try:
            return [int(raw[i : i + 2], 16) for i in range(0, len(raw), 2)]
        except ValueError:
            return None
    if isinstance(raw, list) and len(raw) in {3, 4} and all(_int(c) is not None for c in raw):
        return [max(0, min(int(c), 255)) for c in raw]
    return None
