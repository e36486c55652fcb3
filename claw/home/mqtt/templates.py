"""The small part of Jinja that discovery payloads use: `{{ value_json.state }}`, `{{ value | int }}`.

Anything richer is refused when the device is discovered (with the reason logged), never evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_WHOLE = re.compile(r"^\s*\{\{\s*(?P<expr>.+?)\s*\}\}\s*$")
_PATH = re.compile(r"^value(_json((\.[A-Za-z_][A-Za-z0-9_]*)|(\[\s*('[^']*'|\"[^\"]*\"|\d+)\s*\]))*)?$")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^']*)'|\"([^\"]*)\"|(\d+))\s*\]")
_FILTER = re.compile(r"^(int|float|string|lower|upper|round(\(\s*\d+\s*\))?|default\((.*)\))$")

MISSING = object()  # the template asked for a key the payload lacks: no new reading


class TemplateError(ValueError):
    """A template outside the supported subset."""


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled value template: the path into the payload and the filters after it."""

    source: str
    steps: tuple[str | int, ...] | None  # None: the raw payload text
    filters: tuple[Callable[[Any], Any], ...]

    def render(self, payload: str) -> Any:
        """The value this template picks from a message, or MISSING."""
        if self.steps is None:
            value: Any = payload
        else:
            try:
                value = json.loads(payload)
            except ValueError:
                return MISSING
            for step in self.steps:
                if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
                    value = value[step]
                elif isinstance(value, dict) and str(step) in value:
                    value = value[str(step)]
                else:
                    return MISSING
        for apply in self.filters:
            try:
                value = apply(value)
            except (TypeError, ValueError):
                return MISSING
        return value


def compile_template(source: str | None) -> Template | None:
    """Compile `{{ value_json.a.b | int }}`; raise TemplateError for anything else."""
    if source is None or source == "":
        return None
    if not isinstance(source, str):
        raise TemplateError(f"a template must be text, not {type(source).__name__}")
    match = _WHOLE.match(source)
    if match is None:
        raise TemplateError(f"template {source[:60]!r} is not a single {{{{ value... }}}} expression")
    head, *filters = [part.strip() for part in match["expr"].split("|")]
    if not _PATH.match(head):
        raise TemplateError(f"template {source[:60]!r} reads something other than value or value_json")
    steps: tuple[str | int, ...] | None = None
    if head.startswith("value_json"):
        steps = tuple(
            int(m[4]) if m[4] is not None else (m[1] or m[2] or m[3] or "")
            for m in _STEP.finditer(head[len("value_json") :])
        )
    return Template(source, steps, tuple(_filter(f, source) for f in filters))


def _filter(text: str, source: str) -> Callable[[Any], Any]:
    match = _FILTER.match(text)
    if match is None:
        raise TemplateError(f"template {source[:60]!r} uses the filter {text!r}, which Claw does not evaluate")
    name = match[1].split("(")[0]
    if name == "int":
        return lambda v: int(float(v))
    if name == "float":
        return float
    if name == "string":
        return str
    if name == "lower":
        return lambda v: str(v).lower()
    if name == "upper":
        return lambda v: str(v).upper()
    if name == "round":
        digits = int(match[2].strip("() ")) if match[2] else 0
        return lambda v: round(float(v), digits)
    return lambda v: v  # default(...): a missing key is already "no new reading"


_EXPR = re.compile(r"\{\{(.*?)\}\}")
_COMMAND_VALUE = re.compile(r"^\s*value\s*(\|\s*(int|float|string)\s*)?$")


def compile_command(source: str | None) -> Callable[[str], str] | None:
    """A command template that places the value in fixed text: `{"state": "{{ value }}"}`; else TemplateError."""
    if source is None or source == "":
        return None
    if not isinstance(source, str):
        raise TemplateError(f"a template must be text, not {type(source).__name__}")
    found = _EXPR.findall(source)
    if "{%" in source or len(found) != 1 or not _COMMAND_VALUE.match(found[0]):
        raise TemplateError(f"command template {source[:60]!r} does more than place {{{{ value }}}} in text")
    whole = "{{" + found[0] + "}}"
    return lambda value: source.replace(whole, value)
