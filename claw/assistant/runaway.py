"""Spotting a runaway answer while it streams: a tail that repeats itself, or text far past its limit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

LONGEST_UNIT = 200  # characters: a repeated unit longer than this is rambling, which the token limit ends
MIN_SPAN = 60  # characters the repetition must cover before it counts ("ha ha ha" is not a loop)
MIN_REPEATS = 3
CHARS_PER_TOKEN_CAP = 8  # a server that ignores the output limit is cut at this many characters per token
CHECK_EVERY = 32  # characters of new text between checks
TAIL = LONGEST_UNIT * MIN_REPEATS + MIN_SPAN  # characters kept for the check


def repeating_tail(text: str) -> bool:
    """True when `text` ends in one unit (1 to LONGEST_UNIT characters) said at least three times over."""
    tail = text[-(LONGEST_UNIT * MIN_REPEATS + MIN_SPAN) :]
    if not tail:
        return False
    last = tail[-1]
    # only a unit whose length separates two copies of the last character can repeat (cheap to find)
    units = [u for u in range(1, min(LONGEST_UNIT, len(tail) - 1) + 1) if tail[-1 - u] == last]
    for unit in units:
        repeats = max(MIN_REPEATS, -(-MIN_SPAN // unit))
        span = unit * repeats
        if span > len(tail):
            break  # units come in increasing order: longer ones need more text still
        piece = tail[-unit:]
        if not piece.strip():
            continue  # runs of spaces or newlines are layout, not a loop
        if tail[-span:] == piece * repeats:
            return True
    return False


WRITTEN_CALL_MAX = 4000  # characters: an answer longer than this is not one call written as text


def first_object_closed(text: str) -> bool:
    """True when `text` starts with a tool call written as a JSON object (bare or in a ```json fence) that has
    closed: the call is complete there, and what a small model writes after it is an invented result or more."""
    body = text.lstrip()
    if body.startswith("```"):
        body = body.partition("\n")[2].lstrip()
    if not body.startswith("{"):
        return False
    depth, quoted, escaped = 0, False, False
    for at, char in enumerate(body):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
        elif char == '"':
            quoted = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return _is_call(body[: at + 1])
    return False


def _is_call(text: str) -> bool:
    """A JSON object shaped like a tool call: {"name": …} or {"function": …} (not a tool's result echoed)."""
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and bool({"name", "function", "tool"} & data.keys())


@dataclass(slots=True)
class Watch:
    """Follows one streamed answer; `stop` says why it must end: cut ("repetition", "length"), or complete
    ("written": one tool call written as text has closed), or ""."""

    limit_tokens: int
    text: list[str] = field(default_factory=list)
    size: int = 0
    _checked: int = 0
    _tail: str = ""  # the last stretch of text, all the repetition check needs

    def add(self, piece: str) -> str:
        """Take the next piece of text; return why to stop now, or ""."""
        if not piece:
            return ""
        self.text.append(piece)
        self.size += len(piece)
        self._tail = (self._tail + piece)[-TAIL:]
        if self.size > self.limit_tokens * CHARS_PER_TOKEN_CAP:
            return "length"
        if "}" in piece and self.size < WRITTEN_CALL_MAX and first_object_closed(self.content()):
            return "written"
        if self.size - self._checked >= CHECK_EVERY:
            self._checked = self.size
            if repeating_tail(self._tail):
                return "repetition"
        return ""

    def content(self) -> str:
        return "".join(self.text)
