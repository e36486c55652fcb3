"""The dashboard: the page, its JSON API and the live stream, on the private listener."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from claw import __version__
from claw.assistant.speech import say_results, say_routine
from claw.core.authority import Power, decide, refusal, sees_codes
from claw.core.principals import Principal, agent_conversation
from claw.core.request import Request, unattended
from claw.core.store import messages as log_db
from claw.core.store.audit import recent, write
from claw.home.device import Device
from claw.home.house import Home
from claw.web.auth import PRINCIPAL
from claw.web.feed import Feed
from claw.web.public import picture
from claw.web.site import SITE, Site
from claw.web.stream import stream as serve_stream
from claw.web.validate import Invalid, boolean, int_query, json_object, not_found, only, parse_change

STATIC = Path(__file__).resolve().parent / "static"
FEED: web.AppKey[Feed] = web.AppKey("dashboard feed", Feed)
# The page loads nothing from elsewhere; this keeps it so even if a device name carries markup.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STATUS_HTTP = {
    "done": 200,
    "already": 200,
    "held": 202,
    "needs_approval": 409,
    "failed": 502,
    "unsupported": 400,
    "limited": 429,  # a pause, in plain words: nothing was sent
}


def install(app: web.Application, claw: Site) -> None:
    """Add the page, the API behind it, `/api/stream` and `/media/{token}` to the private application."""
    feed = Feed(claw)
    app[FEED] = feed
    app.cleanup_ctx.append(feed.context)
    app.on_shutdown.append(_close_streams)  # before the server waits for open handlers
    app.on_response_prepare.append(_headers)
    r = app.router
    r.add_get("/", index)
    r.add_static("/static/", STATIC, append_version=False)
    r.add_get("/api/openapi.json", openapi)
    r.add_get("/api/overview", overview)
    r.add_get("/api/devices/{id}", device)
    r.add_post("/api/devices/{id}", control)
    r.add_post("/api/devices/{id}/ignore", ignore)
    r.add_get("/api/routines", routines)
    r.add_post("/api/routines/{name}/run", run_routine)
    r.add_get("/api/audit", audit)
    r.add_get("/api/killswitch", killswitch)
    r.add_post("/api/killswitch", set_killswitch)
    r.add_get("/api/pending", pending)
    r.add_get("/api/notifications", notifications)
    r.add_get("/api/chat/history", chat_history)
    r.add_get("/api/skills", skills)
    r.add_get("/api/outbox", outbox)
    r.add_get("/api/cameras", cameras)
    r.add_get("/api/stream", stream)
    r.add_get("/media/{token}", media)


async def _close_streams(app: web.Application) -> None:
    app[SITE].live.close()


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # the page's URL may carry ?token=
    if request.path == "/" or request.path.startswith("/static/"):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers["Cache-Control"] = "no-cache"  # revalidate, so an upgrade shows at once


def _claw(request: web.Request) -> Site:
    return request.app[SITE]


def _home(claw: Site) -> Home:
    home: Home | None = claw.home
    if home is None:
        raise web.HTTPServiceUnavailable(
            text=json.dumps({"error": "no home part is running"}), content_type="application/json"
        )
    return home


def _device(home: Home, device_id: str) -> Device:
    found = home.registry.get(device_id)
    if found is None:
        raise not_found(f"device with id {device_id!r}")
    return found


def _turn(request: web.Request) -> Request:
    """Who clicked: the owner's dashboard session, or an agent holding its own token; codes go to the owners."""
    who = request[PRINCIPAL]
    conversation = _claw(request).local.conversation if who.speaks_for_owner else agent_conversation(who)
    return unattended(who, "dashboard", conversation)


def _refused(who: Principal, power: Power) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=json.dumps({"error": refusal(who, power)}), content_type="application/json")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=str, ensure_ascii=False), status=status, content_type="application/json"
    )


async def _paused(claw: Site) -> bool:
    return await claw.killswitch.paused()


# -- the page -------------------------------------------------------------------------------------


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def openapi(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "openapi.json", headers={"Content-Type": "application/json"})


