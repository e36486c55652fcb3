"""Understanding: match a message against the grammar and the home, synchronously and without I/O."""

from __future__ import annotations

import difflib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hassil import RecognizeResult, recognize_all

from claw.home.places import key

from .grammar import NO_AREA, Grammar, load_grammar, slot_lists, vocabulary_words, warm
from .normalise import Normaliser, strip_symbols
from .outcome import Ambiguous, Compound, NotUnderstood, Outcome, Pending, Understood, frozen
from .resolve import Resolver
from .scope import ALL_WORDS, Choices, Home
from .sieve import TemplateSieve
from .vocabulary import LastTouched, Vocabulary, trigger_language

# Joiners between two commands; a comma needs a following space so "20,5" stays a number.
SPLIT: dict[str, str] = {
    "en": r",\s+(?:and\s+|then\s+)?|\s+and\s+then\s+|\s+and\s+|\s+then\s+|;\s*",
    "es": r",\s+(?:y\s+|luego\s+)?|\s+y\s+luego\s+|\s+y\s+|\s+luego\s+|\s+después\s+|;\s*",
    "de": r",\s+(?:und\s+|dann\s+)?|\s+und\s+dann\s+|\s+und\s+|\s+dann\s+|;\s*",
    "fr": r",\s+(?:et\s+|puis\s+)?|\s+et\s+puis\s+|\s+et\s+|\s+puis\s+|;\s*",
}
MAX_PARTS = 4
# How many words a borrowed verb ("switch off all the") or a shared tail ("ceiling lights") may be: each is a match.
LEAD_WORDS, TAIL_WORDS = 5, 2
# Words at a part's edge that only join ("… and also the desk lamp", "the hallway too").
_EDGE_FILLER: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"^(?:(?:also|too|plus)\s+)+|\s+(?:too|as well|also)$"),
    "es": re.compile(r"^(?:también\s+)+|\s+también$"),
    "de": re.compile(r"^(?:auch\s+)+|\s+auch$"),
    "fr": re.compile(r"^(?:aussi\s+)+|\s+aussi$"),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# How a clause that explains rather than orders opens: a subject, a "because", a goodbye, a participle.
