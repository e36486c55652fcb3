"""The scripted Ollama stand-in: the ONLY module here that imports Claw's test internals (they may move).

It answers every chat with plain text and no tool calls, and records what it was asked, so the
harness can tell whether a message went to the model ("deferred").
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARK = "[model]"  # every answer of the stand-in starts with this, so a reply shows it came from the model


def _scripted_ollama() -> Any:
    """The fake server class, wherever the restructuring put it."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    errors: list[str] = []
    for module in ("tests.fakes.ollama_server", "tests.fakes.ollama", "claw_sim.ollama_server"):
        try:
            mod = __import__(module, fromlist=["ScriptedOllama", "Reply", "default_reply"])
            return mod.ScriptedOllama, mod.Reply, mod.default_reply
        except ImportError as exc:
            errors.append(f"{module}: {exc}")
    raise ImportError("no scripted Ollama stand-in found (" + "; ".join(errors) + ")")


def _decision(schema: Any) -> bool:
    """Whether a response format is Claw's decision schema (one shape per action, a reply among them)."""
    shapes = schema.get("anyOf") or [schema] if isinstance(schema, dict) else []
    return any(isinstance(s, dict) and "action" in (s.get("properties") or {}) for s in shapes)


@dataclass(frozen=True, slots=True)
class Call:
    at: float
    user_text: str
    tools: int
    formatted: bool


class FakeModel:
    """Start with `start()`; `calls_since(i)` lists the chat calls after index i."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: Any = None
        self.url = ""

    def start(self) -> str:
        server_cls, reply_cls, default_reply = _scripted_ollama()
        server = server_cls(models=("qwen3:8b", "qwen2.5vl:3b"))

        def answer(req: Any) -> Any:
            formatted = bool(req.format)
            with self._lock:
                self.calls.append(Call(time.monotonic(), req.last_user_text, len(req.tools), formatted))
            if formatted and _decision(req.format):  # [llm] decisions = structured/auto: a reply, never an action
                return reply_cls.text(json.dumps({"action": "reply", "text": f"{MARK} I'd work that out."}))
            if formatted or req.images:  # memory flush, summaries, camera descriptions: a schema-shaped answer
                return default_reply(req)
            return reply_cls.text(f"{MARK} I'd work that out with my tools.")

        server.default = answer
        self.url = server.start_in_thread(self.host, 0)
        self._server = server
        return self.url

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def calls_since(self, index: int) -> list[Call]:
        with self._lock:
            return list(self.calls[index:])

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop_thread()
            self._server = None
