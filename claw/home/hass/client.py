"""One authenticated WebSocket to Home Assistant: numbered commands, their results, and pushed events."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from claw.core.errors import ClawError

log = logging.getLogger(__name__)

OnEvent = Callable[[dict[str, Any]], Awaitable[None]]


class HassError(ClawError):
    """Home Assistant could not be used just now: it is restarting, unreachable, or refused a command."""


class AuthInvalid(HassError):
    """Home Assistant refused the token: make a new long-lived access token and set it, then restart Claw."""


class Unreachable(HassError):
    """Nothing usable answers at Home Assistant's address: it is restarting or the address is wrong; retry later."""


class CommandFailed(HassError):
    """Home Assistant answered a command with an error (its code and message are kept)."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(f"Home Assistant said: {message or code}")


def websocket_url(base: str) -> str:
    """http://host:8123 -> ws://host:8123/api/websocket (https -> wss)."""
    scheme, rest = base.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/websocket"


class Connection:
    """Commands get ids counting up from 1; `listen` dispatches results to their callers and events to `on_event`."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, on_event: OnEvent, version: str, timeout: float) -> None:
        self.ws, self.on_event, self.version, self.timeout = ws, on_event, version, timeout
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}

    @classmethod
    async def open(
        cls, session: aiohttp.ClientSession, base_url: str, token: str, on_event: OnEvent, *, timeout: float
    ) -> Connection:
        """Connect and authenticate (auth_required -> auth -> auth_ok); AuthInvalid or Unreachable otherwise."""
        url = websocket_url(base_url)
        try:
            ws = await session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=timeout), max_msg_size=0)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise Unreachable(f"Home Assistant at {base_url} did not answer ({type(exc).__name__}: {exc})") from None
        try:
            async with asyncio.timeout(timeout):
                hello = await _receive(ws)
                if hello.get("type") != "auth_required":
                    kind = hello.get("type")
                    raise Unreachable(f"{base_url} does not speak Home Assistant's WebSocket API (got {kind!r})")
                await ws.send_json({"type": "auth", "access_token": token})
                answer = await _receive(ws)
        except TimeoutError:
            await ws.close()
            raise Unreachable(f"Home Assistant at {base_url} did not finish the handshake in {timeout:.0f} s") from None
        except BaseException:
            await ws.close()
            raise
        if answer.get("type") == "auth_invalid":
            await ws.close()
            reason = str(answer.get("message") or "invalid access token")
            raise AuthInvalid(f"Home Assistant at {base_url} refused the token: {reason}")
        if answer.get("type") != "auth_ok":
            await ws.close()
            raise Unreachable(f"Home Assistant at {base_url} answered the login with {answer.get('type')!r}")
        return cls(ws, on_event, str(answer.get("ha_version") or hello.get("ha_version") or ""), timeout)

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def command(self, kind: str, **fields: Any) -> Any:
        """Send one command and return its result; CommandFailed with HA's message, Unreachable if the link drops."""
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        try:
            await self.ws.send_json({"id": ident, "type": kind, **fields})
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError:
            raise Unreachable(f"Home Assistant did not answer {kind} within {self.timeout:.0f} s") from None
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise Unreachable(f"the link to Home Assistant dropped ({type(exc).__name__})") from None
        finally:
            self._waiting.pop(ident, None)

    async def ping(self) -> None:
        """HA's own ping: a pong within the timeout, or Unreachable."""
        await self.command("ping")

    async def listen(self) -> None:
        """Read until the socket closes; a malformed message is logged and skipped, never fatal."""
        try:
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    if message.type == aiohttp.WSMsgType.ERROR:
                        break
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    log.warning("home assistant sent something not JSON (%d characters); skipped", len(message.data))
                    continue
                # HA may coalesce several messages into one JSON array
                for one in data if isinstance(data, list) else [data]:
                    await self._dispatch(one)
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(Unreachable("the link to Home Assistant closed"))

    async def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("id"), int):
            log.warning("home assistant sent a message without an id; skipped")
            return
        kind = message.get("type")
        if kind == "event":
            event = message.get("event")
            if isinstance(event, dict):
                try:
                    await self.on_event(event)
                except Exception:  # one bad event must not end the link
                    log.exception("home assistant event %s could not be handled", event.get("event_type"))
            return
        future = self._waiting.get(message["id"])
        if future is None or future.done():
            return
        if kind == "pong":
            future.set_result(None)
        elif kind == "result" and message.get("success") is True:
            future.set_result(message.get("result"))
        elif kind == "result":
            error = message.get("error")
            error = error if isinstance(error, dict) else {}
            future.set_exception(CommandFailed(str(error.get("code", "")), str(error.get("message", ""))))
        else:
            future.set_exception(CommandFailed("unexpected", f"an answer of type {kind!r}"))

    async def close(self) -> None:
        await self.ws.close()


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive()
    if message.type != aiohttp.WSMsgType.TEXT:
        raise Unreachable(f"the WebSocket closed during the login ({message.type.name})")
    try:
        data = json.loads(message.data)
    except ValueError:
        raise Unreachable("the login answer was not JSON") from None
    if not isinstance(data, dict):
        raise Unreachable("the login answer was not a JSON object")
    return data
