"""The simulated Home Assistant's WebSocket API (/api/websocket): auth, registries, states, events, services.

Speaks the real protocol (https://developers.home-assistant.io/docs/api/websocket): the server says
`auth_required`, the client answers `auth` with its access token, then numbered commands get `result`
messages and subscriptions get `event` messages carrying the subscription's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from claw_sim.devices.homeassistant_services import ServiceError

if TYPE_CHECKING:
    from claw_sim.devices.homeassistant import HomeAssistant

_LOG = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)  # a client is itself, hashed by identity
class _Client:
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    subscriptions: dict[int, str | None] = field(default_factory=dict)  # id -> event type (None: every event)
    last_id: int = 0

    def send(self, message: dict[str, Any] | str) -> None:
        self.outbox.put_nowait(message if isinstance(message, str) else json.dumps(message))


class WebSocketApi:
    """Every connected client of one simulated Home Assistant, and what each subscribed to."""

    def __init__(self, home: HomeAssistant) -> None:
        self.home = home
        self.clients: set[_Client] = set()
        self.commands: list[str] = []  # command types received, for tests
        self.logins = 0  # successful logins (a reconnect is a second one)
        self.refused = 0  # logins refused (a wrong token)
        self.handlers: dict[str, Callable[[_Client, dict[str, Any]], Any]] = {
            "get_config": lambda c, m: self.home.config_answer(),
            "get_states": lambda c, m: self.home.states_answer(),
            "get_services": lambda c, m: self.home.services_answer(),
            "config/area_registry/list": lambda c, m: self.home.areas_answer(),
            "config/floor_registry/list": lambda c, m: self.home.floors_answer(),
            "config/device_registry/list": lambda c, m: self.home.devices_answer(),
            "config/entity_registry/list": lambda c, m: self.home.entities_answer(),
        }

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        await ws.send_json({"type": "auth_required", "ha_version": self.home.version})
        try:
            hello = await ws.receive_json(timeout=10)
        except (TypeError, ValueError, TimeoutError):
            await ws.close()
            return ws
        if not isinstance(hello, dict) or hello.get("type") != "auth" or hello.get("access_token") != self.home.token:
            self.refused += 1
            await ws.send_json({"type": "auth_invalid", "message": "Invalid access token or password"})
            await ws.close()
            return ws
        await ws.send_json({"type": "auth_ok", "ha_version": self.home.version})
        self.logins += 1
        client = _Client(ws)
        self.clients.add(client)
        writer = asyncio.create_task(self._write(client), name=f"{self.home.device_id}:ws writer")
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._command(client, message.data)
        finally:
            self.clients.discard(client)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _write(self, client: _Client) -> None:
        """One writer per client, so events and results leave in the order they were made."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                await client.ws.send_str(await client.outbox.get())

    def _command(self, client: _Client, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            client.send({"id": None, "type": "result", "success": False, "error": _error("invalid_format", "JSON")})
            return
        ident = message.get("id") if isinstance(message, dict) else None
        if not isinstance(ident, int) or ident <= client.last_id:
            client.send(_failed(ident, "id_reuse", "Identifier values have to increase."))
            return
        client.last_id = ident
        kind = str(message.get("type"))
        self.commands.append(kind)
        if kind == "ping":
            client.send({"id": ident, "type": "pong"})
        elif kind == "subscribe_events":
            event_type = message.get("event_type")
            client.subscriptions[ident] = event_type if isinstance(event_type, str) else None
            client.send(_result(ident, None))
        elif kind == "unsubscribe_events":
            client.subscriptions.pop(message.get("subscription", -1), None)
            client.send(_result(ident, None))
        elif kind == "homeassistant/expose_entity/list":
            if not self.home.admin:
                client.send(_failed(ident, "unauthorized", "Unauthorized"))
            else:
                client.send(_result(ident, {"exposed_entities": self.home.exposed_answer()}))
        elif kind == "call_service":
            self._call_service(client, ident, message)
        elif kind in self.handlers:
            client.send(_result(ident, self.handlers[kind](client, message)))
        else:
            client.send(_failed(ident, "unknown_command", "Unknown command."))

    def _call_service(self, client: _Client, ident: int, message: dict[str, Any]) -> None:
        data = dict(message.get("service_data") or {})
        target = message.get("target")
        if isinstance(target, dict) and "entity_id" in target:
            data["entity_id"] = target["entity_id"]
        try:
            # the state_changed events go out (in order) before the result, as in HA
            self.home.call_service(str(message.get("domain")), str(message.get("service")), data)
        except ServiceError as exc:
            code = "not_found" if "not found" in str(exc) else "invalid_format"
            client.send(_failed(ident, code, str(exc)))
            return
        context = {"id": _now_id(), "parent_id": None, "user_id": None}
        client.send(_result(ident, {"context": context, "response": None}))

    def event(self, event_type: str, data: dict[str, Any]) -> None:
        """Push an event to every client subscribed to it."""
        body = {
            "event_type": event_type,
            "data": data,
            "origin": "LOCAL",
            "time_fired": datetime.now(UTC).isoformat(),
            "context": {"id": _now_id(), "parent_id": None, "user_id": None},
        }
        for client in list(self.clients):
            for ident, wanted in client.subscriptions.items():
                if wanted in (None, event_type):
                    client.send({"id": ident, "type": "event", "event": body})

    def inject(self, raw: str) -> None:
        """Send raw text to every logged-in client (malformed-message tests)."""
        for client in list(self.clients):
            client.send(raw)

    async def drop_all(self) -> None:
        """Close every connection, as a restarting Home Assistant does."""
        for client in list(self.clients):
            with contextlib.suppress(Exception):
                await client.ws.close()
        self.clients.clear()


def _result(ident: int, result: Any) -> dict[str, Any]:
    return {"id": ident, "type": "result", "success": True, "result": result}


def _failed(ident: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": ident, "type": "result", "success": False, "error": _error(code, message)}


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _now_id() -> str:
    return f"{datetime.now(UTC).timestamp():.6f}".replace(".", "")
