"""What Claw believes and why things happened: `/api/memory` (see, search, correct, forget, undo), `/api/timeline`."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from claw.assistant.recollection import Found, Recollection
from claw.assistant.why import LANGUAGES, Explained, Timeline
from claw.core.authority import Power, decide, refusal
from claw.core.principals import Principal
from claw.core.request import Request, unattended
from claw.core.store import facts as facts_db
from claw.core.store.audit import write
from claw.core.store.facts import Fact
from claw.core.untrusted import clean_untrusted
from claw.web.auth import PRINCIPAL
from claw.web.site import SITE, Site
from claw.web.validate import Invalid, int_query, json_object, not_found, only

MAX_ID = 2**53 - 1  # what JSON numbers carry exactly (and SQLite's integers hold)
MAX_TEXT = 300  # characters in one fact
MAX_QUERY = 500


def install(app: web.Application) -> None:
    """Add the memory and timeline endpoints to the private application."""
    r = app.router
    r.add_get("/api/memory", search)
    r.add_patch("/api/memory/{id}", correct)
    r.add_delete("/api/memory/{id}", forget)
    r.add_post("/api/memory/{id}/restore", restore)
    r.add_get("/api/timeline", timeline)


def _claw(request: web.Request) -> Site:
    return request.app[SITE]


def _memory(request: web.Request) -> Recollection:
    memory = _claw(request).memory
    if memory is None:
        raise web.HTTPServiceUnavailable(
            text=json.dumps({"error": "memory is not running"}), content_type="application/json"
        )
    return memory


def _scopes(request: web.Request) -> list[str]:
    """Whose facts a caller sees: the household's, and the dashboard owner's own; an agent, the household's."""
    who = request[PRINCIPAL]
    if who.speaks_for_owner:
        return [facts_db.HOUSEHOLD, _claw(request).local.conversation]
    return [facts_db.HOUSEHOLD]


def _refused(who: Principal, power: Power) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=json.dumps({"error": refusal(who, power)}), content_type="application/json")


def _fact_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise Invalid("id", f"must be a fact's number (1 to {MAX_ID}), not {raw[:40]!r}")
    return int(raw)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=str, ensure_ascii=False), status=status, content_type="application/json"
    )


async def _shown(request: web.Request, fact: Fact, found: Found | None = None) -> dict[str, Any]:
    """A fact as the page shows it: its words, whose it is, and its source (the message it was said in)."""
    claw = _claw(request)
    said = await claw.store.run(facts_db.messages_by_ids, [fact.message]) if fact.message else []
    source: dict[str, Any] = {"author": fact.author, "channel": fact.source, "message": None}
    if said:
        m = said[0]
        source["message"] = {"id": m.id, "text": m.content[:500], "channel": m.channel, "sender": m.sender, "ts": m.ts}
    out: dict[str, Any] = {
        "id": fact.id,
        "text": fact.text,
        "household": fact.scope == facts_db.HOUSEHOLD,
        "kind": fact.kind,
        "valid_from": fact.valid_from,
        "current": fact.current,
        "superseded_by": fact.superseded_by,
        "forgotten": fact.deleted is not None,
        "source": source,
    }
    if found is not None:
        out["score"] = found.score
        out["matched"] = {"words": found.keyword_rank, "meaning": found.vector_rank}
    return out


async def search(request: web.Request) -> web.Response:
    """`?q=` the facts best matching (words and meaning fused), else the newest; each with its source."""
    claw = _claw(request)
    memory = _memory(request)
    limit = int_query(request, "limit", 20, 1, 100)
    query = request.query.get("q", "").strip()
    if len(query) > MAX_QUERY:
        raise Invalid("q", f"must be at most {MAX_QUERY} characters")
    scopes = _scopes(request)
    shown: list[dict[str, Any]] = []
    if query:
        for found in await memory.search(query, scopes, limit):
            shown.append(await _shown(request, found.fact, found))
    else:
        for fact in await claw.store.run(facts_db.facts, scopes, limit):
            shown.append(await _shown(request, fact))
    return _json({"mode": memory.mode(), "query": query, "facts": shown})


async def _owned(request: web.Request) -> Fact:
    """The fact named in the path, if this caller may see it (else 404: its existence is not told)."""
    fact = await _claw(request).store.run(facts_db.get, _fact_id(request))
    if fact is None or fact.scope not in _scopes(request):
        raise not_found(f"fact {request.match_info['id'][:40]!r}")
    return fact