_REASON_OPENERS: dict[str, frozenset[str]] = {
    "en": _words(
        "i i'm im i've we we're we've it it's its they they're the because cause cos since as so expecting "
        "having getting bye goodbye cheers thanks guests kids"
    ),
    "es": _words("estoy estamos es hace porque que ya adiós chao gracias vienen llegan tengo tenemos"),
    "de": _words("ich wir es weil denn da tschüss danke gleich besuch"),
    "fr": _words("je j'ai on nous il c'est parce car merci salut des"),
}
# Words that make a clause more than a reason: when, whether, which mode ("…, we're off to bed" means night).
_NOT_EXPLAINING: dict[str, frozenset[str]] = {
    "en": _words(
        "not no dont don't never except but wait instead cancel undo stop later tomorrow tonight until minutes "
        "minute hour hours am pm morning evening night bed sleep sleeping away leaving home holiday vacation "
        "on off up down open close lock unlock dim louder quieter every then"
    ),
    "es": _words(
        "no nunca excepto pero espera mejor cancela luego mañana noche hasta minutos hora horas dormir cama "
        "casa fuera vacaciones enciende apaga abre cierra sube baja cada"
    ),
    "de": _words(
        "nicht kein keine nie außer aber warte lieber abbrechen später morgen abend nacht bis minuten stunde "
        "stunden schlafen bett hause weg urlaub an aus auf zu hoch runter jeden"
    ),
    "fr": _words(
        "ne pas non jamais sauf mais attends plutôt annule plus tard demain soir nuit jusqu minutes heure heures "
        "dormir lit maison absent vacances allume éteins ouvre ferme monte baisse chaque"
    ),
}
CLOSE = 0.85  # how alike an unknown word and a known name's word must be to hint at that name
# Verbs that hint at the kind of device a failed command meant, for NotUnderstood.closest.
HINTS = {
    "lock": "lock",
    "unlock": "lock",
    "open": "cover",
    "close": "cover",
    "dim": "light",
    "lights": "light",
    "light": "light",
    "lamp": "light",
    "volume": "media_player",
    "pause": "media_player",
    "temperature": "climate",
    "heat": "climate",
}
# Words that say how, not what: a name shares one of these with a message by chance ("wake up the house" and
# "turn off the tv"), so they never make a name a suggestion.
_FUNCTION = {
    "en": "a an the to of in on off at for and or my me you it is are be up down all any some what which how please "
    "turn switch set make tell show can could would do does this that these those there here now with from by",
    "es": "el la los las un una de del en y o mi me es son por para que con al",
    "de": "der die das den dem ein eine im in an aus auf und oder mein mich ist sind bitte was wie mit zu von",
    "fr": "le les un une des du de en et ou mon ma mes est sont pour que avec au aux sur",
}
FUNCTION_WORDS = frozenset(word for words in _FUNCTION.values() for word in words.split())
# Kind words ("light", "lamp") name a whole class of devices: matching only one of them is not a suggestion.
KIND_WORDS = frozenset({*HINTS, "lamps", "locks", "door", "doors", "shades", "blinds"})
# The hints that are verbs: "lock kitchen door" means a lock, so "Front Door" is near on "door" alone.
VERB_HINTS = frozenset({"lock", "unlock", "open", "close", "dim", "pause", "heat"})
SHORTEST_FUZZY = 4  # below this, one letter off is another word altogether ("tv" is not "to")
_CONTEXT = {"area": {"value": NO_AREA, "text": ""}}
# Messages matched once at build time so that hassil's lazily compiled patterns exist before the first owner's.
WARM_UP = ("turn on the lights", "set the lights to 50%", "lights off in 10 minutes", "x and y")
# Media commands that mean nothing when nothing plays ("skip" with silence): no question, nothing to do.
NOTHING_TO_DO = frozenset({"next", "previous", "pause", "mute", "unmute"})
_SECONDS = {"delay_seconds": 1, "delay_minutes": 60, "delay_hours": 3600}
# What "… in 10 minutes" / "at 11pm …" may put off: device commands and routines, never a question or a reminder.
DELAYABLE = frozenset(
    {"turn_on", "turn_off", "open", "close", "lock", "unlock", "pause", "resume", "next", "previous", "run_routine"}
    | {"set_brightness", "set_position", "set_temperature", "set_volume", "set_color", "set_color_temp", "set_mode"}
)
# Commands a verb may be borrowed for and a reason let go beside: device changes and routines, not words kept.
COMMANDS = DELAYABLE | {f"adjust_{m}" for m in ("brightness", "volume", "temperature", "color_temp", "position")}
_FILLER_REPLY = re.compile(r"^(?:(?:the|in|on|at|el|la|los|las|en|der|die|das|im|le|les|dans)\s+)+")


