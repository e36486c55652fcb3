"""The private listener: the JSON API (contract endpoints) and the dashboard, on 127.0.0.1 by default."""

from __future__ import annotations

import json
import time

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from claw import __version__
from claw.web import dashboard, openai_compat
from claw.web.auth import guard
from claw.web.site import SITE, Site


def _claw(request: web.Request) -> Site:
    return request.app[SITE]


async def health(request: web.Request) -> web.Response:
    claw = _claw(request)
    model = claw.model
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "uptime": round(time.time() - claw.started, 1),
            "ready": claw.ready.is_set(),
            "model": {"host": model.config.host, "model": model.config.model, "online": model.online},
            "components": claw.supervisor.health(),
        }
    )


async def chat(request: web.Request) -> web.Response:
    # The raw bytes (the app bounds their size), decoded here: a bogus charset, broken UTF-8, a false
    # Content-Encoding or JSON nested too deep for the parser is a 400, never a 500 with a traceback.
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError, RequestPayloadError):  # UnicodeDecodeError is a ValueError
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON: {\\"text\\": \\"...\\"}"}', content_type="application/json"
        ) from None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise web.HTTPBadRequest(
            text='{"error": "\\"text\\" must be a non-empty string"}', content_type="application/json"
        )
    if len(text) > 8000:
        raise web.HTTPRequestEntityTooLarge(max_size=8000, actual_size=len(text))
    reply = await _claw(request).local.ask(text)
    media = [_claw(request).media_url(m.path, m.content_type) for m in reply.media]
    return web.json_response({"reply": reply.text, "media": media})


async def devices(request: web.Request) -> web.Response:
    return web.json_response(await _claw(request).snapshot("devices"))


async def events(request: web.Request) -> web.Response:
    return web.json_response(await _claw(request).snapshot("events"))


async def jobs(request: web.Request) -> web.Response:
    return web.json_response(await _claw(request).snapshot("jobs"))


def build(claw: Site) -> web.Application:
    """The private aiohttp application: the contract's JSON API, the dashboard and the OpenAI front door."""
    cfg = claw.config.private
    app = web.Application(
        middlewares=[guard(token=claw.token, bound_host=cfg.host, always=cfg.token_required)],
        client_max_size=8 * 1024 * 1024,
    )
    app[SITE] = claw
    app.router.add_get("/api/health", health)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/devices", devices)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/jobs", jobs)
    dashboard.install(app, claw)
    openai_compat.install(app, claw)
    return app
