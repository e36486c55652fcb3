"""A SKILL.md as text: the frontmatter split from the body, parsed fast, and field paths mapped to lines."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster
_BOOL = "tag:yaml.org,2002:bool"


class _Loader(_Base):  # type: ignore[misc]
    """YAML 1.2 booleans: only true/false; `on`, `off`, `yes` and `no` stay text (capability keys, states)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

FieldPath = Sequence[str | int]


class FrontmatterError(ValueError):
    """The file has no usable frontmatter; `line` is where (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


@dataclass(slots=True)
class Source:
    """One SKILL.md: its YAML (first line number in the file), its body, and node marks on demand."""

    yaml_text: str
    first_line: int  # the file line of the YAML's first line (2: right after the opening ---)
    body: str
    _root: Any = field(default=None, repr=False)

    def data(self) -> Any:
        """The parsed frontmatter; raises FrontmatterError with the file line on a YAML mistake."""
        try:
            loader = _Loader(self.yaml_text)
            try:
                node = loader.get_single_node()
                self._root = node
                return loader.construct_document(node) if node is not None else {}
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = self.first_line + (mark.line if mark is not None else 0)
            raise FrontmatterError(line, f"the YAML cannot be read: {exc.problem or exc}") from None
        except yaml.YAMLError as exc:
            raise FrontmatterError(self.first_line, f"the YAML cannot be read: {exc}") from None

    def line_of(self, path: FieldPath, *, key: bool = False) -> int:
        """The file line of the deepest node on `path` (the key's line when `key`), 1-based."""
        node = self._root
        line = node.start_mark.line if node is not None else 0
        for i, step in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, yaml.MappingNode):
                pair = next((p for p in node.value if getattr(p[0], "value", None) == str(step)), None)
                if pair is None:
                    break
                line = (pair[0] if key and last else pair[1]).start_mark.line
                node = pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line
            else:
                break
        return self.first_line + line


def split(text: str) -> Source:
    """Separate the `---` frontmatter from the Markdown body."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise FrontmatterError(1, "a SKILL.md starts with a '---' line, then YAML, then another '---' line")
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return Source("\n".join(lines[1:index]), 2, "\n".join(lines[index + 1 :]).strip())
    raise FrontmatterError(len(lines), "the frontmatter has no closing '---' line")


def dotted(path: FieldPath) -> str:
    """('claw', 'routines', 0, 'name') -> 'claw.routines[0].name'."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def undotted(text: str) -> list[str | int]:
    """'claw.routines[0].actions[1].kind' -> ['claw', 'routines', 0, 'actions', 1, 'kind']."""
    out: list[str | int] = []
    for part in text.replace("]", "").split("."):
        name, *indices = part.split("[")
        if name:
            out.append(name)
        out.extend(int(i) for i in indices if i.isdigit())
    return out
