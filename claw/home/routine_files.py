"""Routines declared in skill files (skills/<name>/SKILL.md, `claw: routines:` in the frontmatter)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from claw.home.routines import Routine, RoutineError, parse_routine

log = logging.getLogger(__name__)


def frontmatter(path: Path) -> dict[str, Any]:
    """The YAML between the leading '---' lines of a SKILL.md ({} when there is none)."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        raise ValueError(f"{path}: frontmatter has no closing '---'")
    data = yaml.safe_load(text[3:end]) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: frontmatter must be a mapping")
    return data


def load_routine_files(dirs: Iterable[Path]) -> list[Routine]:
    """Every routine from every skill folder; a later folder's routine replaces one of the same name."""
    by_name: dict[str, Routine] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for skill in sorted(folder.glob("*/SKILL.md")):
            try:
                block = frontmatter(skill).get("claw") or {}
                for i, item in enumerate(block.get("routines") or []):
                    routine = parse_routine(item, source=str(skill), where=f"claw.routines[{i}]")
                    by_name[routine.name.lower()] = routine
            except (OSError, ValueError, yaml.YAMLError, RoutineError) as exc:
                log.warning("skipping routines in %s: %s", skill, exc)
    return list(by_name.values())
