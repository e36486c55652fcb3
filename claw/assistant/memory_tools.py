"""The memory tools the model can call: remember (or correct), recall, forget."""

from __future__ import annotations

import time
from typing import Any

from claw.assistant.recollection import Recollection
from claw.assistant.toolbox import Tool, Tools, current_request
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store.terms import words
from claw.core.untrusted import clean_untrusted


def add_memory_tools(tools: Tools, store: Store, recollection: Recollection | None = None) -> None:
    """Register remember/recall/forget; facts are scoped to the owner unless about the household.

    The model's `remember` "acts": in a turn that read text the owner did not write (a forwarded message,
    camera words, a device's name) it is held for the owner's yes, so such text never becomes a fact alone.
    """
    memory = recollection if recollection is not None else Recollection(store, None)

    async def remember(
        fact: str, about_household: bool = False, preference: bool = False, replaces: str = ""
    ) -> dict[str, Any]:
        turn = current_request()
        scope = facts_db.HOUSEHOLD if about_household else turn.conversation
        old = None
        if replaces.strip():  # "we moved the spare key": the old location is superseded, not overwritten
            found = await memory.search(replaces, [facts_db.HOUSEHOLD, turn.conversation], limit=1)
            old = found[0].fact if found else None

        async def store_it() -> dict[str, Any]:
            saved = await memory.remember(
                clean_untrusted(fact),
                scope=scope,
                author=turn.actor,
                source=turn.channel,
                message=turn.message,
                kind="preference" if preference else "fact",
                replaces=old.id if old is not None else None,
            )
            out: dict[str, Any] = {"remembered": saved.text, "shared_with_household": about_household}
            if old is not None:
                out["replaced"] = old.text
            return out

        said = await store.run(facts_db.messages_by_ids, [turn.message]) if turn.message else []
        if said and not turn.released and tools.guard is not None and not grounded(fact, said[0].content):
            # words the owner did not say this turn (a device's name, a page the model read): their yes first

            async def later() -> str:
                done = await store_it()
                return f'I\'ll remember: "{done["remembered"]}".'

            pending = await tools.guard.hold(f'remember "{clean_untrusted(fact)[:120]}"', later, turn)
            return {"status": "needs_confirmation", "tell_the_owner": pending.prompt}
        return await store_it()

    async def recall(query: str) -> dict[str, Any]:
        turn = current_request()
        scopes = [facts_db.HOUSEHOLD, turn.conversation]
        found = await memory.search(query, scopes)
        said = await memory.search_messages(query, turn.conversation, limit=6)
        return {
            "facts": [{"fact": f.fact.text, "by": f.fact.author, "since": _day(f.fact.valid_from)} for f in found],
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
                    "preference": {
                        "type": "boolean",
                        "description": "true for a standing wish (e.g. 'no music before 8')",
                    },
                    "replaces": {
                        "type": "string",
                        "description": "words of an older fact this one corrects or updates, if any",
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


def grounded(fact: str, said: str) -> bool:
    """The fact is the owner's own: most of its words, and every number in it, are in what they said."""
    own = set(words(said))
    content = [w for w in words(fact) if len(w) > 2 or w.isdigit()]
    numbers = [w for w in content if any(c.isdigit() for c in w)]
    if any(n not in own for n in numbers):
        return False
    return not content or sum(w in own for w in content) >= 0.6 * len(content)


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
