"""Cases as data: `cases/*.yaml`, one file per theme and language."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent / "cases"
EXPECTS = ("act", "ask", "code", "defer", "answer", "schedule")
KEYS = {"text", "expect", "effects", "contains", "before", "given", "grammar", "also", "note", "job_contains", "needs"}
KEYS |= {"small_talk"}  # a greeting or thanks: answered, but no question about the house
NEEDS = ("cameras",)  # what the demo must run for the case to be scored (else it is not run, and said)


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    file: str
    lang: str
    theme: str
    text: str
    expect: str
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)
    contains: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    given: dict[str, dict[str, Any]] = field(default_factory=dict)
    grammar: bool = True
    also: tuple[str, ...] = ()  # other outcomes that count as correct ("deferred", "asked")
    note: str = ""
    job_contains: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    small_talk: bool = False  # counted apart from the state questions (issue 20's "answered without the model")


def _keys(values: Any) -> dict[str, Any]:
    """YAML 1.1 reads a bare `on:` key as True: give the state key its name back."""
    return {("on" if k is True else "off" if k is False else str(k)): v for k, v in dict(values).items()}


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def load(directory: Path = CASES_DIR, device_names: set[str] | None = None) -> list[Case]:
    """Every case, checked: a mistake in a case file stops the run with the file and the case."""
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        lang, theme = str(doc.get("lang", "en")), str(doc.get("theme", path.stem))
        default_grammar = bool(doc.get("grammar", True))
        for i, raw in enumerate(doc.get("cases") or []):
            where = f"{path.name} case {i + 1} ({raw.get('text', '?')!r})"
            unknown = set(raw) - KEYS
            if unknown:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
            expect = raw.get("expect")
            if expect not in EXPECTS:
                raise ValueError(f"{where}: expect must be one of {EXPECTS}, not {expect!r}")
            needs = _strings(raw.get("needs", doc.get("needs")))
            if set(needs) - set(NEEDS):
                raise ValueError(f"{where}: needs must be among {NEEDS}, not {needs}")
            effects = raw.get("effects") or {}
            if expect == "act" and not effects:
                raise ValueError(f"{where}: expect act needs effects")
            if expect != "act" and effects:
                raise ValueError(f"{where}: effects only go with expect act")
            for name in [*effects, *(raw.get("given") or {})]:
                if device_names is not None and name not in device_names:
                    raise ValueError(f"{where}: no device called {name!r} in the demo house")
            cases.append(
                Case(
                    id=f"{path.stem}:{i + 1}",
                    file=path.name,
                    lang=str(raw.get("lang", lang)),
                    theme=theme,
                    text=str(raw["text"]),
                    expect=str(expect),
                    effects={str(k): _keys(v) for k, v in effects.items()},
                    contains=_strings(raw.get("contains")),
                    before=_strings(raw.get("before")),
                    given={str(k): _keys(v) for k, v in (raw.get("given") or {}).items()},
                    grammar=bool(raw.get("grammar", default_grammar)),
                    also=_strings(raw.get("also")),
                    note=str(raw.get("note", "")),
                    job_contains=_strings(raw.get("job_contains")),
                    needs=needs,
                    small_talk=bool(raw.get("small_talk", doc.get("small_talk", False))),
                )
            )
    return cases


def select(cases: list[Case], *, only: str = "", lang: str = "", limit: int = 0) -> list[Case]:
    """`only`: a glob or substring over the id, file, theme or text; `lang`: comma-separated languages."""
    out = cases
    if lang:
        langs = {x.strip() for x in lang.split(",") if x.strip()}
        out = [c for c in out if c.lang in langs]
    if only:
        pat = only.lower()

        def hit(c: Case) -> bool:
            fields = (c.id.lower(), c.file.lower(), c.theme.lower(), c.text.lower())
            return any(fnmatch.fnmatch(f, pat) or pat in f for f in fields)

        out = [c for c in out if hit(c)]
    return out[:limit] if limit else out
