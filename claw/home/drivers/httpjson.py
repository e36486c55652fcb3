"""The generic HTTP-JSON driver: GET /info and /state, POST /state — simple DIY devices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiohttp

from claw.errors import DeviceError
from claw.home import capabilities as caps
from claw.home.capabilities import Capability
from claw.home.device import Device, Found

KNOWN: Mapping[str, Capability] = {
    "on": caps.POWER,
    "brightness": caps.BRIGHTNESS,
    "target_temp": caps.SETPOINT,
    "current_temp": caps.TEMPERATURE,
    "position": caps.POSITION,
    "volume": caps.VOLUME,
    "locked": caps.LOCK,
    "battery": caps.BATTERY,
}
BY_KIND: Mapping[tuple[str, str], Capability] = {
    ("alarm", "mode"): caps.ALARM,
    ("garage_door", "state"): caps.GARAGE,
    ("gate", "state"): caps.GARAGE,
}


def capability_from_field(kind: str, key: str, spec: Mapping[str, Any]) -> Capability:
    """A device's self-description -> our typed capability (common ones keep their safety rules)."""
    base = BY_KIND.get((kind, key)) or KNOWN.get(key)
    writable = bool(spec.get("writable", True))
    if base is not None:
        return replace(base, writable=writable and base.type != "sensor")
    ftype = spec.get("type")
    if ftype == "bool":
        return Capability(key, "switch" if writable else "sensor", writable=writable)
    if ftype == "enum":
        return Capability(
            key, "choice" if writable else "sensor", options=tuple(spec.get("options", ())), writable=writable
        )
    return Capability(
        key, "number" if writable else "sensor", min=spec.get("min"), max=spec.get("max"), writable=writable
    )


class Session:
    """One aiohttp session per driver, made on the running loop and closed on stop."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=4),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class HttpJsonDriver:
    name = "httpjson"

    def __init__(self, timeout: float = 3.0) -> None:
        self.http = Session(timeout)

    async def _call(self, method: str, url: str, name: str, body: Any = None) -> Any:
        try:
            async with self.http.get().request(method, url, json=body) as response:
                data = await response.json(content_type=None)
                if response.status >= 400:
                    problem = data.get("error") if isinstance(data, dict) else None
                    raise DeviceError(name, f"refused: {problem or response.status}")
                return data
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise DeviceError(name, f"didn't answer ({type(exc).__name__})") from None

    async def identify(self, found: Found) -> Found:
        info = await self._call("GET", f"http://{found.address}/info", found.name)
        return replace(
            found,
            name=info.get("name") or found.name,
            room=info.get("room") or found.room,
            kind=info.get("kind") or found.kind,
            info={**found.info, "model": info.get("model", ""), "fields": info.get("fields", {})},
        )

    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        fields: Mapping[str, Any] = found.info.get("fields", {})
        return tuple(capability_from_field(found.kind, key, spec) for key, spec in fields.items())

    async def read(self, device: Device) -> dict[str, Any]:
        return dict(await self._call("GET", f"http://{device.address}/state", device.name))

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", f"http://{device.address}/state", device.name, dict(changes)))

    async def act(self, device: Device, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        raise DeviceError(device.name, f"has no '{action}' action")

    async def close(self) -> None:
        await self.http.close()
