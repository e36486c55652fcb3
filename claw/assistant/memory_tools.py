"""The memory tools the model can call: remember, recall, forget."""

from __future__ import annotations

import time
from typing import Any

from claw.assistant.toolbox import Tool, Tools, current_request
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store import messages as log_db
from claw.core.untrusted import clean_untrusted


def add_memory_tools(tools: Tools, store: Store) -> None:
    """Register remember/recall/forget; facts are scoped to the owner unless about the household."""

    async def remember(fact: str, about_household: bool = False) -> dict[str, Any]:
        turn = current_request()
        scope = facts_db.HOUSEHOLD if about_household else turn.conversation
        saved = await store.run(
            facts_db.remember, clean_untrusted(fact), scope=scope, author=turn.actor, source=turn.channel
        )
        return {"remembered": saved.text, "shared_with_household": about_household}

    async def recall(query: str) -> dict[str, Any]:
        turn = current_request()
        scopes = [facts_db.HOUSEHOLD, turn.conversation]
        found = await store.run(facts_db.search, query, scopes)
        said = await store.run(log_db.search, query, conversation=turn.conversation, limit=6)
        return {
            "facts": [{"fact": f.text, "by": f.author, "when": _day(f.ts)} for f in found],
            "messages": [{"who": m.sender or m.role, "said": m.content[:300], "when": _day(m.ts)} for m in said],
        }

    async def forget(what: str) -> dict[str, Any]:
        turn = current_request()
        gone = await store.run(facts_db.forget, what, [facts_db.HOUSEHOLD, turn.conversation])
        return {"forgotten": [f.text for f in gone]} if gone else {"forgotten": [], "note": "nothing matched"}

    tools.add(
        Tool(
            "remember",
            "Save a durable fact the owner told you (names, preferences, standing instructions).",
            {
                "type": "object",
                "properties": {
                    "fact": {"type": "string", "description": "one short sentence"},
                    "about_household": {
                        "type": "boolean",
                        "description": "true if everyone at home should share it",
                    },
                },
                "required": ["fact"],
                "additionalProperties": False,
            },
            remember,
            effect="acts",
            manages_when=lambda args: bool(args.get("about_household")),
        )
    )
    tools.add(
        Tool(
            "recall",
            "Search remembered facts and past conversation for a word or topic.",
            {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
                "additionalProperties": False,
            },
            recall,
            untrusted=True,
        )
    )
    tools.add(
        Tool(
            "forget",
            "Forget a remembered fact when the owner asks you to.",
            {
                "type": "object",
                "properties": {"what": {"type": "string"}},
                "required": ["what"],
                "additionalProperties": False,
            },
            forget,
            effect="manages",
        )
    )


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
