"""The owner's own words for a grammar's free-text slot, which the matcher saw lower-cased and typo-corrected."""

from __future__ import annotations

import difflib

from claw.assistant.understanding.normalise import strip_symbols

ALIKE = 0.6  # a word the typo corrector changed ("kinder" -> "keiner") is still this alike to what was typed


def own_words(value: str, said: str, *, to_end: bool = False) -> str:
    """The words of `said` that `value` (a wildcard as the grammar saw it) came from, as typed; else `value`.

    "die Kinder um 8 schlafen" for "die keiner um 8 schlafen": a wildcard is a run of the message's words, each
    the same or a typo correction of it, so the run is found word by word. `to_end`: the slot ends the sentence,
    so the words after the run are the owner's too (the grammar may have read "at 9" as a time, "please" as filler).
    """
    wanted = value.split()
    words = strip_symbols(said).split()
    if not wanted or len(words) < len(wanted):
        return value
    best: tuple[float, int] | None = None
    for start in range(len(words) - len(wanted) + 1):
        run = [w.strip("¿¡?!.,;:").lower() for w in words[start : start + len(wanted)]]
        scores = [
            1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio() for a, b in zip(run, wanted, strict=True)
        ]
        if min(scores) >= ALIKE and (best is None or sum(scores) > best[0]):
            best = (sum(scores), start)
    if best is None:
        return value
    run = words[best[1] :] if to_end else words[best[1] : best[1] + len(wanted)]
    return " ".join(run).strip("?!.,;:")
