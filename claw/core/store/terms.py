"""The words a fact is found by: accents folded, case folded, light suffix stemming for en/es/de/fr."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Longest first; a suffix is cut only when at least MIN_STEM letters stay, so "bus" and "gas" keep their s.
# Plural and common inflections of the four languages; enough for "keys"/"key", "niños"/"niño", "Kinder"/"Kind".
_SUFFIXES = tuple(
    sorted(
        set(
            str.split(
                "ies ing ed es s"  # en
                " ciones cion mente os as"  # es (after accent folding)
                " ern en er e n"  # de
                " ements ement eaux aux ees ee x"  # fr
                " a o"  # a final vowel, so "photo" and "photos", "nino" and "ninos" meet
            )
        ),
        key=len,
        reverse=True,
    )
)
MIN_STEM = 3
# Question and filler words (stemmed) a query is not about; left out of the query, never out of the index.
_STOP = frozenset(
    str.split(
        "the a an is are was what whats where who whi when how do doe did you your me my we our of to in on at"
        " for and or it that thi there be can tell know remember"
        " el la los las un una de del que qu cual cuand dond como es son esta est en por para mi mis tu"
        " nuestr y lo se me"
        " der die das ein eine ist sind wa wie wo wer wann und im am zu von mein unser du ich wir es"
        " le les un une de du des est sont quel quell que qui ou quand comment mon ma mes notr et en au aux"
        " je tu nou vou il s his her which"
    )
)


def fold(text: str) -> str:
    """Lower case without accents: "Café Müller" -> "cafe muller" (ß -> ss)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """A folded word without its common ending: "keys" -> "key", "ninos" -> "nin", "kindern" -> "kind"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """The stemmed, folded words of text, in order (digits kept: codes and times are findable)."""
    return [stem(w) for w in _WORD.findall(fold(text))]


def terms(text: str) -> str:
    """What the full-text index stores for a fact: its stemmed words, space-separated."""
    return " ".join(words(text))


def match_query(text: str, limit: int = 16) -> str:
    """Free text as an FTS5 OR-query over stemmed words; never a syntax error, whatever the text."""
    seen: list[str] = []
    for w in words(text):
        if len(w) > 1 and w not in seen and w not in _STOP:
            seen.append(w)
    return " OR ".join(f'"{w}"' for w in seen[:limit]) or '""'
