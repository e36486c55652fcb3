"""The scripting vocabulary of the fake Ollama: requests as the model sees them, replies, rules."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

JSON = dict[str, Any]
Matcher = str | Callable[["ChatRequest"], bool] | None
Responder = Callable[["ChatRequest"], "Reply | Awaitable[Reply]"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the scripted model answers; `error` answers `{"error": ...}` with `status` (500 if < 400)."""

    content: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    thinking: str | None = None
    status: int = 200
    error: str | None = None
    delay: float = 0.0  # seconds before the first byte
    disconnect: bool = False  # close the connection; when streaming, after the content chunks
    done_reason: str = "stop"  # OpenAI fake: "" ends the stream with no finish_reason at all
    chunk_delay: float = 0.0  # seconds between streamed chunks

    @classmethod
    def text(cls, content: str, **kwargs: Any) -> Reply:
        """A plain text answer."""
        return cls(content=content, **kwargs)

    @classmethod
    def call(cls, tool_name: str, /, **arguments: Any) -> Reply:
        """One tool call, as a model with native tool support emits it."""
        return cls(tool_calls=[(tool_name, arguments)])

    @classmethod
    def fail(cls, status: int = 500, message: str = "internal server error") -> Reply:
        """An HTTP error answer with Ollama's `{"error": message}` body."""
        return cls(status=status, error=message)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A read-only view of one /api/chat (or /api/generate, as one user message) request."""

    model: str
    messages: list[JSON]
    tools: list[JSON]
    options: JSON
    format: str | JSON | None
    think: bool | str | None
    keep_alive: float | str | None
    stream: bool
    path: str = "/api/chat"
    body: JSON = field(default_factory=dict)

    @classmethod
    def from_chat(cls, body: JSON, path: str = "/api/chat") -> ChatRequest:
        """Build the view from a chat body; Ollama streams unless `stream` is false."""
        return cls(
            model=str(body.get("model") or ""),
            messages=[m for m in body.get("messages") or [] if isinstance(m, dict)],
            tools=list(body.get("tools") or []),
            options=dict(body.get("options") or {}),
            format=body.get("format") or None,
            think=body.get("think"),
            keep_alive=body.get("keep_alive"),
            stream=body.get("stream", True) is not False,
            path=path,
            body=body,
        )

    @classmethod
    def from_generate(cls, body: JSON) -> ChatRequest:
        """Build the view from a generate body: optional system message, then the prompt as user."""
        messages: list[JSON] = []
        if body.get("system"):
            messages.append({"role": "system", "content": body["system"]})
        user: JSON = {"role": "user", "content": body.get("prompt") or ""}
        if body.get("images"):
            user["images"] = list(body["images"])
        messages.append(user)
        return replace(cls.from_chat({**body, "messages": messages, "tools": []}, "/api/generate"), body=body)

    @property
    def last_message(self) -> JSON:
        """The last message, or {} when there is none."""
        return self.messages[-1] if self.messages else {}

    @property
    def last_user_text(self) -> str:
        """The content of the last user message, or ""."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content") or "")
        return ""

    @property
    def tool_results(self) -> list[str]:
        """Contents of the tool messages after the last user message, in order."""
        results: list[str] = []
        for message in reversed(self.messages):
            if message.get("role") == "user":
                break
            if message.get("role") == "tool":
                results.append(str(message.get("content") or ""))
        return results[::-1]

    @property
    def system_text(self) -> str:
        """All system messages joined by blank lines."""
        return "\n\n".join(str(m.get("content") or "") for m in self.messages if m.get("role") == "system")

    @property
    def images(self) -> list[str]:
        """Every base64 image in the messages, in order."""
        return [str(image) for m in self.messages for image in m.get("images") or []]

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools offered to the model."""
        return [str((t.get("function") or {}).get("name")) for t in self.tools if isinstance(t, dict)]


@dataclass(slots=True)
class Rule:
    """A scripted answer: the first rule whose `match` fits the request answers it, `times` times at most."""

    match: Matcher
    reply: Reply | Responder
    times: int | None = None
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.match, str):
            self._pattern = re.compile(self.match, re.IGNORECASE)

    @property
    def exhausted(self) -> bool:
        """True once the rule has been used `times` times."""
        return self.times is not None and self.hits >= self.times

    def matches(self, request: ChatRequest) -> bool:
        """True when the rule is not exhausted and its regex or predicate accepts the request."""
        if self.exhausted:
            return False
        if self._pattern is not None:
            return self._pattern.search(request.last_user_text) is not None
        if callable(self.match):
            return bool(self.match(request))
        return True  # match=None: any request


def default_reply(req: ChatRequest) -> Reply:
    """The default script: "ok: <last user text>", or a minimal JSON answer when a format is asked for."""
    text = f"ok: {req.last_user_text}"
    if req.format == "json":
        return Reply.text(json.dumps({"response": text}))
    if isinstance(req.format, dict):
        return Reply.text(json.dumps(sample_for_schema(req.format, text)))
    return Reply.text(text)


def sample_for_schema(schema: Any, text: str = "") -> Any:
    """A small value that satisfies a simple JSON schema (objects, enums, scalars, arrays)."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return sample_for_schema(schema[key][0], text)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {k: sample_for_schema(v, text) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [sample_for_schema(schema.get("items"), text)] * int(schema.get("minItems", 0) or 0)
    scalars: dict[str, Any] = {"string": text, "integer": 0, "number": 0.0, "boolean": False, "null": None}
    value = scalars.get(str(kind), text)
    if kind in ("integer", "number") and "minimum" in schema:
        value = schema["minimum"]
    return value


_GREETING = re.compile(r"\b(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening))\b", re.IGNORECASE)


def demo_reply(req: ChatRequest) -> Reply:
    """The "demo" script: a friendly answer to greetings and thanks, an echo otherwise."""
    text = req.last_user_text
    if req.images and req.format:  # a camera event: a stand-in vision model that always sees a visitor
        return Reply.text(
            '{"title": "Someone at the driveway", "sentence": "A visitor came up the driveway (scripted demo '
            'model: it does not really look).", "alert": true, "what": "person"}'
        )
    if req.tool_results:
        return Reply.text("Done. " + " ".join(req.tool_results)[:300])
    if _GREETING.search(text):
        return Reply.text("Hello! I'm Claw, looking after the house. What can I do for you?")
    if re.search(r"\b(thanks|thank you|cheers)\b", text, re.IGNORECASE):
        return Reply.text("You're welcome!")
    return default_reply(req)
