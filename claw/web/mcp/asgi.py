"""Runs an ASGI application (the MCP SDK's streamable-HTTP server) inside an aiohttp handler."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aiohttp import web

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


async def serve(app: App, request: web.Request) -> web.StreamResponse:
    """One HTTP request through `app`: the body read by aiohttp (within client_max_size), the answer streamed."""
    body = await request.read()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0].encode("latin-1"),
        "query_string": request.query_string.encode("latin-1"),
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.raw_headers],
        "client": _address(request, "peername"),
        "server": _address(request, "sockname"),
        "state": {},
    }
    delivered = False
    gone = asyncio.Event()  # never set: a client that goes away cancels this handler (handler_cancellation)
    response: web.StreamResponse | None = None

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal response
        if message["type"] == "http.response.start":
            response = web.StreamResponse(status=int(message["status"]))
            for name, value in message.get("headers", ()):
                response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
            return
        if message["type"] != "http.response.body" or response is None:
            return
        if not response.prepared:
            await response.prepare(request)
        chunk = message.get("body", b"")
        if chunk:
            await response.write(chunk)
        if not message.get("more_body", False):
            await response.write_eof()

    await app(scope, receive, send)
    if response is None:
        raise web.HTTPInternalServerError(
            text='{"error": "the MCP server gave no answer"}', content_type="application/json"
        )
    if not response.prepared:  # headers only, no body message
        await response.prepare(request)
        await response.write_eof()
    return response


def _address(request: web.Request, which: str) -> tuple[str, int] | None:
    info = request.transport.get_extra_info(which) if request.transport is not None else None
    if isinstance(info, tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    return None
