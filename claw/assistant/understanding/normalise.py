"""Clean a message before matching: emoji, politeness, "full", and typos against known words."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

# Politeness and filler that never changes a command; stripped only when something else remains.
FILLER: dict[str, tuple[str, ...]] = {
    "en": (
        "please",
        "pls",
        "plz",
        "plez",
        "pleeease",
        "pleaseee",
        "kindly",
        "thanks",
        "thank you",
        "thx",
        "ty",
        "cheers",
        "mate",
        "buddy",
        "hey claw",
        "ok claw",
        "hey",
        "yo",
        "claw",
        "now",
        "right now",
        "asap",
        "just",
        "quickly",
        "real quick",
        "for me",
        "ok",
        "okay",
        "actually",
        "still",
        "currently",
        "at the moment",
    ),
    "es": ("por favor", "porfa", "porfavor", "gracias", "ahora mismo", "ahora"),
    "de": ("bitte", "danke", "jetzt", "mal", "doch"),
    "fr": ("s'il te plaît", "s'il vous plaît", "s'il te plait", "s'il vous plait", "stp", "svp", "merci"),
}
# Words with a grammar equivalent the templates already know.
REPLACE: dict[str, dict[str, str]] = {
    "en": {
        "full": "max",
        "can u": "can you",
        "per cent": "percent",
        "pct": "percent",
        "celsius": "",
        # common slips in words too short for the typo corrector (under five letters) or run together
        "dor": "door",
        "frnt": "front",
        "alrm": "alarm",
        "garaj": "garage",
        "frontdoor": "front door",
        "livingroom": "living room",
        "sleepytime": "sleepy time",
        # "of" for "off" after a power verb, and texting's "da" for "the"
        "turn of": "turn off",
        "switch of": "switch off",
        "lights of": "lights off",
        "light of": "light off",
        "da": "the",
        "im": "i'm",
        "trun": "turn",
        "tunr": "turn",
        "swich": "switch",
    },
    # "tout les" for "toutes les"/"tous les": the templates take "toutes les" before any plural
    "fr": {"tout les": "toutes les"},
}
# Joiners that open a follow-up message ("and lock the door") say nothing about the command itself.
LEADING: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"^(?:(?:oh|and|also|then)\s+)+"),
    "es": re.compile(r"^(?:(?:y|también|luego|oye|oiga|(?:me\s+)?(?:puedes|podrías|podrias|puede|podría))[\s,]+)+"),
    "de": re.compile(r"^(?:(?:und|auch|dann|hey|(?:kannst|könntest|koenntest)\s+du)[\s,]+)+"),
    "fr": re.compile(r"^(?:(?:et|aussi|puis|dis|(?:tu\s+peux|tu\s+pourrais|peux-tu|pourrais-tu|pouvez-vous))[\s,]+)+"),
}
# A request put as a question ("can you switch off the pump?", "¿puedes apagar…?"): an order, its "?" only polite.
POLITE: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"^(?:(?:hey|ok|so)[\s,]+)?(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+)?\w"),
    "es": re.compile(r"^(?:oye[\s,]+)?(?:me\s+)?(?:puedes|podrías|podrias|puede|podría)\s+\w"),
    "de": re.compile(r"^(?:hey[\s,]+)?(?:kannst|könntest|koenntest)\s+du\s+\w"),
    "fr": re.compile(r"^(?:dis[\s,]+)?(?:tu\s+peux|tu\s+pourrais|peux-tu|pourrais-tu|pouvez-vous)\s+\w"),
}
_DEGREES = re.compile(r"°\s*c\b")
# Words outside the templates that must never be "corrected" (joiners between two commands).
KEEP: dict[str, frozenset[str]] = {
    "en": frozenset({"then", "and", "also", "after", "that"}),
    "es": frozenset({"luego", "después", "también", "puedes", "podrías", "podrias", "puede", "podría"}),
    "de": frozenset({"dann", "und", "danach", "auch", "kannst", "könntest", "koenntest"}),
    "fr": frozenset({"puis", "ensuite", "aussi", "peux-tu", "pourrais", "pourrais-tu", "pouvez-vous"}),
}
_KEEP_SYMBOLS = frozenset("%°")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
MIN_TYPO_LENGTH = 5
TYPO_CUTOFF = 0.8


# Symbols that say a word: "🔒 front door" is an order.
_SAID = {"🔒": " lock ", "🔓": " unlock "}


# Languages that write a room and a thing as one word ("Schlafzimmerlicht"), with these joining letters ("Küchenlicht").
COMPOUNDING = frozenset({"de"})
_JOINERS = ("", "n", "s", "en", "es")


def polite_request(text: str, language: str) -> bool:
    """True when text opens as a request ("kannst du …", "tu peux …"): what follows is an order, "?" or not."""
    pattern = POLITE.get(language)
    said = strip_symbols(text).lower().lstrip("¿¡ ")
    return pattern is not None and pattern.match(said) is not None


def _fold(text: str) -> str:
    """text without its accents: "lumières" and "lumieres" fold alike."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def strip_symbols(text: str) -> str:
    """Drop emoji and other symbols (keeping % and °, saying 🔒 and 🔓), fold typographic quotes, collapse spaces."""
    text = text.replace("’", "'").replace("‘", "'").replace("&", " and ")
    for symbol, word in _SAID.items():  # said once: "unlock front door 🔓" is not "unlock … unlock"
        text = text.replace(symbol, " " if word.strip() in text.lower().split() else word)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in _KEEP_SYMBOLS or not (category.startswith("S") or category in {"Cf", "Mn", "Co", "Cs"}):
            kept.append(char)
        else:
            kept.append(" ")
    return " ".join("".join(kept).split())


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in ordered) + r")(?!\w)")


