"""Memory that compacts: prompts built within a token budget, older turns folded into a summary."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant import tokens
from claw.assistant.llm import Model
from claw.assistant.recollection import Recollection
from claw.assistant.soul import Soul
from claw.core.config import MemoryConfig
from claw.core.errors import ModelUnavailable
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store import messages as log_db
from claw.core.store.messages import Message
from claw.core.store.terms import words
from claw.core.untrusted import clean_untrusted, forwarded

log = logging.getLogger(__name__)

FLUSH_PROMPT = (
    "MEMORY FLUSH. Read the conversation below and list durable facts worth remembering for months: "
    "names, relationships, preferences, habits, nicknames for rooms and devices, standing instructions. "
    "Only facts the people stated, not guesses, not device states, not small talk. Each fact one short "
    'sentence. Answer with JSON: {"facts": ["..."]}.'
)
SUMMARY_PROMPT = (
    "SUMMARY UPDATE. Update the running summary of this conversation with the new turns below. Keep what "
    "still matters (requests, decisions, open questions); drop chit-chat. At most {words} words, plain text."
)
FLUSH_FORMAT = {
    "type": "object",
    "properties": {"facts": {"type": "array", "items": {"type": "string"}}},
    "required": ["facts"],
}


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: list[dict[str, Any]]
    tokens: int
    dropped: int  # live turns that did not fit and wait for compaction


def quarter_hour(now: float | None = None) -> str:
    """The time to the quarter hour: a clock to the minute would change the prompt's prefix every minute, and
    a server's prompt cache (which keeps the tool list a chat template puts after the system prompt) with it."""
    at = time.localtime(now)
    start = time.mktime((*at[:4], at.tm_min - at.tm_min % 15, 0, *at[6:]))
    return f"{time.strftime('%A %Y-%m-%d', at)}, between {time.strftime('%H:%M', time.localtime(start))} and " + (
        f"{time.strftime('%H:%M %Z', time.localtime(start + 900))}"
    )


def groups(messages: Sequence[Message]) -> list[list[Message]]:
    """Split history at user turns: a tool call and its result always stay together."""
    out: list[list[Message]] = []
    for m in messages:
        if m.role == "user" or not out:
            out.append([m])
        else:
            out[-1].append(m)
    return out


# The chat commands (assistant/router.py): talk about the conversation, not in it.
COMMANDS = frozenset({"/new", "/compact", "/status", "/help"})
FRESH_START = "Fresh start. I still remember the facts you told me; /status shows them."  # the reply to /new


def conversational(all_groups: list[list[Message]]) -> list[list[Message]]:
    """The turns a model should see: not a command and its canned reply, nor the reply to "/new" that opens a
    session (a small model copies "Fresh start. … /status shows them" as its own answer)."""
    return [
        g
        for i, g in enumerate(all_groups)
        if not (g[0].role == "user" and g[0].content.split(" ", 1)[0].lower() in COMMANDS)
        and not (i == 0 and g[0].role == "assistant" and g[0].content == FRESH_START)
    ]


