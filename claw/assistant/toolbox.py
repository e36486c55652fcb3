"""The tool registry: a tool is a name, a JSON schema and an async handler; failures come back as data."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import jsonschema

from claw.assistant.repair import repair_arguments
from claw.core.authority import Power, decide, refusal
from claw.core.errors import ClawError, NeedsConfirmation
from claw.core.principals import model_for
from claw.core.request import Request
from claw.core.safety import Guard

log = logging.getLogger(__name__)


# The request of the turn running now: tools read it here and pass it explicitly into the domain.
CURRENT_REQUEST: contextvars.ContextVar[Request | None] = contextvars.ContextVar("claw_request", default=None)


def current_request() -> Request:
    """The request of the running turn; outside one, NOBODY's, which the authority table lets do nothing."""
    return CURRENT_REQUEST.get() or Request()


Handler = Callable[..., Awaitable[Any]]
# What a tool does to the house: reads it; acts on it (devices, routines, media); or manages it (what Claw
# watches and remembers, its jobs, names, owners, camera modes) — which the model does only with a code.
Effect = Literal["reads", "acts", "manages"]
UNTRUSTED_NOTE = "[withheld from later turns: text the owner did not write; ask again to see it]"


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]  # JSON schema of an object
    handler: Handler
    effect: Effect = "reads"
    untrusted: bool = False  # its result carries text the owner did not write (camera words, skill bodies)
    guarded: bool = False  # the domain already holds what it changes for a code: no second code
    manages_when: Callable[[Mapping[str, Any]], bool] | None = None  # "acts", but "manages" for these arguments
    # Why these arguments cannot work, or None: checked before any code is asked for (no code for the impossible)
    precheck: Callable[[Mapping[str, Any]], str | None] | None = None
    _validator: Any = field(default=None, compare=False, repr=False)

    def schema(self) -> dict[str, Any]:
        """The tool in the shape Ollama's `tools=` wants."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


class Tools:
    """Holds tools by name, validates and repairs arguments, and turns every failure into data."""

    def __init__(self, result_chars: int = 4000, guard: Guard | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        self.result_chars = result_chars
        self.guard = guard  # holds what the model may not do alone (see `call`)

    def add(self, tool: Tool) -> None:
        jsonschema.Draft202012Validator.check_schema(tool.parameters)
        validator = jsonschema.Draft202012Validator(tool.parameters)
        object.__setattr__(tool, "_validator", validator)
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self._tools.values()]

    def untrusted(self, name: str) -> bool:
        tool = self._tools.get(name)
        return tool is not None and tool.untrusted

    async def call(
        self, name: str, arguments: Mapping[str, Any] | str, *, by_model: bool = False, request: Request | None = None
    ) -> str:
        """Run a tool; the result (or the error, as data for the model) is text, capped in length.

        `by_model`: the model chose this call. Then a management action, or any change once the turn has
        read text the owner did not write, is held for the owner's code instead of run — enforced here,
        whatever the prompt says. `request`: whose call this is, for callers outside a turn (an MCP agent).
        """
        if request is not None:
            token = CURRENT_REQUEST.set(request)
            try:
                return await self.call(name, arguments, by_model=by_model)
            finally:
                CURRENT_REQUEST.reset(token)
        tool = self._tools.get(name)
        if tool is None:
            close = [n for n in self._tools if name.lower() in n or n in name.lower()]
            return _error(f"there is no tool '{name}'", f"use one of: {', '.join(close or self.names())}")
        args = repair_arguments(arguments, tool.parameters)
        problems = sorted(tool._validator.iter_errors(args), key=lambda e: list(e.path))
        if problems:
            first = problems[0]
            where = ".".join(str(p) for p in first.path) or "arguments"
            return _error(f"invalid {where}: {first.message}", f"arguments must match: {json.dumps(tool.parameters)}")
        request = current_request()
        power = _power(tool, args)
        who = model_for(request.principal) if by_model else request.principal
        verdict = "yes" if request.released else decide(who, power)  # the authority table decides, for every caller
        if verdict == "no" or (verdict == "code" and self.guard is None):
            return _error(refusal(who, power))
        # only in an owner's own turn: the reason may name what is there (the owners and their numbers)
        if tool.precheck and request.principal.speaks_for_owner and (problem := tool.precheck(args)) is not None:
            return _error(problem)
        why = "it changes how Claw runs the house" if verdict == "code" else None
        if why is None and by_model:
            why = self._needs_code(tool, request)
        if why is not None and self.guard is not None:
            return await self._hold(tool, args, request, why)
        try:
            result = await tool.handler(**args)
            if tool.untrusted:  # what follows in this turn may inform, not act
                receipt = request.receipt
                receipt.tainted, receipt.tainted_by = True, receipt.tainted_by or f"what {tool.name} returned"
        except NeedsConfirmation as exc:
            return json.dumps({"status": "needs_confirmation", "tell_the_owner": exc.prompt})
        except ClawError as exc:
            return _error(str(exc))
        except Exception as exc:  # a bug in a tool must not end the turn
            log.exception("tool %s failed", name)
            return _error(f"the tool failed unexpectedly ({type(exc).__name__})")
        text = result if isinstance(result, str) else json.dumps(result, default=str, ensure_ascii=False)
        if len(text) > self.result_chars:
            text = text[: self.result_chars] + f"... [cut: {len(text) - self.result_chars} more characters]"
        return text

    def _needs_code(self, tool: Tool, request: Request) -> str | None:
        """Why the model's change waits for a code although the table allows it: the turn read others' text."""
        if tool.effect == "reads" or tool.guarded or request.released:
            return None
        if not request.principal.speaks_for_owner:
            return f"{request.actor} asked for it, not an owner"
        if request.receipt.tainted_by:  # the code's prompt says where the request came from
            return f"a request that arose while reading {request.receipt.tainted_by}"
        if request.receipt.tainted or not request.owner:
            return "this turn read text you did not write"
        return None

    async def _hold(self, tool: Tool, args: Mapping[str, Any], request: Request, why: str) -> str:
        assert self.guard is not None
        released = replace(request, released=True)

        async def run() -> str:
            token = CURRENT_REQUEST.set(released)
            try:
                result = await tool.handler(**args)
            finally:
                CURRENT_REQUEST.reset(token)
            text = result if isinstance(result, str) else json.dumps(result, default=str, ensure_ascii=False)
            return _said(text)

        described = f"let me {_action(tool.name, args)} ({why})"
        pending = await self.guard.hold(described, run, request)
        return json.dumps({"status": "needs_confirmation", "tell_the_owner": pending.shown})


def _power(tool: Tool, args: Mapping[str, Any]) -> Power:
    """What a call would do, in the authority table's words."""
    if tool.effect == "manages" or (tool.manages_when is not None and tool.manages_when(args)):
        return "manage"
    return "act" if tool.effect == "acts" else "read"


def _action(name: str, args: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)[:40]}" for k, v in args.items())
    return f"{name.replace('_', ' ')}({shown})"


def _said(text: str) -> str:
    """A released tool's result as the owner reads it: its message if it has one, else the text."""
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    if isinstance(data, dict):
        for key in ("tell_the_owner", "message", "result", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return text[:500]


def is_error(result: str) -> bool:
    """A tool's result that says the call did nothing: {"error": …}."""
    try:
        body = json.loads(result)
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body


def _error(message: str, hint: str = "") -> str:
    body: dict[str, str] = {"error": message}
    if hint:
        body["hint"] = hint
    return json.dumps(body, ensure_ascii=False)