class Understanding:
    """A grammar matcher for one home, built once from a Vocabulary; understand() is pure and fast."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        languages: Sequence[str] = ("en",),
        cache_size: int = 512,
        sentences: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        temperature_unit: str = "°C",
    ) -> None:
        self.vocabulary = vocabulary
        # Outcomes are immutable and depend only on (text, context, language) for this home: people repeat
        # themselves ("good night", "lights off"), so the last few hundred are kept. 0 turns this off.
        self.cache_size = cache_size
        self._outcomes: OrderedDict[tuple[str, tuple[str, ...] | None, str | None], Outcome] = OrderedDict()
        self.home = Home(vocabulary)
        self.resolver = Resolver(self.home, temperature_unit)
        self.slot_lists = slot_lists(vocabulary)
        home_words = vocabulary_words(vocabulary)
        extra = sentences or {}  # skills' own templates, per language and intent (JSON keeps the cache key hashable)
        self.grammars: dict[str, Grammar] = {
            lang: load_grammar(lang, json.dumps(extra.get(lang, {}), sort_keys=True) if extra.get(lang) else "")
            for lang in languages
        }
        self.normalisers = {lang: Normaliser(lang, g.words, home_words) for lang, g in self.grammars.items()}
        self.sieves = {lang: TemplateSieve(g.intents, self.slot_lists) for lang, g in self.grammars.items()}
        self.split = {lang: re.compile(SPLIT.get(lang, SPLIT["en"])) for lang in languages}
        # Where no name in the home holds a joiner ("Tom and Jerry"), "x and y" is two commands if both parts are:
        # trying the parts first spares matching the whole message against every template (the slow path).
        self.joined = {lang: _joined(vocabulary, self.split[lang]) for lang in languages}
        self.phrases = [(key(p), e.name, e.domain) for e in vocabulary.entities for p in e.phrases]
        self.phrases += [(key(p), a.name, "") for a in vocabulary.areas for p in (a.name, *a.aliases)]
        self.phrases += [(key(p), r.name, "") for r in vocabulary.routines for p in r.phrases]
        self.phrase_words: dict[str, list[int]] = {}
        for index, (phrase, _, _) in enumerate(self.phrases):
            for word in phrase.split():
                self.phrase_words.setdefault(word, []).append(index)
        # Candidate words by length: a word can only be 85% similar to one of nearly its own length.
        self.phrase_words_by_length: dict[int, list[str]] = {}
        for word in sorted(self.phrase_words):
            self.phrase_words_by_length.setdefault(len(word), []).append(word)
        self._near_words: dict[str, list[str]] = {}
        for lang in languages:  # parse and index the lazily compiled templates now, not on the first message
            warm(self.grammars[lang].intents, self.slot_lists, lang)
            for text in WARM_UP:
                self.understand(text, language=lang)

    # -- public API --------------------------------------------------------------------------------

    def understand(self, text: str, context: LastTouched | None = None, language: str | None = None) -> Outcome:
        """Understood only for a complete, unambiguous match; Ambiguous to ask; else NotUnderstood."""
        cache_key = (text, context.ids if context is not None else None, language)
        outcome = self._outcomes.get(cache_key)
        if outcome is not None:
            self._outcomes.move_to_end(cache_key)
            return outcome
        outcome = self._understand_any(text, context, language)
        if self.cache_size > 0:
            self._outcomes[cache_key] = outcome
            if len(self._outcomes) > self.cache_size:
                self._outcomes.popitem(last=False)
        return outcome

    def follow_up(self, partial: Pending, text: str, context: LastTouched | None = None) -> Outcome:
        """Finish an Ambiguous with the owner's reply ("kitchen", "all", "the front door"), or start afresh."""
        reply = key(strip_symbols(text)).strip(" .!?")
        reply = _FILLER_REPLY.sub("", reply)
        choice = partial.choices.get(reply)
        if choice is None:
            close = difflib.get_close_matches(reply, list(partial.choices), 1, 0.8)
            choice = partial.choices[close[0]] if close else None
        if choice is None and any(word in reply.split() for word in ALL_WORDS):
            choice = partial.choices.get("all")
        if choice is not None:
            return choice
        return self.understand(text, context=context, language=partial.language)

    def choose_player(self, understood: Understood, playing: Sequence[str]) -> Understood | Ambiguous | None:
        """A media command for "the one playing" (values target="playing"), given the ids of the players playing
        now (paused ones for "resume"): that one; with several, a question naming them; with none, a question naming
        every player that can do it ("turn up the volume", "resume"), or None where nothing playing means nothing
        to do ("skip", "pause"). Every question's replies (a name, a room with one player) finish the command."""
        values = frozen({k: v for k, v in understood.values.items() if k != "target"})

        def build(ids: tuple[str, ...]) -> Understood:
            return replace(understood, targets=ids, values=values)

        known = [self.home.entities[i] for i in playing if i in self.home.entities]
        if len(known) == 1:
            return build((known[0].id,))
        if not known and understood.action in NOTHING_TO_DO:
            return None
        feature = "volume" if understood.action in {"set_volume", "adjust_volume"} else None
        pool = known or [
            e
            for e in self.home.entities.values()
            if e.domain == "media_player" and (feature is None or feature in e.features or not e.features)
        ]
        return self.home.ask_which(pool, build) if pool else None

    def closest(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """Known names genuinely near the words of text, best first, as hints for the model or the owner.

        A name is near when the message shares at least half of its words, one of them more than a kind word
        ("desk" in "kill the desk lamp"); words like "the" or "turn" never count, so "tell me a joke" has none.
        """
        words = set(re.findall(r"\w+", strip_symbols(text).casefold())) - FUNCTION_WORDS
        hinted = {HINTS[w] for w in words if w in HINTS}
        acted_on = {HINTS[w] for w in words if w in VERB_HINTS}
        near = {w for w in words if w in self.phrase_words}
        for word in words - near:  # one fuzzy lookup per unknown word, not per phrase
            if len(word) >= SHORTEST_FUZZY and not word.isdigit():
                near.update(self._near(word))
        scored: dict[str, float] = {}
        for index in sorted({i for w in near for i in self.phrase_words[w]}):  # ties: vocabulary order
            phrase, name, domain = self.phrases[index]
            parts = [p for p in phrase.split() if p not in FUNCTION_WORDS] or phrase.split()
            shared = [p for p in parts if p in near]
            if len(shared) * 2 < len(parts) or (all(p in KIND_WORDS for p in shared) and domain not in acted_on):
                continue
            score = len(shared) / len(parts) + (1.0 if domain in hinted else 0.0)
            scored[name] = max(scored.get(name, 0.0), score)
        best = max(scored.values(), default=0.0)  # a far second ("front room" beside "Front Door") is noise
        return tuple(sorted((n for n in scored if scored[n] * 2 >= best), key=lambda n: -scored[n])[:limit])

    def _near(self, word: str) -> list[str]:
        """The two known words most like word (85% or closer), remembered for the next message."""
        found = self._near_words.get(word)
        if found is None:
            low, high = int(len(word) * 0.73), int(len(word) * 1.36) + 1
            pool = [w for n in range(low, high + 1) for w in self.phrase_words_by_length.get(n, ())]
            found = difflib.get_close_matches(word, pool, 2, CLOSE)
            if len(self._near_words) < 4096:  # bounded: unknown words are open-ended input
                self._near_words[word] = found
        return found

    # -- matching ----------------------------------------------------------------------------------

    def _understand_any(self, text: str, context: LastTouched | None, language: str | None) -> Outcome:
        languages = [language] if language else self._languages_for(text)
        for lang in languages:
            outcome = self._understand(lang, text, context, depth=0)
            if not isinstance(outcome, NotUnderstood):
                return outcome
        return NotUnderstood(closest=self.closest(text), reason="no complete match")

    def likely_language(self, text: str) -> str:
        """The language a message is most likely in, of those configured (for a reply to words not understood)."""
        return self._languages_for(text)[0]

    def _languages_for(self, text: str) -> list[str]:
        """Languages to try, most likely first; ones sharing few template words with the text are skipped."""
        words = set(re.findall(r"[^\W\d_]+", text.lower()))
        scored = sorted(
            ((sum(1 for w in words if w in g.words), lang) for lang, g in self.grammars.items()), key=lambda s: -s[0]
        )
        top = scored[0][0]
        ordered = [lang for score, lang in scored if score > 0 and score * 2 >= top]
        trigger = trigger_language(text)  # "on part" is French, though every grammar knows both words
        if trigger in self.grammars:
            ordered = [trigger, *(lang for lang in ordered if lang != trigger)]
        return ordered or [scored[0][1]]

    def _understand(self, lang: str, text: str, context: LastTouched | None, depth: int) -> Outcome:
        clean = self.normalisers[lang](text)
        if not clean:
            return NotUnderstood(reason="empty")
        if depth == 0 and not self.joined[lang]:
            compound = self._compound(lang, clean, context)
            if compound is not None:
                return compound
        outcome = self._match(lang, clean, context, depth)
        if isinstance(outcome, NotUnderstood) and depth == 0 and self.joined[lang]:
            return self._compound(lang, clean, context) or outcome
        return outcome

    def _match(self, lang: str, clean: str, context: LastTouched | None, depth: int) -> Outcome:
        intents = self.sieves[lang].intents_for(clean)
        results = list(
            recognize_all(clean, intents, slot_lists=self.slot_lists, intent_context=_CONTEXT, language=lang)
        )
        names = {r.intent.name for r in results}
        if "ClawAreaPercent" in names:  # a bare "<room> to 50%" is not a light command until we know
            results = [r for r in results if r.intent.name not in {"HassLightSet", "HassSetPosition"}]
        best: tuple[tuple[int, ...], Outcome] | None = None
        for result in results:
            if result.intent.name == "ClawLater":
                outcome = self._later(lang, result, context, depth) if depth < 2 else None
            else:
                outcome = self.resolver.resolve(result, lang, clean, context)
            if outcome is None or isinstance(outcome, NotUnderstood):
                continue
            rank = _rank(result, outcome, clean.endswith("?"), clean)
            if best is None or rank > best[0]:
                best = (rank, outcome)
        return best[1] if best else NotUnderstood(reason="no complete match")

    def _later(self, lang: str, result: RecognizeResult, context: LastTouched | None, depth: int) -> Outcome | None:
        """ "<command> in 10 minutes" / "at 11pm <command>": the command, with when to run it in values."""
        slots = {name: entity.value for name, entity in result.entities.items()}
        when = _when(slots)
        if when is None:
            return None
        command = str(slots["command"]).strip()
        if "particle" in slots:  # German: "schalte das Licht | um 23 Uhr | aus"
            command = f"{command} {slots['particle']}"
        inner = self._match(lang, command, context, depth + 1)
        parts = inner.parts if isinstance(inner, Compound) else (inner,) if isinstance(inner, Understood) else ()
        if any(p.action not in DELAYABLE for p in parts):  # "why do you think the kids sleep at 8?" asks, now
            return None
        return _with_values(inner, when)

    def _compound(self, lang: str, clean: str, context: LastTouched | None) -> Outcome | None:
        """Two or more commands joined by and/then/commas: a Compound only if every part is Understood.

        A part without its own verb borrows the one before it ("turn off the pool pump and the spa heater",
        "lights off in the kitchen and living room"), and a shared last word reaches back ("the kitchen and
        bedroom lights"). A clause that only explains ("…, expecting a delivery") is let go when it names
        nothing in the home and says nothing about when or whether.
        """
        parts = [_EDGE_FILLER[lang].sub("", p).strip() for p in self.split[lang].split(clean) if p.strip()]
        parts = [p for p in parts if p]
        if not 1 < len(parts) <= MAX_PARTS:
            return None
        understood: list[Understood] = []
        said: list[str] = []  # each understood part's words, as matched (a borrowed verb included)
        let_go = 0
        for written in parts:
            outcome, part = self._match(lang, written, context, depth=1), written
            if not isinstance(outcome, Understood | Compound) and said:
                outcome, part = self._borrowed(lang, said, understood, written, context)
            if isinstance(outcome, Compound):
                understood.extend(outcome.parts)
            elif isinstance(outcome, Understood):
                if not (understood and _same(understood[-1], outcome)):  # "shut the front door and lock it": once
                    understood.append(outcome)
            elif self._only_explains(lang, part):
                let_go += 1
                continue
            else:
                return None
            said.append(part)
            if outcome_targets := getattr(outcome, "targets", ()):
                context = LastTouched(outcome_targets)  # "turn on the lamp and dim it"
        if not understood or (let_go and not all(p.action in COMMANDS for p in understood)):
            return None  # an explained question ("is it on, I forgot") is the model's
        return understood[0] if len(understood) == 1 else Compound(parts=tuple(understood))

    def _borrowed(
        self, lang: str, said: list[str], understood: list[Understood], part: str, context: LastTouched | None
    ) -> tuple[Outcome, str]:
        """The part read with the verb of the part before it, and that part re-read with this one's last words
        when they complete it ("turn off the kitchen | and bedroom lights"); NotUnderstood when neither works."""
        if understood[-1].action not in COMMANDS or understood[-1].free:  # "remind me at 6, to call Gran": one
            return NotUnderstood(reason="no verb to borrow"), part
        before = said[-1].split()
        words = part.split()
        for cut in range(min(len(before) - 1, LEAD_WORDS), 0, -1):  # longest lead first: "lights off in the" + …
            text = " ".join(before[:cut] + words)
            outcome = self._match(lang, text, context, depth=1)
            if not isinstance(outcome, Understood) or outcome.action != understood[-1].action:
                continue
            for start in range(max(1, len(words) - TAIL_WORDS), len(words)):  # "turn off the kitchen" + "lights"
                whole = self._match(lang, " ".join(before + words[start:]), context, depth=1)
                if isinstance(whole, Understood) and whole.action == outcome.action:
                    understood[-1] = whole
                    said[-1] = " ".join(before + words[start:])
                    break
            return outcome, text
        return NotUnderstood(reason="no complete match"), part

    def _only_explains(self, lang: str, part: str) -> bool:
        """A clause that gives a reason and no instruction: it opens as a reason does ("we're", "expecting"), not
        with a verb ("order a pizza"), and says no name, room or number, no when, no negation."""
        tokens = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", part)
        if not tokens or tokens[0] not in _REASON_OPENERS.get(lang, frozenset()):
            return False
        words = set(re.findall(r"[^\W\d_]+", part)) - FUNCTION_WORDS
        if re.search(r"\d", part) or not words:
            return False
        telling = words & _NOT_EXPLAINING.get(lang, _NOT_EXPLAINING["en"])
        return not (telling or any(w in self.phrase_words for w in words))


def _joined(vocabulary: Vocabulary, split: re.Pattern[str]) -> bool:
    """True when some name, room, floor or routine phrase contains a joiner ("Tom and Jerry", "Lock up, then sleep")."""
    phrases = [p for e in vocabulary.entities for p in e.phrases]
    phrases += [p for a in vocabulary.areas for p in (a.name, *a.aliases)]
    phrases += [p for f in vocabulary.floors for p in (f.name, *f.aliases)]
    phrases += [p for r in vocabulary.routines for p in r.phrases]
    return any(len(split.split(key(strip_symbols(p)))) > 1 for p in phrases)


def _same(first: Understood, second: Understood) -> bool:
    """Two parts that would do the very same thing."""
    return (first.action, first.targets, dict(first.values)) == (second.action, second.targets, dict(second.values))


# Actions that read rather than change: "garage closed?" asks, "garage closed" orders.
ASKING = frozenset({"get_state", "get_temperature"})


def _rank(result: RecognizeResult, outcome: Outcome, question: bool = False, text: str = "") -> tuple[int, ...]:
    """Understood beats a question; a reading that asks when the message asks ("?"); a named device beats a room;
    then more literal words matched; then wildcards that hold whole words, and as few of them as the templates
    leave ("minutos revisar" is "minuto|s revisar" too; "every sunday at 10" a day in a wildcard too)."""
    kind = {Understood: 3, Compound: 3, Ambiguous: 1}.get(type(outcome), 0)
    if isinstance(outcome, Understood) and (outcome.action in ASKING) == question:
        kind += 1
    names = result.entities
    specific = 2 if "name" in names or "routine" in names else 0
    specific += 1 if result.intent.name == "ClawLater" else 0
    wildcards = [e for e in result.entities_list if e.is_wildcard]
    split = sum(1 for e in wildcards if _splits_a_word(e.text_span, text))
    wild_text = sum(len(e.text.strip()) for e in wildcards)
    return (kind, specific, -len(wildcards), result.text_chunks_matched, -split, -wild_text)


def _splits_a_word(span: tuple[int, int] | None, text: str) -> bool:
    """A wildcard that starts or ends inside a word: hassil let a list value end mid-word ("minuto|s")."""
    if span is None or not text:
        return False
    return any(0 < i < len(text) and text[i - 1].isalnum() and text[i].isalnum() for i in span)


def _when(slots: dict[str, Any]) -> dict[str, Any] | None:
    """delay_s for "in 10 minutes", at="HH:MM" (24 h) for "at 11pm"; None for an impossible time."""
    for slot, seconds in _SECONDS.items():
        if slot in slots:
            return {"delay_s": int(float(slots[slot]) * seconds)}
    if "at_hour" not in slots:
        return None
    hour, minute, half = int(slots["at_hour"]), int(slots.get("at_minute", 0)), slots.get("ampm")
    if half is None and 1 <= hour <= 11 and 0 <= minute <= 59:  # "at 7": whichever 7 o'clock comes next
        return {"at": f"{hour:02d}:{minute:02d}", "or_at": f"{hour + 12:02d}:{minute:02d}"}
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        if half == "night":  # "at 11 at night" is 23:00, "at 2 at night" 02:00, "at 12 tonight" midnight
            hour = hour + 12 if 5 <= hour <= 11 else hour % 12
        else:
            hour = hour % 12 + (12 if half == "pm" else 0)
    return {"at": f"{hour:02d}:{minute:02d}"}


def _with_values(outcome: Outcome, extra: dict[str, Any]) -> Outcome:
    """The same outcome with extra values on every command it holds (including a question's answers)."""
    if isinstance(outcome, Understood):
        return replace(outcome, values=frozen({**outcome.values, **extra}))
    if isinstance(outcome, Compound):
        return Compound(parts=tuple(replace(p, values=frozen({**p.values, **extra})) for p in outcome.parts))
    if isinstance(outcome, Ambiguous):
        choices = outcome.partial.choices
        if isinstance(choices, Choices):
            later: Mapping[str, Understood] = choices.mapped(lambda u: replace(u, values=frozen({**u.values, **extra})))
        else:
            later = frozen({k: replace(u, values=frozen({**u.values, **extra})) for k, u in choices.items()})
        return replace(outcome, partial=replace(outcome.partial, choices=later))
    return outcome
