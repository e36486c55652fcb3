"""The tool registry: a tool is a name, a JSON schema and an async handler; failures come back as data."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from claw.assistant.repair import repair_arguments
from claw.core.errors import ClawError, NeedsConfirmation
from claw.core.request import Request

log = logging.getLogger(__name__)


# The request of the turn running now: tools read it here and pass it explicitly into the domain.
CURRENT_REQUEST: contextvars.ContextVar[Request | None] = contextvars.ContextVar("claw_request", default=None)


def current_request() -> Request:
    """The request of the running turn; outside one (a test, a script), the first owner's on the terminal."""
    return CURRENT_REQUEST.get() or Request()


Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]  # JSON schema of an object
    handler: Handler
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

    def __init__(self, result_chars: int = 4000) -> None:
        self._tools: dict[str, Tool] = {}
        self.result_chars = result_chars

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

    async def call(self, name: str, arguments: Mapping[str, Any] | str) -> str:
        """Run a tool; the result (or the error, as data for the model) is text, capped in length."""
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
        try:
            result = await tool.handler(**args)
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


def _error(message: str, hint: str = "") -> str:
    body: dict[str, str] = {"error": message}
    if hint:
        body["hint"] = hint
    return json.dumps(body, ensure_ascii=False)
