"""The bounded tool loop: prompt, model, tools, repeat at most N rounds, then answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.llm import Answer, Model, ToolCall
from claw.assistant.memory import Memory
from claw.assistant.repair import tool_calls_in_text
from claw.assistant.toolbox import CURRENT_REQUEST, UNTRUSTED_NOTE, Tools
from claw.core.config import LLMConfig
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store.messages import Message
from claw.core.untrusted import clean_untrusted, forwarded

log = logging.getLogger(__name__)

GUIDANCE = (
    "Act through your tools; never claim you did something a tool did not confirm. If a tool reports an "
    "error, say so plainly and suggest what could work. Keep replies short enough for a phone."
)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    rounds: int
    tool_calls: tuple[str, ...] = ()
    prompt_tokens: int = 0
    record: tuple[Message, ...] = ()  # what the turn adds to the history (stored by the caller with the reply)


class Brain:
    """Runs turns for conversations; the router keeps each conversation serial."""

    def __init__(
        self,
        *,
        model: Model,
        tools: Tools,
        memory: Memory,
        store: Store,
        config: LLMConfig,
        overview: Callable[[], str] = lambda: "",
    ) -> None:
        self.model, self.tools, self.memory, self.store, self.config = model, tools, memory, store, config
        self.overview = overview

    async def turn(self, turn: Request, images: Sequence[bytes] = (), *, keep: bool = True) -> Reply:
        """Answer the newest user message of `turn.conversation` (already persisted by its channel).

        `keep=False` leaves storing the turn to the caller (the router stores it with the reply, atomically).
        """
        schemas = self.tools.schemas()
        prompt = await self.memory.build(
            turn.conversation, overview=self.overview(), tool_schemas=schemas, extra_system=GUIDANCE
        )
        if any(forwarded(m.get("content") or "") for m in prompt.messages if m.get("role") == "user"):
            turn.receipt.tainted = True  # forwarded text is in the prompt: it may inform, not act
        new: list[Message] = []
        answer, called = await self._loop(prompt.messages, schemas, turn, images=images, record=new)
        text = clean_untrusted(answer.content).strip() or "Done."
        new.append(Message("assistant", text))
        record = tuple(_stamped(self._kept(m), turn) for m in new)
        if keep:
            await self.store.run(log_db.append, turn.conversation, list(record))
        if self.memory.needs_compaction(prompt):
            self.memory.compact_soon(turn.conversation)
        rounds = min(len(called), self.config.max_rounds) + 1
        return Reply(text, rounds, tuple(called), prompt.tokens, record)

    async def fresh(
        self,
        instruction: str,
        *,
        request: Request,
        system: str = "",
        format: Mapping[str, Any] | None = None,
        use_tools: bool = True,
    ) -> Answer:
        """A history-less run for jobs and the heartbeat: soul + instruction, optional tools, no memory."""
        messages: list[dict[str, Any]] = [
            {
                "role": "system",
                "content": "\n\n".join(p for p in (self.memory.soul.text, self.overview(), system) if p),
            },
            {"role": "user", "content": instruction},
        ]
        answer, _ = await self._loop(messages, self.tools.schemas() if use_tools else [], request)
        if format is not None:
            messages.append({"role": "assistant", "content": answer.content})
            messages.append({"role": "user", "content": "Now answer only with the JSON decision."})
            answer = await self.model.chat(messages, format=format)
        return answer

    async def _loop(
        self,
        messages: list[dict[str, Any]],
        schemas: list[dict[str, Any]],
        request: Request,
        *,
        images: Sequence[bytes] = (),
        record: list[Message] | None = None,
    ) -> tuple[Answer, list[str]]:
        """The one tool loop: model, tools, repeat at most `max_rounds`; out of rounds, one last call without tools."""
        token = CURRENT_REQUEST.set(request)
        called: list[str] = []
        try:
            for round_no in range(1, self.config.max_rounds + 1):
                answer = await self.model.chat(messages, tools=schemas, images=images if round_no == 1 else ())
                calls = answer.tool_calls or tuple(tool_calls_in_text(answer.content, self.tools.names()))
                if not calls or not schemas:
                    return answer, called
                raw = [{"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in calls]
                assistant = Message("assistant", "" if not answer.tool_calls else answer.content, tool_calls=tuple(raw))
                messages.append(assistant.as_chat())
                if record is not None:
                    record.append(assistant)
                for call in calls:
                    result = await self._run_tool(call)
                    called.append(call.name)
                    tool_msg = Message("tool", result, tool_name=call.name)
                    messages.append(tool_msg.as_chat())
                    if record is not None:
                        record.append(tool_msg)
            # Out of rounds: one last call without tools so the owner hears where things stand.
            messages.append({"role": "system", "content": "Stop calling tools now and tell the owner the outcome."})
            return await self.model.chat(messages), called
        finally:
            CURRENT_REQUEST.reset(token)

    async def _run_tool(self, call: ToolCall) -> str:
        log.info("tool %s %s", call.name, json.dumps(dict(call.arguments), default=str)[:200])
        return await self.tools.call(call.name, call.arguments, by_model=True)

    def _kept(self, m: Message) -> Message:
        """What later turns see of this one: a result carrying text the owner did not write is not kept
        (it would be in every later prompt, able to steer turns that never read it)."""
        if m.role == "tool" and self.tools.untrusted(m.tool_name):
            return Message("tool", UNTRUSTED_NOTE, tool_name=m.tool_name)
        return m


def _stamped(m: Message, turn: Request) -> Message:
    sender = "claw" if m.role == "assistant" else m.sender
    return Message(
        m.role, m.content, tool_calls=m.tool_calls, tool_name=m.tool_name, channel=turn.channel, sender=sender
    )
