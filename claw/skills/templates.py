"""Small templates: `{txt.id}`, `{info.name|txt.name|'Plug'}`, `{rooms[item.owner.rid]}` — no code, no filters.

A placeholder is a brace holding one or more alternatives separated by `|`; the first that is neither
missing, null nor empty wins. Braces that do not fit this grammar (Jinja's `{{ x }}`, JSON) stay text.
A string that is exactly one placeholder keeps the value's type (a number stays a number in a body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from claw.skills.paths import MISSING

_REF = r"[A-Za-z_]\w*(?:\.\w+|\[[^\[\]{}'\"\s]*\])*"
_LIT = r"'[^'{}]*'"
_ALT = rf"(?:{_REF}|{_LIT})"
PLACEHOLDER = re.compile(rf"\{{({_ALT}(?:\|{_ALT})*)\}}")
_SEGMENT = re.compile(r"\.(\w+)|\[([^\[\]]*)\]")
_ROOT = re.compile(r"[A-Za-z_]\w*")


class TemplateError(ValueError):
    """A template cannot be read."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A name and the steps into it: `item.owner.rid`, `lights[0]`, `rooms[item.id]`."""

    text: str
    root: str
    steps: tuple[str | int | Ref, ...]

    def resolve(self, scope: Mapping[str, Any]) -> Any:
        node = scope.get(self.root, MISSING)
        for step in self.steps:
            key = step.resolve(scope) if isinstance(step, Ref) else step
            node = _index(node, key)
            if node is MISSING:
                return MISSING
        return node

    def names(self) -> Iterator[str]:
        """Every root name this reference reads (its own and those inside brackets)."""
        yield self.root
        for step in self.steps:
            if isinstance(step, Ref):
                yield from step.names()


@dataclass(frozen=True, slots=True)
class Placeholder:
    text: str
    options: tuple[Ref | str, ...]  # a str is a quoted literal

    def value(self, scope: Mapping[str, Any]) -> Any:
        """The first alternative that is present and not empty; None when none is."""
        for option in self.options:
            value = option if isinstance(option, str) else option.resolve(scope)
            if value is not MISSING and value is not None and value != "":
                return value
        return None


@dataclass(frozen=True, slots=True)
class Template:
    """Text with placeholders, compiled once at load time."""

    text: str
    parts: tuple[str | Placeholder, ...]

    @property
    def single(self) -> Placeholder | None:
        """The placeholder when the whole text is exactly one (its value keeps its type)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Placeholder):
            return self.parts[0]
        return None

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    def refs(self) -> Iterator[Ref]:
        for part in self.parts:
            if isinstance(part, Placeholder):
                yield from (o for o in part.options if isinstance(o, Ref))

    def value(self, scope: Mapping[str, Any]) -> Any:
        """Typed when the text is one placeholder, else the rendered string."""
        single = self.single
        return single.value(scope) if single is not None else self.render(scope)

    def render(self, scope: Mapping[str, Any], escape: Callable[[str], str] | None = None) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                text = to_text(part.value(scope))
                out.append(escape(text) if escape is not None else text)
        return "".join(out)


def _index(node: Any, key: Any) -> Any:
    """node[key] for a JSON object (keys as text) or list (an int or digits), MISSING otherwise."""
    if key is MISSING or key is None or node is MISSING or node is None:
        return MISSING
    if isinstance(node, Mapping):
        return node.get(key if isinstance(key, str) else to_text(key), MISSING)
    if isinstance(node, list):
        text = str(key)
        if isinstance(key, int) or text.lstrip("-").isdigit():
            index = int(text)
            return node[index] if -len(node) <= index < len(node) else MISSING
    return MISSING


def compile_template(text: str) -> Template:
    """Split text into literal parts and placeholders; raises TemplateError on a malformed reference."""
    parts: list[str | Placeholder] = []
    pos = 0
    for match in PLACEHOLDER.finditer(text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        options = tuple(_option(o) for o in match.group(1).split("|"))
        parts.append(Placeholder(match.group(0), options))
        pos = match.end()
    if pos < len(text) or not parts:
        parts.append(text[pos:])
    return Template(text, tuple(parts))


def literal(text: str) -> Template:
    """A template with no placeholders."""
    return Template(text, (text,))


def _option(text: str) -> Ref | str:
    if text.startswith("'"):
        return text[1:-1]
    return parse_ref(text)


def parse_ref(text: str) -> Ref:
    root = _ROOT.match(text)
    if root is None:
        raise TemplateError(f"{text!r} is not a name")
    steps: list[str | int | Ref] = []
    pos = root.end()
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None:
            raise TemplateError(f"cannot read {text!r} from {text[pos:]!r}")
        key, inner = match.groups()
        if key is not None:
            steps.append(int(key) if key.isdigit() else key)
        elif inner.lstrip("-").isdigit():
            steps.append(int(inner))
        elif inner:
            steps.append(parse_ref(inner))
        else:
            raise TemplateError(f"{text!r} has empty brackets")
        pos = match.end()
    return Ref(text, root.group(0), tuple(steps))


def to_text(value: Any) -> str:
    """How a value reads inside text: JSON for booleans and structures, 21 not 21.0, '' for nothing."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# A shape is a body or query: nested dicts and lists whose strings are templates.
Shape = Any


def compile_shape(data: Any) -> Shape:
    """Compile every string in a nested structure; keys stay plain."""
    if isinstance(data, str):
        template = compile_template(data)
        return data if template.is_literal else template
    if isinstance(data, Mapping):
        return {str(k): compile_shape(v) for k, v in data.items()}
    if isinstance(data, list):
        return [compile_shape(v) for v in data]
    return data


def render_shape(shape: Shape, scope: Mapping[str, Any]) -> Any:
    if isinstance(shape, Template):
        return shape.value(scope)
    if isinstance(shape, dict):
        return {k: render_shape(v, scope) for k, v in shape.items()}
    if isinstance(shape, list):
        return [render_shape(v, scope) for v in shape]
    return shape


def shape_templates(shape: Shape) -> Iterator[Template]:
    if isinstance(shape, Template):
        yield shape
    elif isinstance(shape, dict):
        for v in shape.values():
            yield from shape_templates(v)
    elif isinstance(shape, list):
        for v in shape:
            yield from shape_templates(v)
