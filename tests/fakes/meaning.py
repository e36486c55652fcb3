"""A scripted embedding by meaning: words of one concept (in any of four languages) share a direction.

The scripted model servers' default embedding is a hashed bag of words (texts sharing words point alike);
this one also makes paraphrases point alike, so tests can check that recall by meaning finds what the
keyword leg cannot ("guest wifi password" -> "the network for visitors ... code 4242"). It is a stand-in
for a real embedding model's behaviour, not a measurement of one.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable

SIZE = 256


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Meaning:
    """text -> unit vector; words in one concept group vote for the same slot, other words hash alone."""

    def __init__(self, concepts: Iterable[Iterable[str]], size: int = SIZE) -> None:
        self.size = size
        self.concept: dict[str, int] = {}
        for index, words in enumerate(concepts):
            for word in words:
                self.concept[_fold(word)] = index

    def slot(self, word: str) -> tuple[int, float]:
        index = self.concept.get(word)
        if index is None:  # a prefix of 5+ letters finds inflections ("sleeps", "sleeping")
            index = next((i for w, i in self.concept.items() if len(w) >= 5 and word.startswith(w)), None)
        if index is not None:
            return index % self.size, 2.0
        digest = hashlib.sha256(word.encode()).digest()
        return digest[0] % self.size, 0.5

    def __call__(self, text: str, dimensions: int = 0) -> list[float]:
        vector = [0.0] * self.size
        for word in re.findall(r"\w+", _fold(text)):
            slot, weight = self.slot(word)
            vector[slot] += weight
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


HOUSEHOLD_CONCEPTS = [
    ("wifi", "network", "internet", "wlan", "red", "réseau", "reseau", "netz", "netzwerk"),
    (
        "password",
        "code",
        "passcode",
        "pin",
        "contraseña",
        "clave",
        "passwort",
        "kennwort",
        "mot de passe",
        "motdepasse",
    ),
    (
        "guest",
        "guests",
        "visitor",
        "visitors",
        "invitados",
        "invitado",
        "visitas",
        "gäste",
        "gast",
        "besucher",
        "invités",
    ),
    ("key", "keys", "llave", "llaves", "schlüssel", "clé", "clés", "cle", "cles"),
    ("spare", "extra", "backup", "repuesto", "ersatz", "secours", "double"),
    ("kids", "children", "niños", "ninos", "hijos", "kinder", "enfants", "kid", "child"),
    ("sleep", "bed", "bedtime", "duermen", "dormir", "acostarse", "schlafen", "bett", "dorment", "coucher"),
    ("dentist", "dentista", "zahnarzt", "dentiste"),
    ("bins", "trash", "garbage", "rubbish", "basura", "müll", "mull", "poubelles", "poubelle"),
]
