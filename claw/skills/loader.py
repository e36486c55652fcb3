"""Finding and loading skills: built-in folders first, the owner's after (theirs override by name).

Each skill folder is re-read only when one of its files changed (mtime and size), so a reload after
one edit costs one parse. A bad skill is listed with its problems; the others load anyway.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from claw.core.config import Config
from claw.core.secrets import secret
from claw.skills.format import Problem, Skill
from claw.skills.parse import SkillInvalid, read_skill
from claw.skills.python_driver import NOT_ALLOWED, DriverModuleError, Factory, import_factory

Signature = tuple[tuple[str, int, int], ...]
BUILTIN_SKILLS = Path(__file__).resolve().parent.parent / "builtin_skills"  # the repository's skills/


@dataclass(frozen=True, slots=True)
class Entry:
    """One SKILL.md as found: the skill (None when invalid), its problems, and whether it can run here."""

    name: str
    path: Path
    builtin: bool
    skill: Skill | None = None
    problems: tuple[Problem, ...] = ()
    reason: str = ""  # why it cannot run here; "" when it can
    overrides: str = ""  # the SKILL.md of the built-in it replaces
    factory: Factory | None = None  # a Python driver's create_driver

    @property
    def available(self) -> bool:
        return self.skill is not None and not self.reason

    def describe(self) -> dict[str, Any]:
        skill = self.skill
        return {
            "name": self.name,
            "description": skill.description if skill else "",
            "source": str(self.path),
            "builtin": self.builtin,
            "available": self.available,
            "reason": self.reason or ("has errors" if self.problems and skill is None else ""),
            "errors": [p.describe() for p in self.problems],
            "overrides": self.overrides,
            "routines": [r.name for r in skill.routines] if skill else [],
            "devices": bool(skill and skill.drives_devices),
            "pairing": list(skill.pairing.steps) if skill and skill.pairing else [],
        }


class Loader:
    """Loads the skills under `dirs` (the first `builtin` of them are the project's own)."""

    def __init__(
        self,
        dirs: Sequence[Path],
        *,
        builtin: int = 1,
        allow_python: Collection[str] = (),
        reserved: Collection[str] = (),
    ) -> None:
        self.dirs = list(dirs)
        self.builtin = builtin
        self.allow_python = frozenset(allow_python)
        self.reserved = frozenset(reserved)
        self._cache: dict[Path, tuple[Signature, Entry]] = {}
        self._seen: dict[Path, Signature] = {}

    def folders(self) -> list[tuple[Path, bool]]:
        """Every skill folder (one holding a SKILL.md), with whether it is built in, in load order."""
        out = []
        for index, root in enumerate(self.dirs):
            try:
                children = sorted(os.scandir(root), key=lambda d: d.name)
            except OSError:
                continue
            out += [(Path(d.path), index < self.builtin) for d in children if d.is_dir() and not d.name.startswith(".")]
        return out

    def scan(self) -> dict[Path, Signature]:
        """The signature of every skill folder: its files' names, mtimes and sizes (cheap: stat only)."""
        out: dict[Path, Signature] = {}
        for folder, _ in self.folders():
            try:
                files = tuple(
                    sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in os.scandir(folder) if f.is_file())
                )
            except OSError:
                continue
            if any(name == "SKILL.md" for name, _, _ in files):
                out[folder] = files
        return out

    def changed(self) -> bool:
        """True when a skill file was added, removed or edited since the last load."""
        return self.scan() != self._seen

    def load(self) -> list[Entry]:
        """Every skill, in load order, each with its problems; unchanged folders come from the cache."""
        signatures = self.scan()
        self._seen = signatures
        builtin_of = dict(self.folders())
        entries: list[Entry] = []
        for folder, signature in signatures.items():
            cached = self._cache.get(folder)
            if cached is not None and cached[0] == signature:
                entry = cached[1]
            else:
                entry = self._read(folder, builtin_of.get(folder, False))
                self._cache[folder] = (signature, entry)
            entries.append(entry)
        for folder in set(self._cache) - set(signatures):
            del self._cache[folder]
        return _mark_overrides(entries)

    def _read(self, folder: Path, builtin: bool) -> Entry:
        path = folder / "SKILL.md"
        try:
            skill = read_skill(path)
        except SkillInvalid as exc:
            return Entry(exc.name or folder.name, path, builtin, problems=tuple(exc.problems))
        if skill.name in self.reserved:
            problem = Problem(str(path), 2, "name", f"'{skill.name}' is a built-in driver's name; choose another")
            return Entry(skill.name, path, builtin, problems=(problem,))
        reason = missing_requirements(skill)
        if not reason and skill.driver == "python":
            if skill.name not in self.allow_python:
                reason = NOT_ALLOWED
            else:
                try:
                    factory = import_factory(skill)
                except DriverModuleError as exc:
                    return Entry(skill.name, path, builtin, problems=(exc.problem,))
                return Entry(skill.name, path, builtin, skill, skill.warnings, factory=factory)
        return Entry(skill.name, path, builtin, skill, skill.warnings, reason=reason)


def missing_requirements(skill: Skill) -> str:
    """Why this skill cannot run on this machine ("" when it can)."""
    for name in skill.requires.env:
        if not secret(name.lower(), name):
            return f"needs {name} (an environment variable, or the systemd credential {name.lower()})"
    for program in skill.requires.bins:
        if shutil.which(program) is None:
            return f"needs the program '{program}' on PATH"
    for module in skill.requires.python:
        if importlib.util.find_spec(module) is None:
            return f"needs the Python package '{module}'"
    return ""


def _mark_overrides(entries: list[Entry]) -> list[Entry]:
    """An owner's skill with a built-in's name replaces it; say which file it replaces."""
    builtin = {e.name: e for e in entries if e.builtin}
    return [
        replace(e, overrides=str(builtin[e.name].path)) if not e.builtin and e.name in builtin else e for e in entries
    ]


def effective(entries: Sequence[Entry]) -> dict[str, Entry]:
    """The entry in force per name: later folders win; an invalid file does not displace a valid one."""
    out: dict[str, Entry] = {}
    for entry in entries:
        if entry.skill is not None:
            out[entry.name] = entry
    return out


def skill_dirs(config: Config) -> list[Path]:
    """Built-in skills first; the owner's folders after, so theirs override by name."""
    return [BUILTIN_SKILLS, *(config.state_path / d for d in config.skills.dirs)]
