"""The model's window on skills: each skill's guide, by name (the overview lists the skills)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from claw.assistant.toolbox import Tool


def skill_guide(guide: Callable[[str], Awaitable[str]]) -> Tool:
    """`skill_guide(name)`: how to use a skill, from its SKILL.md body."""
    return Tool(
        "skill_guide",
        "How to use a skill (its guide), by name; the skills are listed in the home overview.",
        {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": False,
        },
        guide,
    )
