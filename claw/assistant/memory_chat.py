"""Seeing and correcting memory in chat, without the model: "what do you know about me?", "forget that",
"that's wrong, the code is 1234", "why do you think the kids sleep at 8?" (en/es/de/fr).

The grammar (templates/memory/<lang>.yaml) understands the words; these handlers answer in the message's language.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from claw.assistant.recollection import Recollection
from claw.assistant.understanding import Understood
from claw.assistant.wildcards import own_words
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store.facts import Fact
from claw.core.store.facts import messages_by_ids as messages_db_by_ids
from claw.core.untrusted import clean_untrusted
from claw.home.device import Device

MemoryHandler: TypeAlias = Callable[[Understood, Sequence[Device], Request], Awaitable[str | None]]

_NUMBER = re.compile(r"\d[\d:.,]*")
SAY = {
    "know": {
        "en": "Here is what I remember ({n}): {l}",
        "es": "Esto es lo que recuerdo ({n}): {l}",
        "de": "Das weiß ich ({n}): {l}",
        "fr": "Voici ce dont je me souviens ({n}) : {l}",
    },
    "nothing": {
        "en": "I don't remember anything about you yet.",
        "es": "Todavía no recuerdo nada sobre ti.",
        "de": "Ich weiß noch nichts über dich.",
        "fr": "Je ne sais encore rien de toi.",
    },
    "forgot": {
        "en": 'Forgotten: "{f}". (Undo on the dashboard\'s Memory page.)',
        "es": "Olvidado: «{f}». (Se puede deshacer en la página Memoria del panel.)",
        "de": "Vergessen: „{f}“. (Rückgängig auf der Seite Gedächtnis im Dashboard.)",
        "fr": "Oublié : « {f} ». (Annulable sur la page Mémoire du tableau de bord.)",
    },
    "which": {
        "en": "Which fact do you mean? Tell me some of its words.",
        "es": "¿Qué dato quieres decir? Dime algunas de sus palabras.",
        "de": "Welche Notiz meinst du? Nenn mir ein paar Worte daraus.",
        "fr": "De quel fait parles-tu ? Donne-moi quelques-uns de ses mots.",
    },
    "fixed": {
        "en": 'Corrected: "{o}" is now "{f}". (The old one stays in the history.)',
        "es": "Corregido: «{o}» ahora es «{f}». (El anterior queda en el historial.)",
        "de": "Korrigiert: „{o}“ heißt jetzt „{f}“. (Das alte bleibt im Verlauf.)",
        "fr": "Corrigé : « {o} » devient « {f} ». (L'ancien reste dans l'historique.)",
    },
    "because": {
        "en": 'Because {a} told me{c} on {d}: "{s}" (I noted: "{f}").',
        "es": "Porque {a} me lo dijo{c} el {d}: «{s}» (anoté: «{f}»).",
        "de": "Weil {a} es mir{c} am {d} gesagt hat: „{s}“ (notiert: „{f}“).",
        "fr": "Parce que {a} me l'a dit{c} le {d} : « {s} » (noté : « {f} »).",
    },
    "noted": {
        "en": 'I noted "{f}" on {d} ({a}, via {c}).',
        "es": "Anoté «{f}» el {d} ({a}, vía {c}).",
        "de": "Ich habe „{f}“ am {d} notiert ({a}, über {c}).",
        "fr": "J'ai noté « {f} » le {d} ({a}, via {c}).",
    },
    "unknown": {
        "en": "I don't have anything like that in memory.",
        "es": "No tengo nada parecido en la memoria.",
        "de": "So etwas habe ich nicht gespeichert.",
        "fr": "Je n'ai rien de tel en mémoire.",
    },
}
CHANNEL_WORDS = {"en": " on {c}", "es": " por {c}", "de": " über {c}", "fr": " via {c}"}


@dataclass(slots=True)
class _Last:
    fact: int
    at: float


class MemoryChat:
    """The owner sees, corrects and questions what Claw remembers; only from an owner's own words."""

    TTL = 900.0  # "forget that" / "that's wrong" refer to the fact last shown or noted this long ago at most

    def __init__(self, store: Store, recollection: Recollection) -> None:
        self.store, self.memory = store, recollection
        self._last: dict[str, _Last] = {}

    def handlers(self) -> dict[str, MemoryHandler]:
        """Each claw_action of templates/memory with its handler, for `understanding.register`."""
        return {
            "memory_know": self.know,
            "memory_forget": self.forget,
            "memory_correct": self.correct,
            "memory_why": self.why,
        }

    def _touch(self, turn: Request, fact: Fact) -> None:
        self._last[turn.conversation] = _Last(fact.id, time.monotonic())

    async def _last_fact(self, turn: Request) -> Fact | None:
        """The fact "that" means: the one last shown here, else the one this owner noted in the last minutes."""
        last = self._last.get(turn.conversation)
        if last is not None and time.monotonic() - last.at < self.TTL:
            fact = await self.store.run(facts_db.get, last.fact)
            if fact is not None and fact.current:
                return fact
        newest = await self.store.run(facts_db.facts, [facts_db.HOUSEHOLD, turn.conversation], 1)
        if newest and newest[0].author == turn.actor and time.time() - newest[0].ts < self.TTL:
            return newest[0]
        return None

    async def _said(self, understood: Understood, slot: str, turn: Request) -> str:
        """A free-text slot (it ends every memory sentence) as the owner typed it, to the end of the message."""
        value = str(understood.values.get(slot, ""))
        return own_words(value, understood.said, to_end=True) if value else ""

    async def know(self, understood: Understood, devices: Sequence[Device], turn: Request) -> str | None:
        """ "What do you know about me?": this owner's facts, and the household's that name them."""
        if not turn.owner:
            return None  # forwarded words, an agent or a schedule never read memory this way
        lang = _lang(understood)
        mine = await self.store.run(facts_db.facts, [turn.conversation], 12)
        shared = await self.store.run(facts_db.facts, [facts_db.HOUSEHOLD], 12)
        shown = [*mine, *[f for f in shared if turn.actor.casefold() in f.text.casefold()]][:12] or shared[:8]
        if not shown:
            return SAY["nothing"][lang]
        if len(shown) == 1:
            self._touch(turn, shown[0])
        lines = [f"{f.text} ({f.author}, {_day(f.valid_from)}, #{f.id})" for f in shown]
        return SAY["know"][lang].format(n=len(shown), l="; ".join(lines))

    async def forget(self, understood: Understood, devices: Sequence[Device], turn: Request) -> str | None:
        """ "Forget that": the fact last shown or noted here."""
        if not turn.owner:
            return None
        lang = _lang(understood)
        fact = await self._last_fact(turn)
        if fact is None:
            return SAY["which"][lang]
        gone = await self.memory.forget(fact.id)
        self._last.pop(turn.conversation, None)
        return SAY["forgot"][lang].format(f=(gone or fact).text)

    async def why(self, understood: Understood, devices: Sequence[Device], turn: Request) -> str | None:
        """ "Why do you think the kids sleep at 8?": the message the fact came from."""
        if not turn.owner:
            return None
        lang = _lang(understood)
        what = await self._said(understood, "what", turn)
        found = await self.memory.search(what, [facts_db.HOUSEHOLD, turn.conversation], limit=1) if what else []
        if not found:
            return SAY["unknown"][lang]
        fact = found[0].fact
        self._touch(turn, fact)
        said = await self.store.run(messages_db_by_ids, [fact.message]) if fact.message else []
        if said:
            message = said[0]
            channel = CHANNEL_WORDS[lang].format(c=message.channel) if message.channel else ""
            return SAY["because"][lang].format(
                a=message.sender or fact.author, c=channel, d=_day(message.ts), s=_short(message.content), f=fact.text
            )
        return SAY["noted"][lang].format(f=fact.text, d=_day(fact.valid_from), a=fact.author, c=fact.source or "?")

    async def correct(self, understood: Understood, devices: Sequence[Device], turn: Request) -> str | None:
        """ "That's wrong, the code is 1234": the fact last shown (or one sharing its words) superseded."""
        if not turn.owner:
            return None  # forwarded words never change memory
        lang = _lang(understood)
        new = (await self._said(understood, "correction", turn)).strip(" ,.;:!-—")
        if len(new) < 3:
            return SAY["which"][lang]
        old = await self._last_fact(turn)
        if old is None:  # only a fact sharing words with the correction: "that's wrong" alone may mean anything
            found = await self.memory.search(new, [facts_db.HOUSEHOLD, turn.conversation], limit=1)
            old = found[0].fact if found and found[0].keyword_rank else None
        if old is None:
            return None  # nothing to correct: the model may understand what was meant
        corrected = _patched(old.text, new)
        fact = await self.memory.correct(old.id, corrected, author=turn.actor, source=turn.channel)
        if fact is None:
            return SAY["unknown"][lang]
        self._touch(turn, fact)
        return SAY["fixed"][lang].format(o=old.text, f=fact.text)


def _patched(old: str, new: str) -> str:
    """ "The alarm code is 4321" + "the code is 1234" -> "The alarm code is 1234": a number replaces a number;
    otherwise the owner's new words stand as the fact."""
    old_numbers, new_numbers = _NUMBER.findall(old), _NUMBER.findall(new)
    if len(old_numbers) == 1 and len(new_numbers) == 1:
        return _NUMBER.sub(new_numbers[0], old, count=1)
    return clean_untrusted(new)[:300]


def _lang(understood: Understood) -> str:
    return understood.language if understood.language in SAY["know"] else "en"


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "…"
