"""Reading untyped YAML into typed values while collecting every mistake with its field path."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from claw.skills.paths import JsonPath, PathError, parse_path
from claw.skills.templates import Template, TemplateError, compile_template

FieldPath = tuple[str | int, ...]
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(slots=True)
class Checker:
    """Collects (path, message, at_key) for every mistake; callers carry on with a best guess."""

    problems: list[tuple[FieldPath, str, bool]] = field(default_factory=list)

    def error(self, path: FieldPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append((path, message, at_key))

    def mapping(
        self, value: Any, path: FieldPath, known: Collection[str] | None = None, *, what: str = "a mapping"
    ) -> dict[str, Any]:
        """`value` as a dict ({} after an error); unknown keys are reported with a suggestion."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"must be {what}, not {_kind(value)}")
            return {}
        out = {str(k): v for k, v in value.items()}
        if known is not None:
            for key in out:
                if key not in known:
                    self.error((*path, key), unknown_key(key, known), at_key=True)
        return out

    def table(self, value: Any, path: FieldPath) -> dict[Any, Any]:
        """A value map as written: its keys keep their YAML types (1, true, "ON")."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"must be a mapping of values, not {_kind(value)}")
            return {}
        return dict(value)

    def items(self, value: Any, path: FieldPath) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"must be a list, not {_kind(value)}")
            return []
        return value

    def string(self, value: Any, path: FieldPath, *, required: bool = False, default: str = "") -> str:
        if value is None:
            if required:
                self.error(path, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(path, f"must be text, not {_kind(value)}")
            return default
        text = str(value).strip()
        if required and not text:
            self.error(path, "must not be empty")
        return text

    def choice(self, value: Any, path: FieldPath, options: Iterable[str], default: str) -> str:
        options = tuple(options)
        if value is None:
            return default
        text = str(value)
        if text not in options:
            self.error(path, f"must be one of {', '.join(options)}, not {value!r}")
            return default
        return text

    def number(self, value: Any, path: FieldPath, default: float, *, positive: bool = False) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, f"must be a number, not {_kind(value)}")
            return default
        if positive and value <= 0:
            self.error(path, "must be more than 0")
            return default
        return float(value)

    def boolean(self, value: Any, path: FieldPath, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(path, f"must be true or false, not {value!r}")
            return default
        return value

    def strings(self, value: Any, path: FieldPath) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        out = []
        for i, item in enumerate(self.items(value, path)):
            text = self.string(item, (*path, i), required=True)
            if text:
                out.append(text)
        return tuple(out)

    def env_names(self, value: Any, path: FieldPath) -> tuple[str, ...]:
        names = self.strings(value, path)
        for i, name in enumerate(names):
            if not ENV_NAME.match(name):
                self.error((*path, i), f"{name!r} is not an environment variable name (like HASS_TOKEN)")
        return names

    def path(self, value: Any, where: FieldPath, *, wildcard: bool = False) -> JsonPath | None:
        if value is None:
            return None
        try:
            parsed = parse_path(value)
        except PathError as exc:
            self.error(where, str(exc))
            return None
        if parsed.has_wildcard and not wildcard:
            self.error(where, f"{value!r}: a wildcard [*] is allowed only in `each` and lookup keys")
        return parsed

    def template(self, value: Any, path: FieldPath, roots: Collection[str], *, default: str = "") -> Template:
        text = default if value is None else value
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            self.error(path, f"must be text, not {_kind(text)}")
            text = default
        try:
            template = compile_template(str(text))
        except TemplateError as exc:
            self.error(path, str(exc))
            return compile_template("")
        self.check_roots(template, path, roots)
        return template

    def check_roots(self, template: Template, path: FieldPath, roots: Collection[str]) -> None:
        for ref in template.refs():
            for name in ref.names():
                if name not in roots:
                    known = ", ".join(sorted(roots)) or "none"
                    self.error(path, f"{{{ref.text}}} uses '{name}', which is not known here (known: {known})")


def unknown_key(key: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(sorted(known))})"
    if key in ("url", "host", "base_url", "hostname", "address"):
        hint = "; requests go only to the device Claw found: give a `path` starting with '/'"
    return f"unknown key '{key}'{hint}"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: f"the text {value!r}",
        bool: f"{value!r}".lower(),
        int: f"the number {value}",
        float: f"the number {value}",
    }.get(type(value), type(value).__name__)
