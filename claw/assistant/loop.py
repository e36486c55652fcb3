"""The bounded tool loop: prompt, model, tools, repeat at most N rounds, then answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.llm import Answer, Model, ToolCall
from claw.assistant.memory import Memory
from claw.assistant.repair import clean_untrusted, tool_calls_in_text
from claw.assistant.toolbox import CURRENT_TURN, Tools, Turn
from claw.core.config import LLMConfig
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store.messages import Message

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

    async def turn(self, turn: Turn, images: Sequence[bytes] = ()) -> Reply:
        """Answer the newest user message of `turn.conversation` (already persisted by its channel)."""
        token = CURRENT_TURN.set(turn)
        try:
            return await self._turn(turn, images)
        finally:
            CURRENT_TURN.reset(token)

    async def _turn(self, turn: Turn, images: Sequence[bytes]) -> Reply:
        schemas = self.tools.schemas()
        prompt = await self.memory.build(
            turn.conversation, overview=self.overview(), tool_schemas=schemas, extra_system=GUIDANCE
        )
        messages = prompt.messages
        new: list[Message] = []
        called: list[str] = []
        answer: Answer | None = None
        for round_no in range(1, self.config.max_rounds + 1):
            answer = await self.model.chat(messages, tools=schemas, images=images if round_no == 1 else ())
            calls = answer.tool_calls or tuple(tool_calls_in_text(answer.content, self.tools.names()))
            if not calls:
                break
            raw = [{"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in calls]
            content = "" if not answer.tool_calls else answer.content
            assistant = Message("assistant", content, tool_calls=tuple(raw))
            messages.append(assistant.as_chat())
            new.append(assistant)
            for call in calls:
                result = await self._run_tool(call)
                called.append(call.name)
                tool_msg = Message("tool", result, tool_name=call.name)
                messages.append(tool_msg.as_chat())
                new.append(tool_msg)
        else:
            # Out of rounds: one last call without tools so the owner hears where things stand.
            messages.append({"role": "system", "content": "Stop calling tools now and tell the owner the outcome."})
            answer = await self.model.chat(messages)
        text = clean_untrusted(answer.content if answer else "").strip() or "Done."
        new.append(Message("assistant", text))
        await self.store.run(log_db.append, turn.conversation, [_stamped(m, turn) for m in new])
        if self.memory.needs_compaction(prompt):
            self.memory.compact_soon(turn.conversation)
        rounds = min(len(called), self.config.max_rounds) + 1
        return Reply(text, rounds, tuple(called), prompt.tokens)

    async def _run_tool(self, call: ToolCall) -> str:
        log.info("tool %s %s", call.name, json.dumps(dict(call.arguments), default=str)[:200])
        return await self.tools.call(call.name, call.arguments)

    async def fresh(
        self,
        instruction: str,
        *,
        system: str = "",
        format: Mapping[str, Any] | None = None,
        use_tools: bool = True,
        turn: Turn | None = None,
    ) -> Answer:
        """A history-less run for jobs and the heartbeat: soul + instruction, optional tools, no memory."""
        token = CURRENT_TURN.set(turn or Turn(actor="scheduler", conversation="jobs", path="schedule"))
        try:
            messages: list[dict[str, Any]] = [
                {
                    "role": "system",
                    "content": "\n\n".join(p for p in (self.memory.soul.text, self.overview(), system) if p),
                },
                {"role": "user", "content": instruction},
            ]
            schemas = self.tools.schemas() if use_tools else []
            answer = await self.model.chat(messages, tools=schemas)
            for _ in range(self.config.max_rounds):
                calls = answer.tool_calls or tuple(tool_calls_in_text(answer.content, self.tools.names()))
                if not calls or not use_tools:
                    break
                messages.append({"role": "assistant", "content": "", "tool_calls": list(answer.raw_tool_calls)})
                for call in calls:
                    messages.append({"role": "tool", "content": await self._run_tool(call), "tool_name": call.name})
                answer = await self.model.chat(messages, tools=schemas)
            if format is not None:
                messages.append({"role": "assistant", "content": answer.content})
                messages.append({"role": "user", "content": "Now answer only with the JSON decision."})
                answer = await self.model.chat(messages, format=format)
            return answer
        finally:
            CURRENT_TURN.reset(token)


def _stamped(m: Message, turn: Turn) -> Message:
    sender = "claw" if m.role == "assistant" else m.sender
    return Message(
        m.role, m.content, tool_calls=m.tool_calls, tool_name=m.tool_name, channel=turn.channel, sender=sender
    )