async def overview(request: web.Request) -> web.Response:
    """What the page needs first: who, whether paused, and which sections have data behind them."""
    claw = _claw(request)
    return _json(
        {
            "version": __version__,
            "actor": claw.local.actor,
            "paused": await _paused(claw),
            "sections": sorted(claw.snapshots),
            "model": {"model": claw.model.config.model, "online": claw.model.online},
            "components": claw.supervisor.health(),
        }
    )


# -- devices and routines -------------------------------------------------------------------------


async def device(request: web.Request) -> web.Response:
    return _json(_device(_home(_claw(request)), request.match_info["id"]).describe())


async def control(request: web.Request) -> web.Response:
    """Change one device; sensitive changes answer 202 with the code the owners were sent."""
    claw = _claw(request)
    home = _home(claw)
    target = _device(home, request.match_info["id"])
    change = parse_change(target, await json_object(request))
    if target.ignored:
        raise web.HTTPConflict(
            text=json.dumps({"error": f"{target.name} is ignored; un-ignore it first"}), content_type="application/json"
        )
    [result] = await home.control.apply([target], change, _turn(request))
    if result.status == "unsupported":
        field = "power" if change.power is not None else ("action" if change.action else "values")
        raise Invalid(field, f"{target.name} can't {change.describe()}")
    body: dict[str, Any] = {
        "status": result.status,
        "message": say_results([result], change, "en"),
        "device": target.describe(),
    }
    if result.status == "held":
        shown = result.pending is not None and sees_codes(request[PRINCIPAL])
        body["code"] = result.pending.code if shown and result.pending is not None else ""
    return _json(body, STATUS_HTTP.get(result.status, 200))


async def ignore(request: web.Request) -> web.Response:
    """`{"ignored": true|false}`: hide a device from Claw or bring it back; audited."""
    claw = _claw(request)
    home = _home(claw)
    target = _device(home, request.match_info["id"])
    body = await json_object(request, required=False)
    only(body, {"ignored"})
    ignored = boolean(body, "ignored", True)
    turn = _turn(request)
    verdict = decide(turn.principal, "manage")
    if verdict == "no":
        raise _refused(turn.principal, "manage")

    async def apply() -> str:
        await home.registry.update(target, ignored=ignored)
        await claw.store.run(write, turn.audit("ignore" if ignored else "un-ignore", target.name))
        return f"{'Ignoring' if ignored else 'Watching'} {target.name}."

    if verdict == "code" or (ignored and target.kind == "camera" and not target.ignored):
        # ignoring a camera switches it off for Claw: that is "disable a camera", which needs the owner's code;
        # an agent's management waits for an owner's code whatever it is
        words = f"stop watching the {target.name}" if ignored else f"watch the {target.name} again"
        held = await claw.guard.hold(words, apply, turn)
        code = held.code if sees_codes(turn.principal) else ""
        return _json({"status": "held", "message": held.shown, "code": code, "device": target.describe()}, 202)
    message = await apply()
    return _json({"status": "done", "message": message, "device": target.describe()})


async def routines(request: web.Request) -> web.Response:
    return _json(await _claw(request).snapshot("routines"))


async def run_routine(request: web.Request) -> web.Response:
    """Run a routine now; 409 while the kill switch is on (refused and audited by Actions.routine)."""
    claw = _claw(request)
    home = _home(claw)
    name = request.match_info["name"]
    routine = home.routines.get(name)
    if routine is None:
        raise not_found(f"routine called {name!r}")
    paused = await _paused(claw)
    message = say_routine(await home.actions.routine(routine, _turn(request)), "en")
    return _json({"status": "paused" if paused else "done", "message": message}, 409 if paused else 200)


# -- the kill switch, confirmations, audit --------------------------------------------------------


async def killswitch(request: web.Request) -> web.Response:
    return _json({"paused": await _paused(_claw(request))})


