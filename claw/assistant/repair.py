"""Accept what small local models really emit: stringified JSON, empty values, tool calls as text."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from claw.assistant.llm import ToolCall

_JSON_BLOCK = re.compile(r"```(?:json|tool_call)?\s*(.*?)```", re.S)
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


def repair_arguments(arguments: Mapping[str, Any] | str | None, schema: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce a model's arguments towards the schema; what cannot be fixed is left for validation."""
    args = _as_dict(arguments)
    props: Mapping[str, Any] = schema.get("properties", {})
    if len(args) == 1 and not props.keys() & args.keys():  # {"arguments": {...}} or {"params": "..."}
        (only,) = args.values()
        inner = _as_dict(only) if isinstance(only, dict | str) else {}
        if inner and inner.keys() <= props.keys():
            args = inner
    required = set(schema.get("required", ()))
    out: dict[str, Any] = {}
    for key, value in args.items():
        spec = props.get(key)
        if spec is None:
            if schema.get("additionalProperties", True) is False:
                continue  # invented argument: drop it rather than fail the whole call
            out[key] = value
            continue
        fixed = _coerce(value, spec)
        if _is_empty(fixed) and key not in required:
            continue
        out[key] = fixed
    return out


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return dict(parsed) if isinstance(parsed, Mapping) else {}
    return {}


def _is_empty(value: Any) -> bool:
    return value is None or value in ("", [], {}, "null", "none", "None")


def _coerce(value: Any, spec: Mapping[str, Any]) -> Any:
    kinds = spec.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    if isinstance(value, str):
        text = value.strip()
        if kinds & {"array", "object"} and text[:1] in "[{":
            with contextlib.suppress(ValueError):
                value = json.loads(text)
        elif kinds & {"integer", "number"} and re.fullmatch(r"-?\d+(\.\d+)?%?", text):
            number = float(text.rstrip("%"))
            return int(number) if "integer" in kinds and number.is_integer() else number
        elif "boolean" in kinds and text.lower() in ("true", "false", "yes", "no", "on", "off"):
            return text.lower() in ("true", "yes", "on")
    if "array" in kinds and not isinstance(value, list) and not _is_empty(value):
        value = [value]  # "kitchen" where ["kitchen"] was asked
    if isinstance(value, list) and "items" in spec:
        value = [_coerce(v, spec["items"]) for v in value if not _is_empty(v)]
    if "enum" in spec and isinstance(value, str) and value not in spec["enum"]:
        lowered = {str(e).lower(): e for e in spec["enum"]}
        value = lowered.get(value.lower(), value)
    return value


def tool_calls_in_text(content: str, known: Iterable[str]) -> list[ToolCall]:
    """Find tool calls a model wrote as text (JSON, fenced JSON or <tool_call> tags)."""
    names = set(known)
    candidates = [m.group(1) for m in _TAGGED.finditer(content)]
    candidates += [m.group(1) for m in _JSON_BLOCK.finditer(content)]
    stripped = content.strip()
    if stripped[:1] in "[{":
        candidates.append(stripped)
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 < start < end:  # "Sure! {"name": ...}": a call inside words
        candidates.append(stripped[start : end + 1])
    calls: list[ToolCall] = []
    for chunk in candidates:
        try:
            parsed = _loads(chunk)
        except ValueError:
            continue
        for item in parsed if isinstance(parsed, list) else [parsed]:
            call = _as_call(item, names)
            if call is not None:
                calls.append(call)
        if calls:
            break
    return calls


def written_arguments(content: str) -> dict[str, Any]:
    """The arguments of the first call written as text, whatever tool it names (`{}` when there is none)."""
    stripped = content.strip()
    start, end = stripped.find("{"), stripped.rfind("}")
    if start < 0 or end <= start:
        return {}
    try:
        written = _written_call(_loads(stripped[start : end + 1]))
    except ValueError:
        return {}
    return written[1] if written is not None else {}


def _loads(chunk: str) -> Any:
    """JSON, or JSON a model stopped writing one or two closing braces early (`{"name": …, "arguments": {…}`)."""
    try:
        return json.loads(chunk)
    except ValueError:
        missing = chunk.count("{") - chunk.count("}")
        if not 0 < missing <= 2:
            raise
        return json.loads(chunk + "}" * missing)


# Where models put a written call's arguments: OpenAI's and Qwen's word first, then others seen in the field.
_ARGUMENT_KEYS = ("arguments", "parameters", "params", "args", "input")


def _written_call(item: Any) -> tuple[Any, dict[str, Any]] | None:
    """A call's name (whatever it is) and arguments, from {"name", "arguments"} or {"function": {...}}."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):
        item = item["function"]
    key = next((k for k in _ARGUMENT_KEYS if k in item), None)
    return item.get("name") or item.get("tool"), _as_dict(item[key]) if key else {}


# Tool names small models invent, and the real call each one means (the arguments are merged in).
INVENTED: dict[str, tuple[str, dict[str, Any]]] = {
    **{n: ("turn_on_off", {"on": False}) for n in ("turn_off", "switch_off", "turnoff", "off", "close", "shut")},
    **{n: ("turn_on_off", {"on": True}) for n in ("turn_on", "switch_on", "turnon", "on", "open")},
    **{n: ("home_state", {}) for n in ("get_state", "state", "status", "check", "get_status", "device_state")},
    **{n: ("run_routine", {}) for n in ("routine", "run_scene", "scene", "activate_scene")},
}
# Argument names small models invent for a target, and Claw's name for each.
TARGET_WORDS = {
    "what": "name", "device": "name", "target": "name", "entity": "name", "entity_id": "name",
    "device_name": "name", "area": "room", "location": "room", "place": "room", "type": "kind",
}  # fmt: skip


def _as_call(item: Any, names: set[str]) -> ToolCall | None:
    written = _written_call(item)
    if written is None or not isinstance(written[0], str):
        return None
    name, args = written
    if name in names:
        return ToolCall(name, args)
    meant = INVENTED.get(name.strip().lower().replace(" ", "_"))
    if meant is None or meant[0] not in names:
        return None  # not a call Claw can tell the meaning of: dropped, never sent to the owner as text
    renamed = {TARGET_WORDS.get(k, k): v for k, v in args.items()}
    if meant[0] == "run_routine" and "name" not in renamed and isinstance(renamed.get("scene"), str):
        renamed["name"] = renamed.pop("scene")
    return ToolCall(meant[0], {**renamed, **meant[1]})
