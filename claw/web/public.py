"""The public listener: only what parts add (Twilio webhooks) and pictures by token; everything else is 404."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from claw.core.errors import DiskFull
from claw.core.media import MAX_BYTES, MediaTokens

log = logging.getLogger(__name__)

MEDIA: web.AppKey[MediaTokens] = web.AppKey("media", MediaTokens)
CLIENT_MAX_SIZE = 64 * 1024  # Twilio's forms are a few kB; nothing big is ever posted here
HEADERS = {
    "Server": "claw",  # no version banner
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@web.middleware
async def _plain(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unknown paths and methods alike are a bare 404; every answer carries the same few headers."""
    try:
        response = await handler(request)
    except web.HTTPMethodNotAllowed:
        response = web.Response(status=404, text="404: Not Found")
    except web.HTTPException as exc:
        response = web.Response(status=exc.status, text=exc.text or exc.reason, content_type="text/plain")
    except DiskFull as exc:  # not taken, so not acknowledged: the sender may try again once there is room
        log.error("public: %s %s refused: %s", request.method, request.path, exc)
        response = web.Response(status=503, text="503: Service Unavailable", headers={"Retry-After": "60"})
    except Exception:  # a bug, not a bad request: the traceback is for us, the caller gets a bare 500
        log.exception("public: %s %s failed", request.method, request.path)
        response = web.Response(status=500, text="500: Internal Server Error")
    response.headers.update(HEADERS)
    return response


class QuietServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's own log for requests it could not even parse (garbage on the port, bad headers, a
    body that fails to decompress while it is drained).

    Anyone can send those to a listener, so each is one warning line, never a traceback. Handler
    errors never reach it: `_plain` (and the private app's `json_errors`) answer them all.
    `extra={"listener": name}` names the listener in the line.
    """

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs.pop("exc_info", None)
        kwargs.pop("stack_info", None)
        return msg, kwargs

    def exception(self, msg: object, *args: object, exc_info: object = True, **kwargs: Any) -> None:
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        what = f"{type(error).__name__}: {' '.join(str(error).split())[:200]}" if error else "unknown error"
        listener = (self.extra or {}).get("listener", "public")
        self.logger.warning("%s: refused a malformed request (%s)", listener, what)


async def picture(tokens: MediaTokens, token: str, cache: str) -> web.Response:
    """A picture behind an unguessable, expiring token; 404 for anything unknown, expired, missing or too big."""
    grant = tokens.resolve(token)
    if grant is None:
        raise web.HTTPNotFound()
    data = await asyncio.to_thread(_read, grant.path)
    if data is None:
        log.warning("media: %s is missing or over 5 MB; answered 404", grant.path.name)
        raise web.HTTPNotFound()
    return web.Response(body=data, content_type=grant.content_type, headers={"Cache-Control": cache})


async def media_handler(request: web.Request) -> web.Response:
    return await picture(request.app[MEDIA], request.match_info["token"], "no-store")


def _read(path: Path) -> bytes | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def build(media: MediaTokens, routes: Sequence[Callable[[web.Application], None]]) -> web.Application:
    """The public aiohttp application: `GET /media/{token}` plus the channels' webhooks (`routes`)."""
    public = web.Application(
        middlewares=[_plain],
        client_max_size=CLIENT_MAX_SIZE,
        handler_args={"logger": QuietServerLog(logging.getLogger("claw.web.public.server"), {})},
    )
    public[MEDIA] = media
    public.router.add_get("/media/{token}", media_handler)
    for add in routes:
        add(public)
    return public
