"""A small JSON path: `$`, `$.a.b`, `$['switch:0']`, `$.lights[0].on`, `$.data[*].id` — read, and write for fakes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"""\.([A-Za-z_][\w\-]*)|\[(-?\d+)\]|\[\*\]|\['([^']*)'\]|\["([^"]*)"\]""")


class PathError(ValueError):
    """The text is not a JSON path this project understands."""


class _Missing:
    """Nothing at that path (distinct from a JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path: steps are a key (str), an index (int) or a wildcard (None)."""

    text: str
    steps: tuple[str | int | None, ...]

    @property
    def has_wildcard(self) -> bool:
        return any(step is None for step in self.steps)

    def get(self, doc: Any) -> Any:
        """The value at this path (a list of matches when it has a wildcard), MISSING when absent."""
        if self.has_wildcard:
            return list(self.all(doc))
        node = doc
        for step in self.steps:
            node = _step(node, step)
            if node is MISSING:
                return MISSING
        return node

    def all(self, doc: Any) -> Iterator[Any]:
        """Every value the path reaches; a wildcard fans out over a list's items or a mapping's values."""
        yield from _walk(doc, self.steps)

    def put(self, doc: Any, value: Any) -> Any:
        """Write `value` at this path in `doc`, creating objects and lists on the way; returns the new root."""
        if self.has_wildcard:
            raise PathError(f"{self.text}: cannot write through a wildcard")
        if not self.steps:
            return value
        root = doc if doc is not None else ([] if isinstance(self.steps[0], int) else {})
        node = root
        for step, following in zip(self.steps, (*self.steps[1:], MISSING), strict=True):
            last = following is MISSING
            blank: Any = [] if isinstance(following, int) else {}
            if isinstance(step, int):
                if not isinstance(node, list):
                    raise PathError(f"{self.text}: expected a list at [{step}]")
                while len(node) <= step:
                    node.append(None)
                if last:
                    node[step] = value
                else:
                    if node[step] is None:
                        node[step] = blank
                    node = node[step]
            else:
                if not isinstance(node, dict):
                    raise PathError(f"{self.text}: expected an object at .{step}")
                if last:
                    node[str(step)] = value
                else:
                    node = node.setdefault(str(step), blank)
        return root


def parse_path(text: str) -> JsonPath:
    """Parse `$...`; raises PathError naming what is wrong."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathError(f"{text!r} is not a JSON path (it must start with '$', e.g. $.state.on)")
    steps: list[str | int | None] = []
    pos = 1
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise PathError(f"{text!r}: cannot read the path from {text[pos:]!r} (use .key, [0], [*] or ['key'])")
        key, index, quoted, dquoted = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None or dquoted is not None:
            steps.append(quoted if quoted is not None else dquoted)
        else:
            steps.append(None)
        pos = match.end()
    return JsonPath(text, tuple(steps))


def _step(node: Any, step: str | int | None) -> Any:
    if isinstance(step, int):
        if isinstance(node, list) and -len(node) <= step < len(node):
            return node[step]
        return MISSING
    if isinstance(node, dict) and step in node:
        return node[step]
    return MISSING


def _walk(node: Any, steps: tuple[str | int | None, ...]) -> Iterator[Any]:
    if not steps:
        yield node
        return
    step, rest = steps[0], steps[1:]
    if step is None:
        children = node if isinstance(node, list) else list(node.values()) if isinstance(node, dict) else []
        for child in children:
            yield from _walk(child, rest)
        return
    child = _step(node, step)
    if child is not MISSING:
        yield from _walk(child, rest)
