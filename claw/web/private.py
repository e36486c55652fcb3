"""The private listener: the JSON API (contract endpoints) and the dashboard, on 127.0.0.1 by default."""

from __future__ import annotations

import json
import logging
import re
import time

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from claw import __version__
from claw.core.authority import sees_codes
from claw.core.errors import DiskFull
from claw.core.principals import agent_conversation
from claw.web import dashboard, mcp, memory_api, openai_compat
from claw.web.auth import PRINCIPAL, Handler, guard
from claw.web.public import QuietServerLog
from claw.web.site import SITE, Site
from claw.web.validate import Invalid

MAX_TEXT = 8000  # characters in one chat message, as the spec says

log = logging.getLogger(__name__)


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
            "model": {"host": model.address, "model": model.config.model, "online": model.online},
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
        raise Invalid("text", "must be a non-empty string")
    if len(text) > MAX_TEXT:  # a field over its documented maxLength is a validation error, like any other
        raise Invalid("text", f"must be at most {MAX_TEXT} characters, not {len(text)}")
    claw, who = _claw(request), request[PRINCIPAL]
    if who.speaks_for_owner:
        reply = await claw.local.ask(text)
    else:  # an agent talks in its own conversation, as itself: it confirms nothing and is shown no code
        reply = await claw.local.ask(text, principal=who, conversation=agent_conversation(who), sender=who.name)
    media = [claw.media_url(m.path, m.content_type) for m in reply.media]
    return web.json_response({"reply": reply.text, "media": media})


async def devices(request: web.Request) -> web.Response:
    return web.json_response(await _claw(request).snapshot("devices"))


async def events(request: web.Request) -> web.Response:
    return web.json_response(await _claw(request).snapshot("events"))


async def jobs(request: web.Request) -> web.Response:
    return web.json_response(await _claw(request).snapshot("jobs"))


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals (413 over the size limit, 405, 404 for no route) as the API's JSON errors.

    A handler's bug is one logged traceback and a JSON 500; aiohttp's server log then only ever hears
    of requests it could not parse or drain, and says each in one line (QuietServerLog).
    """
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json" or not request.path.startswith("/api/"):
            raise
        exc.text = json.dumps({"error": exc.text or exc.reason, "field": ""})
        exc.content_type = "application/json"
        raise
    except DiskFull as exc:  # nothing new is taken (nor acknowledged) until there is room: one line, no traceback
        log.error("private: %s %s refused: %s", request.method, request.path[:200], exc)
        return web.json_response({"error": f"{exc}.", "field": ""}, status=503, headers={"Retry-After": "60"})
    except Exception:  # a bug, not a bad request: the traceback is for us
        log.exception("private: %s %s failed", request.method, request.path[:200])
        return web.json_response({"error": "internal error (the log says more)", "field": ""}, status=500)


@web.middleware
async def withhold_codes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Belt and braces: no live code leaves in any answer to an agent, whatever endpoint it reached."""
    response = await handler(request)
    who = request.get(PRINCIPAL)
    if who is None or sees_codes(who) or not isinstance(response, web.Response):
        return response
    if not response.content_type.startswith(("application/json", "text/")) or response.text is None:
        return response
    text = response.text
    for code in {p.code for p in _claw(request).guard.pending()}:
        text = re.sub(rf"\b{code}\b", "····", text)
    response.text = text
    return response


def build(claw: Site) -> web.Application:
    """The private aiohttp application: the contract's JSON API, the dashboard and the OpenAI front door."""
    cfg = claw.config.private
    app = web.Application(
        middlewares=[
            guard(
                token=claw.token,
                bound_host=cfg.host,
                always=cfg.token_required,
                owner=claw.local.actor,
                agents=claw.agent_named,
            ),
            json_errors,
            withhold_codes,
        ],
        client_max_size=8 * 1024 * 1024,
        handler_args={"logger": QuietServerLog(logging.getLogger("claw.web.private.server"), {"listener": "private"})},
    )
    app[SITE] = claw
    app.router.add_get("/api/health", health)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/devices", devices)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/jobs", jobs)
    dashboard.install(app, claw)
    memory_api.install(app)
    openai_compat.install(app, claw)
    if mcp.available():  # the [mcp] extra
        from claw.web.mcp import endpoint  # noqa: PLC0415 -- loads the SDK only when it is installed

        endpoint.install(app, claw)
    return app