class Normaliser:
    """Per-language text clean-up with a typo corrector over the grammar's and the home's words."""

    def __init__(self, language: str, known: frozenset[str], home_words: frozenset[str]) -> None:
        self.language = language
        self.known = known | home_words | KEEP.get(language, frozenset())
        # Correct towards the home's own words first: a misspelt room is likelier than a misspelt verb.
        self.home_words = sorted(w for w in home_words if len(w) >= MIN_TYPO_LENGTH - 1)
        self._rooms = frozenset(self.home_words) if language in COMPOUNDING else frozenset()
        self.grammar_words = sorted(w for w in known if len(w) >= MIN_TYPO_LENGTH - 1)
        self.filler = _phrase_pattern(FILLER.get(language, ()))
        replace = REPLACE.get(language, {})
        self.replace = replace
        self.replace_pattern = _phrase_pattern(replace) if replace else None
        self._typos: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        """The text as the grammar should see it: lower-case, clean, filler-free, typos fixed."""
        text = strip_symbols(text).lower()  # not casefold: the templates say "schließe", casefold says "schliesse"
        text = _DEGREES.sub("°", text)  # "23°C" is "23°", which every language's templates take
        without = " ".join(self.filler.sub(" ", text).split())
        if without.strip(" ,.!?"):
            text = without
        if self.replace_pattern is not None:
            text = self.replace_pattern.sub(lambda m: self.replace[m.group(0)], text)
        text = _TOKEN.sub(lambda m: self.correct(m.group(0)), text)
        text = " ".join(text.split()).strip(" ,")
        leading = LEADING.get(self.language)
        if leading is not None and (rest := leading.sub("", text)):
            text = rest
        return text

    def correct(self, word: str) -> str:
        """A known word close to word (high cutoff), or word itself; only unknown words are touched."""
        if word in self.known or len(word) < MIN_TYPO_LENGTH:
            return word
        if word.endswith("s") and word[:-1] in self.known:  # "leaves" is a known word's inflection, not a slip
            return word
        cached = self._typos.get(word)
        if cached is None and self._rooms:
            cached = self._split_compound(word)
        if cached is None:
            match = difflib.get_close_matches(word, self.home_words, 5, TYPO_CUTOFF) + difflib.get_close_matches(
                word, self.grammar_words, 5, TYPO_CUTOFF
            )
            # same first letter: people slip inside a word far more than on its first key; a missing accent
            # ("lumieres") or two swapped letters ("étiens") is the likeliest slip of all
            match = [m for m in match if _fold(m[0]) == _fold(word[0])]
            cached = next(
                (m for m in match if _fold(m) == _fold(word)),
                next((m for m in match if sorted(m) == sorted(word)), match[0] if match else word),
            )
            if len(self._typos) < 4096:  # bounded: typos are open-ended input
                self._typos[word] = cached
        return cached

    def _split_compound(self, word: str) -> str | None:
        """ "schlafzimmerlicht" -> "schlafzimmer licht": one of the home's words, then a word the grammar knows."""
        for cut in range(len(word) - 4, 3, -1):
            head, tail = word[:cut], word[cut:]
            if tail not in self.known:
                continue
            for joiner in _JOINERS:
                if head.endswith(joiner) and (stem := head[: len(head) - len(joiner)]) in self._rooms:
                    return f"{stem} {tail}"
        return None