async def set_killswitch(request: web.Request) -> web.Response:
    """`{"paused": bool}`: pause or resume every automation and alert; audited and told to the owners."""
    claw = _claw(request)
    body = await json_object(request)
    only(body, {"paused"})
    paused = boolean(body, "paused")
    was = await _paused(claw)
    turn = _turn(request)
    detail = "automations and alerts paused" if paused else "automations and alerts resumed"
    if paused != was and decide(turn.principal, "manage") != "yes":
        # an agent may not pause or resume the house by itself: an owner's code decides
        if decide(turn.principal, "manage") == "no":
            raise _refused(turn.principal, "manage")

        async def flip() -> str:
            await claw.killswitch.set(paused, turn, detail)
            claw.live.publish("killswitch", {"paused": paused})
            return f"{'Paused' if paused else 'Resumed'} automations and alerts."

        held = await claw.guard.hold("pause all automations" if paused else "resume automations", flip, turn)
        return _json({"paused": was, "status": "held", "message": held.shown}, 202)
    if paused != was:
        await claw.killswitch.set(paused, turn, detail)
        claw.live.publish("killswitch", {"paused": paused})
        words = "paused all automations and alerts" if paused else "resumed automations and alerts"
        await claw.notify(f"{turn.actor} {words} from the dashboard.")
    return _json({"paused": paused})


async def pending(request: web.Request) -> web.Response:
    """Actions waiting for an owner's OK code; an agent sees what waits, never a code."""
    waiting = _claw(request).guard.pending()
    shown = sees_codes(request[PRINCIPAL])
    return _json(
        [
            {
                "code": p.code if shown else "",
                "description": p.description,
                "requested_by": p.requested_by,
                "path": p.via,
                "expires": p.expires,
                "prompt": p.prompt if shown else "Waiting for an owner's code (it went to the owners).",
            }
            for p in sorted(waiting, key=lambda p: p.created)
        ]
    )


async def audit(request: web.Request) -> web.Response:
    limit = int_query(request, "limit", 100, 1, 1000)
    actor = request.query.get("actor") or None
    return _json(await _claw(request).store.run(recent, limit, actor))


# -- the feed, chat history, snapshots ------------------------------------------------------------


async def notifications(request: web.Request) -> web.Response:
    if not sees_codes(request[PRINCIPAL]):  # the owners' notices carry codes and who asked what
        raise _refused(request[PRINCIPAL], "see codes")
    return _json(list(request.app[FEED].notifications))


async def chat_history(request: web.Request) -> web.Response:
    """The owner's recent conversation (all channels), oldest first: the chat panel's scrollback."""
    claw = _claw(request)
    limit = int_query(request, "limit", 40, 1, 200)
    who = request[PRINCIPAL]
    conversation = claw.local.conversation if who.speaks_for_owner else agent_conversation(who)
    messages = await claw.store.run(log_db.live, conversation)
    said = [m for m in messages if m.role in ("user", "assistant") and m.content.strip()]
    return _json(
        [{"role": m.role, "text": m.content, "channel": m.channel, "ts": m.ts} for m in said[-limit:]],
    )


async def skills(request: web.Request) -> web.Response:
    return await _snapshot(request, "skills")


async def outbox(request: web.Request) -> web.Response:
    return await _snapshot(request, "outbox")


async def cameras(request: web.Request) -> web.Response:
    return await _snapshot(request, "cameras")


async def _snapshot(request: web.Request, kind: str) -> web.Response:
    claw = _claw(request)
    if kind not in claw.snapshots:
        raise not_found(f"{kind} here (that part is not running)")
    return _json(await claw.snapshot(kind))


async def stream(request: web.Request) -> web.StreamResponse:
    if not sees_codes(request[PRINCIPAL]):  # the owners' live feed carries their notices (and codes)
        raise _refused(request[PRINCIPAL], "see codes")
    return await serve_stream(request, _claw(request).live)


async def media(request: web.Request) -> web.Response:
    """A picture by token, as on the public listener, so the page works with only this listener."""
    return await picture(_claw(request).media, request.match_info["token"], "private, max-age=600")
