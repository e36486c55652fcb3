"""Structured decisions: the model's choice constrained to a JSON schema built from the live home.

The schema lists the actions Claw offers and the home's own device, room and kind names, so a small model
can only propose a well-formed intent; the intent becomes the same tool call any model would make, and
goes through the same grounding, target resolver, Guard and authority checks. The model never sees or
names a device id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.llm import ToolCall
from claw.assistant.llm_openai import parse_arguments
from claw.assistant.understanding import Vocabulary
from claw.home.capabilities import ALARM, BRIGHTNESS, LOCK, POSITION, SETPOINT, VOLUME

SETTINGS = tuple(c.key for c in (BRIGHTNESS, SETPOINT, POSITION, VOLUME, ALARM, LOCK))
HOME_TOOLS = {"turn_on_off", "set_value", "home_state", "run_routine"}  # what the schema's home actions become
GUIDANCE = (
    "Answer with one JSON decision. action: reply (just talk), turn_on, turn_off, set (a setting to a value), "
    "check (read the live state), run_routine, or use_tool (another tool, with its arguments). device, room, "
    'kind: exactly as the home names them, or "" when the owner did not say. text: your short reply to the '
    "owner. Act only on what the owner asked; if unsure which device, reply with a question."
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What a decision amounts to: tool calls to make, or a reply to say (or neither: unreadable)."""

    calls: tuple[ToolCall, ...] = ()
    text: str = ""
    readable: bool = True


def schema(home: Vocabulary, tools: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of one decision for this home; other tools are offered through use_tool."""
    actions = ["reply", "turn_on", "turn_off", "set", "check"]
    routines = sorted({r.name for r in home.routines})
    others = sorted(set(tools) - HOME_TOOLS)
    if routines:
        actions.append("run_routine")
    if others:
        actions.append("use_tool")
    props: dict[str, Any] = {
        "action": {"type": "string", "enum": actions},
        "device": {"type": "string", "enum": ["", *sorted({e.name for e in home.entities})]},
        "room": {"type": "string", "enum": ["", *sorted({a.name for a in home.areas})]},
        "kind": {"type": "string", "enum": ["", *sorted({e.kind for e in home.entities})]},
        "text": {"type": "string"},
        "setting": {"type": "string", "enum": ["", *SETTINGS]},
        "value": {"anyOf": [{"type": "number"}, {"type": "string"}]},
    }
    if routines:
        props["routine"] = {"type": "string", "enum": routines}
    if others:
        props["tool"] = {"type": "string", "enum": others}
        props["arguments"] = {"type": "object"}
    return {"type": "object", "properties": props, "required": ["action", "device", "room", "kind", "text"]}


def tools_note(schemas: Sequence[Mapping[str, Any]]) -> str:
    """The tools outside the home actions, one line each, for use_tool (kept short: it is in every prompt)."""
    lines = []
    for s in schemas:
        function = s.get("function") or {}
        name = str(function.get("name") or "")
        if name and name not in HOME_TOOLS:
            args = ", ".join((function.get("parameters") or {}).get("properties") or {})
            lines.append(f"- {name}({args}): {str(function.get('description') or '')[:120]}")
    return "Tools for use_tool:\n" + "\n".join(lines) if lines else ""


def read(content: str, known_tools: Sequence[str]) -> Decision:
    """The decision in a model's answer; unreadable when it is not one (then the answer is taken as text)."""
    if "{" not in content:
        return Decision(readable=False)
    data = parse_arguments(content)
    action = str(data.get("action") or "").strip().lower()
    if not action:
        return Decision(readable=False)
    text = str(data.get("text") or "").strip()
    target = {k: str(data.get(f) or "").strip() for k, f in (("name", "device"), ("room", "room"), ("kind", "kind"))}
    target = {k: v for k, v in target.items() if v}
    call: ToolCall | None = None
    if action in ("turn_on", "turn_off") and target:
        call = ToolCall("turn_on_off", {"on": action == "turn_on", **target})
    elif action == "set" and target and data.get("setting") and data.get("value") not in (None, ""):
        call = ToolCall("set_value", {"setting": data["setting"], "value": data["value"], **target})
    elif action == "check":
        call = ToolCall("home_state", target)
    elif action == "run_routine" and data.get("routine"):
        call = ToolCall("run_routine", {"name": str(data["routine"])})
    elif action == "use_tool" and str(data.get("tool") or "") in known_tools:
        arguments = data.get("arguments")
        call = ToolCall(str(data["tool"]), arguments if isinstance(arguments, dict) else {})
    if call is not None and call.name in known_tools:
        return Decision(calls=(call,), text=text)
    return Decision(text=text)  # a reply, or an action Claw cannot carry out as said: its words are the answer
