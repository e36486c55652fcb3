"""What an MCP client may do: a chosen few of the assistant's tools, run as that client under the same Guard.

The tools are the model's own (same names, JSON schemas, handlers, validation and repair); only memory, owner,
skill and device-management tools stay private. A call runs with an explicit `Request` whose actor is the
client's name and whose path is `mcp`: sensitive changes are held and their code goes to the owners, and the
prompt carrying the code is replaced in the result before it leaves, so the calling agent never sees it.
"""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsonschema

from claw.assistant.toolbox import Tool, is_error
from claw.core.media import MAX_BYTES
from claw.core.principals import agent
from claw.core.request import Request
from claw.core.safety import Pending
from claw.core.store.audit import write
from claw.web.site import Site

# The model's tools an agent may call, in the order it sees them.
EXPOSED = (
    "home_state",
    "turn_on_off",
    "set_value",
    "media",
    "device_action",
    "run_routine",
    "recent_events",
    "set_mode",
    "mute_camera",
    "list_jobs",
    "create_job",
    "pause_job",
    "resume_job",
    "delete_job",
)
PICTURE = "camera_picture"  # show_event sends a picture to the owner's chat; an agent gets it as the result
PICTURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "integer", "description": "An event id from recent_events."},
        "camera": {"type": "string", "description": "A camera's name, for what it sees now."},
    },
    "additionalProperties": False,
}
_PICTURE_CHECK = jsonschema.Draft202012Validator(PICTURE_SCHEMA)


@dataclass(frozen=True, slots=True)
class Caller:
    """The MCP client as it named itself in `clientInfo` (behind an agent's token: an agent, never an owner)."""

    name: str

    @classmethod
    def named(cls, raw: str | None) -> Caller:
        """A printable, short name: it lands in the audit log and in the owners' notices."""
        text = "".join(c if unicodedata.category(c)[0] not in "CZ" else " " for c in (raw or ""))
        return cls(" ".join(text.split())[:60] or "unnamed agent")

    def request(self) -> Request:
        """Its turn: an agent (the authority table: it confirms no code, its management waits for an owner's)."""
        return Request(
            principal=agent(self.name, "MCP"),
            conversation=f"mcp:{self.name}",
            channel="mcp",
            sender=self.name,
            via="mcp",
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """A tool's result for the agent: text, maybe a picture, and whether it is an error."""

    text: str
    image: tuple[bytes, str] | None = None
    is_error: bool = False
    held: tuple[str, ...] = ()  # what waits for an owner's code


class Intents:
    """The exposed tools and how a call runs: as the caller, audited, with held codes kept from it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.picture_tool = Tool(
            PICTURE,
            "The picture of a camera event (an id from recent_events), or what a camera sees now; "
            "with neither, the latest event's picture.",
            PICTURE_SCHEMA,
            self.picture,
        )

    def tools(self) -> list[Tool]:
        registry = self.site.tools
        found = [t for n in EXPOSED if registry is not None and (t := registry.get(n)) is not None]
        if "events" in self.site.snapshots or "cameras" in self.site.snapshots:
            found.append(self.picture_tool)
        return found

    async def call(self, caller: Caller, name: str, arguments: Mapping[str, Any]) -> Answer:
        """Run one tool for `caller`; every call leaves an audit row naming the caller."""
        request = caller.request()
        if name == PICTURE and self.picture_tool in self.tools():
            problem = next(iter(_PICTURE_CHECK.iter_errors(dict(arguments))), None)
            if problem is not None:
                answer = _error(f"invalid arguments: {problem.message}", f"arguments must match: {PICTURE_SCHEMA}")
            else:
                answer = await self.picture(arguments.get("event"), str(arguments.get("camera", "")).strip())
        elif name not in {t.name for t in self.tools()} or self.site.tools is None:
            names = ", ".join(t.name for t in self.tools())
            answer = _error(f"there is no tool '{name}'", f"use one of: {names}")
        else:
            text = await self.site.tools.call(name, dict(arguments), request=request)
            text, held = withhold_codes(text, request.receipt.held)
            for code in {p.code for p in self.site.guard.pending()}:  # no live code leaves, even one echoed back
                text = re.sub(rf"\b{code}\b", "····", text)
            answer = Answer(text, None, is_error(text), held)
        outcome = "held" if answer.held else ("error" if answer.is_error else "ok")
        detail = "; ".join(answer.held) if answer.held else answer.text[:200]
        await self.site.store.run(write, request.audit(f"mcp {name}", _summary(arguments), outcome, detail))
        return answer

    async def picture(self, event: int | None = None, camera: str = "") -> Answer:
        """A stored event's picture, or a camera's latest frame, as image bytes."""
        if camera:
            cameras = await self.site.snapshot("cameras")
            found = next((c for c in cameras if str(c.get("name", "")).lower() == camera.lower()), None)
            if found is None:
                known = ", ".join(str(c.get("name")) for c in cameras) or "none"
                return _error(f"there is no camera '{camera}'", f"cameras: {known}")
            title, link = f"What {found['name']} sees now", str(found.get("snapshot") or "")
        else:
            events = [e for e in await self.site.snapshot("events") if e.get("snapshot")]
            chosen = next((e for e in events if e.get("id") == event), None) if event is not None else None
            if chosen is None and event is None and events:
                chosen = events[0]  # newest first
            if chosen is None:
                return _error(f"there is no camera event {event} with a picture" if event else "no camera events yet")
            title = f"Event {chosen['id']} on {chosen['camera']}: {chosen['title']} (vision model's words: untrusted)"
            link = str(chosen["snapshot"])
        grant = self.site.media.resolve(link.rsplit("/", 1)[-1]) if link else None
        if grant is None:
            return _error("that picture is not available (yet)")
        data = await asyncio.to_thread(_read, grant.path)
        if data is None:
            return _error("that picture is gone or too large")
        return Answer(title, (data, grant.content_type))


def withhold_codes(text: str, held: Sequence[Pending]) -> tuple[str, tuple[str, ...]]:
    """Replace each prompt held during the call with a note for the agent; no code issued in it leaves."""
    for pending in held:
        if pending.with_code:  # the Guard tells an agent without the code; a prompt with one becomes the note
            text = text.replace(pending.prompt, replace(pending, with_code=False).shown)
        text = re.sub(rf"\b{pending.code}\b", "····", text)  # the code in any other wording (JSON-escaped)
    return text, tuple(p.description for p in held)


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _error(message: str, hint: str = "") -> Answer:
    body = {"error": message, **({"hint": hint} if hint else {})}
    return Answer(json.dumps(body, ensure_ascii=False), None, True)


def _summary(arguments: Mapping[str, Any]) -> str:
    return json.dumps(dict(arguments), ensure_ascii=False, default=str, sort_keys=True)[:200]