async def _manage(request: web.Request, words: str, change: Any) -> web.Response:
    """Run a change to memory as the authority table says: now, held for an owner's code, or refused."""
    claw = _claw(request)
    who = request[PRINCIPAL]
    verdict = decide(who, "manage")
    if verdict == "no":
        raise _refused(who, "manage")
    turn = _turn(request)
    if verdict == "code":  # an agent changes what Claw believes only with an owner's yes

        async def later() -> str:
            done = await change(turn)
            return str(done.get("message", "done"))

        held = await claw.guard.hold(words, later, turn)
        return _json({"status": "held", "message": held.shown}, 202)
    return _json({"status": "done", **await change(turn)})


def _turn(request: web.Request) -> Request:
    who = request[PRINCIPAL]
    return unattended(who, "dashboard", _claw(request).local.conversation if who.speaks_for_owner else "agents")


async def correct(request: web.Request) -> web.Response:
    """`{"text": "..."}`: the fact's new words; the old fact is kept as history, superseded by the new one."""
    fact = await _owned(request)
    body = await json_object(request)
    only(body, {"text"})
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Invalid("text", "must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise Invalid("text", f"must be at most {MAX_TEXT} characters, not {len(text)}")
    if not fact.current:
        raise web.HTTPConflict(
            text=json.dumps({"error": f"fact {fact.id} no longer holds; edit the one that replaced it"}),
            content_type="application/json",
        )
    memory = _memory(request)
    words = clean_untrusted(text)

    async def change(turn: Request) -> dict[str, Any]:
        new = await memory.correct(fact.id, words, author=turn.actor, source="dashboard")
        if new is None:
            return {"message": "that fact no longer holds"}
        await _claw(request).store.run(write, turn.audit("correct fact", f"#{fact.id}", "ok", f"now #{new.id}"))
        return {"message": f'Now: "{new.text}"', "fact": await _shown(request, new), "replaced": fact.id}

    return await _manage(request, f'change what I remember to "{words[:80]}"', change)


async def forget(request: web.Request) -> web.Response:
    """Forget a fact (kept for undo: POST /api/memory/{id}/restore)."""
    fact = await _owned(request)
    if not fact.current:
        raise not_found(f"current fact {fact.id}")
    memory = _memory(request)

    async def change(turn: Request) -> dict[str, Any]:
        gone = await memory.forget(fact.id)
        await _claw(request).store.run(write, turn.audit("forget fact", f"#{fact.id}"))
        return {"message": f'Forgotten: "{fact.text}"', "fact": await _shown(request, gone or fact)}

    return await _manage(request, f'forget "{fact.text[:80]}"', change)


async def restore(request: web.Request) -> web.Response:
    """Undo: a forgotten fact holds again; a corrected one comes back and its correction is forgotten."""
    fact = await _owned(request)
    if fact.current:
        return _json({"status": "done", "message": "it already holds", "fact": await _shown(request, fact)})
    memory = _memory(request)
    claw = _claw(request)

    async def change(turn: Request) -> dict[str, Any]:
        back = await memory.undo(fact.id)
        if back is None:
            return {"message": "that can no longer be undone"}
        await claw.store.run(write, turn.audit("restore fact", f"#{fact.id}"))
        return {"message": f'Back: "{back.text}"', "fact": await _shown(request, back)}

    return await _manage(request, f'bring back "{fact.text[:80]}"', change)


async def timeline(request: web.Request) -> web.Response:
    """What happened in the last `hours` (or to one `device`), newest first, each with its cause in words."""
    found = _claw(request).timeline
    if found is None:
        raise web.HTTPServiceUnavailable(text=json.dumps({"error": "no timeline"}), content_type="application/json")
    hours = int_query(request, "hours", 24, 1, 24 * 31)
    limit = int_query(request, "limit", 100, 1, 500)
    device = request.query.get("device", "").strip()
    if len(device) > 200:
        raise Invalid("device", "must be at most 200 characters")
    language = request.query.get("lang", "en")
    if language not in LANGUAGES:
        raise Invalid("lang", f"must be one of {', '.join(LANGUAGES)}")
    now = time.time()
    entries = await _explained(found, now - hours * 3600.0, now, device, language, limit)
    return _json({"since": now - hours * 3600.0, "entries": entries})


async def _explained(
    found: Timeline, since: float, until: float, device: str, language: str, limit: int
) -> list[dict[str, Any]]:
    rows: list[Explained] = await found.explained(
        since, until, targets=[device] if device else (), language=language, limit=limit
    )
    return [
        {
            "id": x.entry.id,
            "ts": x.entry.ts,
            "kind": x.entry.kind,
            "what": x.entry.what,
            "target": x.entry.target,
            "outcome": x.entry.outcome,
            "cause": x.cause,
            "cause_kind": x.cause_kind,
            "actor": x.entry.actor,
            "via": x.entry.via,
            "said": x.entry.said,
            "line": found.line(x, language),
        }
        for x in rows
    ]
