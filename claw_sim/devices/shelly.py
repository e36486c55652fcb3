"""A Shelly Gen2 relay (Plus Plug S / Plus 1PM) speaking the Gen2 RPC API over plain HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from zeroconf import ServiceInfo

from claw_sim.devices.base import SimDevice, service_info, stable_mac

# app -> (model, id prefix); the figures of real devices.
MODELS: dict[str, tuple[str, str]] = {
    "PlusPlugS": ("SNPL-00112EU", "shellyplusplugs"),
    "Plus1PM": ("SNSW-001P16EU", "shellyplus1pm"),
    "Plus1": ("SNSW-001X16EU", "shellyplus1"),
}
FW_ID = "20231107-164738/1.0.8-gb2aacc6"
VERSION = "1.0.8"

# Gen2 error codes (shelly-api-docs, "Common errors").
INVALID_ARGUMENT = -103
NOT_FOUND = -105
NO_HANDLER = 404


class RpcError(Exception):
    """A Shelly RPC error: `code` and `message` go into the error frame."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ShellyPlug(SimDevice):
    """A one-channel Shelly Gen2 switch with power metering; `load_watts` is drawn while the output is on."""

    def __init__(
        self,
        *,
        name: str,
        room: str,
        ip: str,
        app: str = "PlusPlugS",
        port: int | None = None,
        mac: str | None = None,
        on: bool = False,
        load_watts: float = 60.0,
    ) -> None:
        if app not in MODELS:
            raise ValueError(f"unknown Shelly app {app!r}; known: {sorted(MODELS)}")
        self.app = app
        self.model, prefix = MODELS[app]
        self.mac = (mac or stable_mac(f"shelly/{room}/{name}")).upper()
        super().__init__(ip=ip, name=name, room=room, device_id=f"{prefix}-{self.mac.lower()}", port=port)
        self.output = on
        self.source = "init"
        self.load_watts = load_watts
        self.voltage = 230.4
        self.energy_wh = 1234.5
        self._timer: asyncio.Task[None] | None = None
        self._timer_started_at: float | None = None
        self._timer_duration: float | None = None
        self._boot = time.time()
        self._methods: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
            "Shelly.GetDeviceInfo": lambda _p: self.device_info(),
            "Shelly.GetStatus": lambda _p: self.status(),
            "Shelly.GetConfig": lambda _p: self.config(),
            "Shelly.ListMethods": lambda _p: {"methods": sorted(self._methods)},
            "Switch.GetStatus": lambda p: self._switch_status(self._switch_id(p)),
            "Switch.GetConfig": lambda p: self._switch_config(self._switch_id(p)),
            "Switch.Set": self._switch_set,
            "Switch.Toggle": self._switch_toggle,
        }

    # ----------------------------------------------------------------- documents
    def device_info(self) -> dict[str, Any]:
        """The Shelly.GetDeviceInfo result (also served at GET /shelly)."""
        return {
            "name": self.name,
            "id": self.device_id,
            "mac": self.mac,
            "slot": 1,
            "model": self.model,
            "gen": 2,
            "fw_id": FW_ID,
            "ver": VERSION,
            "app": self.app,
            "auth_en": False,
            "auth_domain": None,
        }

    def _switch_status(self, _switch: int) -> dict[str, Any]:
        apower = self.load_watts if self.output else 0.0
        status: dict[str, Any] = {
            "id": 0,
            "source": self.source,
            "output": self.output,
            "apower": round(apower, 1),
            "voltage": self.voltage,
            "current": round(apower / self.voltage, 3),
            "freq": 50.0,
            "aenergy": {
                "total": round(self.energy_wh, 3),
                "by_minute": [0.0, 0.0, 0.0],
                "minute_ts": int(time.time()),
            },
            "temperature": {"tC": 38.2, "tF": 100.8},
        }
        if self._timer_started_at is not None:
            status["timer_started_at"] = self._timer_started_at
            status["timer_duration"] = self._timer_duration
        return status

    def _switch_config(self, _switch: int) -> dict[str, Any]:
        return {
            "id": 0,
            "name": self.name,
            "initial_state": "restore_last",
            "auto_on": False,
            "auto_on_delay": 60.0,
            "auto_off": False,
            "auto_off_delay": 60.0,
            "power_limit": 2800,
            "voltage_limit": 280,
            "current_limit": 12.0,
        }

    def status(self) -> dict[str, Any]:
        """The Shelly.GetStatus result: every component's status."""
        now = time.time()
        return {
            "ble": {},
            "cloud": {"connected": False},
            "mqtt": {"connected": False},
            "switch:0": self._switch_status(0),
            "sys": {
                "mac": self.mac,
                "restart_required": False,
                "time": time.strftime("%H:%M", time.localtime(now)),
                "unixtime": int(now),
                "uptime": int(now - self._boot),
                "ram_size": 260000,
                "ram_free": 120000,
                "fs_size": 458752,
                "fs_free": 135168,
                "cfg_rev": 7,
                "kvs_rev": 0,
                "schedule_rev": 0,
                "webhook_rev": 0,
                "available_updates": {},
            },
            "wifi": {"sta_ip": self.ip, "status": "got ip", "ssid": "ClawHome", "rssi": -52},
            "ws": {"connected": False},
        }

    def config(self) -> dict[str, Any]:
        """The Shelly.GetConfig result (the parts a client reads)."""
        return {
            "switch:0": self._switch_config(0),
            "sys": {"device": {"name": self.name, "mac": self.mac, "fw_id": FW_ID}},
        }

    # ----------------------------------------------------------------- methods
    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run one RPC method; raises RpcError as the device would answer it."""
        handler = self._methods.get(method)
        if handler is None:
            raise RpcError(NO_HANDLER, f"No handler for {method}")
        return handler(params)

    @staticmethod
    def _switch_id(params: Mapping[str, Any]) -> int:
        if "id" not in params:
            raise RpcError(INVALID_ARGUMENT, "Missing required argument 'id'!")
        switch = params["id"]
        if isinstance(switch, bool) or not isinstance(switch, int):
            raise RpcError(INVALID_ARGUMENT, "Invalid argument 'id': must be a number")
        if switch != 0:
            raise RpcError(NOT_FOUND, f"Argument 'id', value {switch} not found!")
        return switch

    def _switch_set(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self._switch_id(params)
        if "on" not in params:
            raise RpcError(INVALID_ARGUMENT, "Missing required argument 'on'!")
        on = params["on"]
        if not isinstance(on, bool):
            raise RpcError(INVALID_ARGUMENT, "Invalid argument 'on': must be a boolean")
        toggle_after = params.get("toggle_after")
        if toggle_after is not None and (
            isinstance(toggle_after, bool) or not isinstance(toggle_after, int | float) or toggle_after <= 0
        ):
            raise RpcError(INVALID_ARGUMENT, "Invalid argument 'toggle_after': must be a positive number")
        return self._set_output(on, None if toggle_after is None else float(toggle_after))

    def _switch_toggle(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self._switch_id(params)
        return self._set_output(not self.output, None)

    def _set_output(self, on: bool, toggle_after: float | None) -> dict[str, Any]:
        was_on = self.output
        self.output = on
        self.source = "HTTP_in"
        self._cancel_timer()
        if toggle_after is not None:
            self._timer_started_at = round(time.time(), 2)
            self._timer_duration = toggle_after
            self._timer = self.spawn(self._flip_back(toggle_after), "toggle-after")
        return {"was_on": was_on}

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_started_at = self._timer_duration = None

    async def _flip_back(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.output = not self.output
        self.source = "timer"
        self._timer = None
        self._timer_started_at = self._timer_duration = None

    # ----------------------------------------------------------------- HTTP
    def add_routes(self, app: web.Application) -> None:
        """GET /shelly, GET|POST /rpc/<Method>, POST /rpc (JSON-RPC frame)."""
        app.router.add_get("/shelly", self._get_shelly)
        app.router.add_post("/rpc", self._post_frame)
        app.router.add_route("*", "/rpc/{method}", self._method_http)

    async def _get_shelly(self, _request: web.Request) -> web.Response:
        return web.json_response(self.device_info())

    async def _method_http(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        if request.method == "POST" and request.can_read_body:
            try:
                body = json.loads(await request.read() or b"{}")
            except (UnicodeDecodeError, json.JSONDecodeError):
                return _error_body(INVALID_ARGUMENT, "Invalid JSON body")
            if not isinstance(body, dict):
                return _error_body(INVALID_ARGUMENT, "Parameters must be a JSON object")
            params = body
        else:
            params = {key: _query_value(value) for key, value in request.query.items()}
        try:
            return web.json_response(self.call(method, params))
        except RpcError as exc:
            return _error_body(exc.code, exc.message)

    async def _post_frame(self, request: web.Request) -> web.Response:
        try:
            frame = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error_body(INVALID_ARGUMENT, "Invalid JSON-RPC frame")
        if not isinstance(frame, dict) or not isinstance(frame.get("method"), str):
            return _error_body(INVALID_ARGUMENT, "Invalid JSON-RPC frame: 'method' is required")
        reply: dict[str, Any] = {"id": frame.get("id"), "src": self.device_id}
        if "src" in frame:
            reply["dst"] = frame["src"]
        params = frame.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_ARGUMENT, "'params' must be a JSON object")
            reply["result"] = self.call(frame["method"], params)
        except RpcError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message}
        return web.json_response(reply)

    def service_infos(self) -> list[ServiceInfo]:
        """`_shelly._tcp` and `_http._tcp`, TXT gen=2, app, id, ver."""
        properties: dict[str, str | None] = {
            "gen": "2",
            "app": self.app,
            "ver": VERSION,
            "id": self.device_id,
        }
        return [
            service_info(
                service_type=service_type,
                instance=self.device_id,
                ip=self.ip,
                port=self.port,
                server=f"{self.device_id}.local.",
                properties=properties,
            )
            for service_type in ("_shelly._tcp.local.", "_http._tcp.local.")
        ]


def _query_value(raw: str) -> Any:
    """Decode a GET parameter as the device does: JSON when it parses (true, 0, "x"), else the raw string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _error_body(code: int, message: str) -> web.Response:
    # Over plain HTTP an error code that is an HTTP status (404) is the status; the rest answer 500.
    status = code if 400 <= code < 600 else 500
    return web.json_response({"code": code, "message": message}, status=status)
