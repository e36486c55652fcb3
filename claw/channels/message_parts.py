"""Outgoing message text for every channel: long replies split cleanly into numbered parts, short titles."""

from __future__ import annotations

import re

BODY_LIMIT = 1600  # Twilio refuses longer bodies (error 21617)
TITLE_LIMIT = 100
_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)\s")


def split_body(text: str, limit: int = BODY_LIMIT) -> list[str]:
    """Split `text` into parts of at most `limit` characters, marked "(1/3)", cutting at the cleanest place."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    # Reserve room for the marker; recount once if there turn out to be 10 or more parts.
    for reserve in (len(" (9/9)"), len(" (99/99)"), len(" (999/999)")):
        pieces = _pieces(text, limit - reserve)
        n = len(pieces)
        if len(f" ({n}/{n})") <= reserve:
            return [f"{piece} ({i}/{n})" for i, piece in enumerate(pieces, start=1)]
    raise ValueError("text too long to split")


def _pieces(text: str, size: int) -> list[str]:
    pieces: list[str] = []
    rest = text
    while len(rest) > size:
        cut = _cut(rest, size)
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces


def _cut(text: str, size: int) -> int:
    """Where to cut `text` so the first part fits in `size`: paragraph, line, sentence, word, else hard."""
    window = text[: size + 1]  # a boundary right at `size` still counts
    floor = size // 3  # never cut so early that parts become tiny
    for sep in ("\n\n", "\n"):
        at = window.rfind(sep, floor, size + 1)
        if at > 0:
            return at + len(sep)
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if floor <= m.end() <= size + 1]
    if ends:
        return ends[-1]
    at = max(window.rfind(" ", floor, size + 1), window.rfind("\t", floor, size + 1))
    if at > 0:
        return at + 1
    return size


def title_of(text: str, title: str = "") -> str:
    """A one-line title for a template variable: the given title, else the first sentence, shortened."""
    source = title.strip() or text.strip()
    line = " ".join(source.split())  # templates refuse newlines and runs of spaces
    if not title.strip():
        match = _SENTENCE_END.search(line + " ")
        if match:
            line = line[: match.end()].strip()
    if len(line) > TITLE_LIMIT:
        cut = line.rfind(" ", 0, TITLE_LIMIT - 1)
        line = line[: cut if cut > TITLE_LIMIT // 2 else TITLE_LIMIT - 1].rstrip(" ,;:") + "…"
    return line or "New message"