class Memory:
    """Builds each prompt and compacts each conversation; memory work never blocks a reply."""

    def __init__(
        self, store: Store, model: Model, config: MemoryConfig, soul: Soul, recollection: Recollection | None = None
    ) -> None:
        self.store, self.model, self.config, self.soul = store, model, config, soul
        self.recollection = recollection if recollection is not None else Recollection(store, None)
        self._compacting: dict[str, asyncio.Task[None]] = {}

    @staticmethod
    def scopes(conversation: str) -> list[str]:
        return [facts_db.HOUSEHOLD, conversation]

    async def build(
        self,
        conversation: str,
        *,
        overview: str = "",
        tool_schemas: Sequence[dict[str, Any]] = (),
        extra_system: str = "",
        answering: int = 0,
    ) -> Prompt:
        """System prompt (soul, preferences, summary, home, the facts this turn retrieved) plus as many recent turns
        as the budget allows; `answering`: the inbound message this turn answers (see `messages.live`)."""
        live = await self.store.run(log_db.live, conversation, answering)
        scopes = self.scopes(conversation)
        preferences = await self.store.run(facts_db.facts, scopes, 50, kind="preference")
        query = next((m.content for m in reversed(live) if m.role == "user" and m.content.strip()), "")
        relevant: list[facts_db.Fact] = []
        if query:
            found = await self.recollection.search(query[-500:], scopes, self.config.recall_facts)
            relevant = [f.fact for f in found if f.fact.kind != "preference"]
        summary, _ = await self.store.run(facts_db.summary, conversation)
        system = self._system(preferences, relevant, summary, overview, extra_system)
        used = tokens.count(system) + tokens.MESSAGE_OVERHEAD + tokens.tools_tokens(tool_schemas)
        room = self.config.budget_tokens - used
        chosen: list[list[dict[str, Any]]] = []
        all_groups = conversational(groups(live))
        for group in reversed(all_groups):
            chat = [m.as_chat() for m in group]
            size = tokens.messages_tokens(chat)
            if size > room and chosen:
                break
            if size > room:  # the newest turn alone is too big: cut its text, never the budget
                chat = [_shrink(c, max(room, 200)) for c in chat[:1]]
                size = tokens.messages_tokens(chat)
            chosen.append(chat)
            room -= size
        history = [m for group in reversed(chosen) for m in group]
        messages = [{"role": "system", "content": system}, *history]
        total = self.config.budget_tokens - room
        return Prompt(messages, total, dropped=len(all_groups) - len(chosen))

    def _system(
        self,
        preferences: Sequence[facts_db.Fact],
        relevant: Sequence[facts_db.Fact],
        summary: str,
        overview: str,
        extra: str,
    ) -> str:
        """Stable parts first (soul, standing preferences, summary, home), so a server's prompt cache holds
        them across turns; then what this turn retrieved, and the time."""
        parts = [self.soul.text]
        fact_budget = int(self.config.budget_tokens * self.config.facts_share)
        standing = _fact_lines(preferences, fact_budget)
        if standing:
            parts.append("## The owners' standing preferences\n" + "\n".join(standing))
        if summary:
            parts.append("## Earlier in this conversation\n" + summary)
        if overview:
            parts.append(overview)
        if extra:  # the turn's guidance (and decision schema notes) is the same every turn: before what changes
            parts.append(extra)
        used = tokens.count("\n".join(standing))
        lines = _fact_lines(relevant, max(fact_budget - used, 0))
        if lines:
            parts.append("## What you remember that may matter now (the recall tool finds more)\n" + "\n".join(lines))
        parts.append(f"Now: {quarter_hour()}.")
        return "\n\n".join(parts)

    def needs_compaction(self, prompt: Prompt) -> bool:
        return prompt.dropped > 0 or prompt.tokens > self.config.budget_tokens * 0.9

    def compact_soon(self, conversation: str) -> None:
        """Start compaction in the background unless one is already running for this conversation."""
        task = self._compacting.get(conversation)
        if task is None or task.done():
            self._compacting[conversation] = asyncio.create_task(
                self.compact(conversation), name=f"compact {conversation}"
            )

    async def idle(self) -> None:
        """Wait for background compactions (tests, shutdown)."""
        tasks = [t for t in self._compacting.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in self._compacting.values():
            task.cancel()
        await self.idle()

    async def compact(self, conversation: str, *, keep_share: float | None = None) -> None:
        """Fold older turns into the summary after flushing durable facts; on failure archive raw."""
        # -1 answers no message: every message still waiting for its turn stays out of the summary
        live = await self.store.run(log_db.live, conversation, -1)
        all_groups = groups(live)
        share = self.config.keep_recent_share if keep_share is None else keep_share
        keep_budget = int(self.config.budget_tokens * share * 0.6)  # 0.6: the system prompt needs the rest
        kept, size = 0, 0
        for group in reversed(all_groups):
            size += tokens.messages_tokens([m.as_chat() for m in group])
            if size > keep_budget and kept >= 1:
                break
            kept += 1
        old = [m for group in all_groups[: len(all_groups) - kept] for m in group]
        if not old:
            return
        upto = old[-1].seq
        transcript = _transcript(old, limit_tokens=self.config.budget_tokens // 2)
        try:
            await self._flush(conversation, transcript, old)
            summary = await self._summarise(conversation, transcript)
        except ModelUnavailable as exc:
            log.warning("compaction of %s: %s; archiving %d turns unsummarised", conversation, exc, len(old))
            previous, _ = await self.store.run(facts_db.summary, conversation)
            note = "(Some older turns were archived without a summary; use the recall tool to search them.)"
            summary = previous if note in previous else f"{previous}\n{note}".strip()
        await self.store.run(_commit, conversation, summary, upto)
        await self.recollection.embed_messages(old)  # the compacted turns stay findable by meaning
        log.info("compacted %s: %d messages up to #%d", conversation, len(old), upto)

    async def _flush(self, conversation: str, transcript: str, old: Sequence[Message]) -> None:
        """Durable facts from the owners' own words only: text they forwarded, tool results and camera words
        are never read for facts here (the model may still suggest one; storing it then needs their yes)."""
        own = [m for m in old if m.role == "user" and m.content.strip() and not forwarded(m.content)]
        if not own:
            return
        answer = await self.model.chat(
            [
                {"role": "system", "content": FLUSH_PROMPT},
                {"role": "user", "content": _transcript(own, limit_tokens=self.config.budget_tokens // 2)},
            ],
            format=FLUSH_FORMAT,
            purpose="summary",
        )
        try:
            found = json.loads(answer.content).get("facts", [])
        except (ValueError, AttributeError):
            found = []
        for text in found:
            if isinstance(text, str) and 3 < len(text) < 300:
                said = _source_of(text, own)  # the message it most likely came from, and who wrote it
                await self.recollection.remember(
                    clean_untrusted(text),
                    scope=conversation,
                    author=said.sender or "owner",
                    source="memory flush",
                    message=said.id,
                )

    async def _summarise(self, conversation: str, transcript: str) -> str:
        previous, _ = await self.store.run(facts_db.summary, conversation)
        words = int(self.config.summary_tokens * 0.7)
        answer = await self.model.chat(
            [
                {"role": "system", "content": SUMMARY_PROMPT.format(words=words)},
                {
                    "role": "user",
                    "content": f"Summary so far:\n{previous or '(none)'}\n\nNew turns:\n{transcript}",
                },
            ],
            purpose="summary",
        )
        text = clean_untrusted(answer.content).strip()
        limit = int(self.config.summary_tokens * tokens.CHARS_PER_TOKEN)
        return text[:limit] if text else previous


def _fact_lines(facts: Sequence[facts_db.Fact], budget: int) -> list[str]:
    """One line per fact with who said it and when, as many as fit in `budget` tokens."""
    lines: list[str] = []
    for f in facts:
        line = f"- {f.text} ({f.author}, {time.strftime('%Y-%m-%d', time.localtime(f.valid_from or f.ts))})"
        if tokens.count("\n".join([*lines, line])) > budget:
            break
        lines.append(line)
    return lines


def _source_of(fact: str, messages: Sequence[Message]) -> Message:
    """The message sharing the most words with a fact (the newest on a tie): its provenance."""
    wanted = set(words(fact))
    return max(reversed(messages), key=lambda m: len(wanted & set(words(m.content))))


def _commit(db: Any, conversation: str, summary: str, upto: int) -> None:
    with db.conn:
        facts_db.set_summary(db, conversation, summary, upto)
        log_db.mark_compacted(db, conversation, upto)


def _shrink(message: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    limit = int(max_tokens * tokens.CHARS_PER_TOKEN) - 40
    content = str(message.get("content", ""))
    return {**message, "content": content[:limit] + " [...]"} if len(content) > limit else message


def _transcript(messages: Sequence[Message], limit_tokens: int) -> str:
    lines = [f"{m.sender or m.role}: {m.content}" for m in messages if m.role in ("user", "assistant") and m.content]
    text = "\n".join(lines)
    limit = int(limit_tokens * tokens.CHARS_PER_TOKEN)
    return text[-limit:]  # the newest part matters most when a backlog is huge
