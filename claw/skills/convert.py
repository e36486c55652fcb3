"""Values between a device and a capability: value maps, linear scales, types; and merging request bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claw.home.capabilities import Capability
from claw.skills.format import Action, Reading
from claw.skills.paths import MISSING


def decode(reading: Reading, raw: Any, capability: Capability | None) -> Any:
    """A device's value as the capability states it (map, then type, then scale); None when absent."""
    if raw is MISSING:
        return None
    value = lookup(reading.map, raw) if reading.map else raw
    value = as_type(reading.as_type, value)
    if reading.scale is not None and _is_number(value):
        low, high = _range(capability)
        a, b = reading.scale
        value = low + (float(value) - a) * (high - low) / (b - a)
        value = _round(value, capability)
    return value


def encode(action: Action, value: Any, capability: Capability | None) -> Any:
    """A validated capability value as the device wants it (scale, then map, then type)."""
    out = value
    if action.scale is not None and _is_number(out):
        low, high = _range(capability)
        a, b = action.scale
        out = a + (float(out) - low) * (b - a) / (high - low)
        out = round(out) if float(a).is_integer() and float(b).is_integer() else out
    if action.values:
        out = lookup(action.values, out)
    return as_type(action.as_type, out)


def lookup(table: Mapping[Any, Any], raw: Any) -> Any:
    """table[raw], forgiving of YAML's key types ("1" vs 1, "ON" vs "on"); raw itself when absent."""
    try:
        if raw in table:
            return table[raw]
    except TypeError:  # unhashable (a list or object from the device)
        return raw
    text = str(raw).lower() if not isinstance(raw, bool) else ("true" if raw else "false")
    for key, value in table.items():
        key_text = str(key).lower() if not isinstance(key, bool) else ("true" if key else "false")
        if key_text == text:
            return value
    return raw


def as_type(kind: str, value: Any) -> Any:
    if not kind or value is None:
        return value
    try:
        if kind == "number":
            return float(value) if not isinstance(value, bool) else float(int(value))
        if kind == "integer":
            return round(float(value))
        if kind == "boolean":
            if isinstance(value, str):
                return value.strip().lower() in ("true", "on", "1", "yes")
            return bool(value)
        if kind == "string":
            return value if isinstance(value, str) else str(value)
    except (TypeError, ValueError):
        return value
    return value


def merge(a: Any, b: Any) -> Any:
    """Deep-merge two bodies for one request: objects key by key, lists item by item."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = merge(out[key], value) if key in out else value
        return out
    if isinstance(a, list) and isinstance(b, list):
        longer = a if len(a) >= len(b) else b
        return [merge(a[i], b[i]) if i < len(a) and i < len(b) else longer[i] for i in range(len(longer))]
    return b


def _range(capability: Capability | None) -> tuple[float, float]:
    low = capability.min if capability is not None and capability.min is not None else 0.0
    high = capability.max if capability is not None and capability.max is not None else 100.0
    return float(low), float(high)


def _round(value: float, capability: Capability | None) -> float | int:
    step = capability.step if capability is not None else None
    if step in (None, 1):
        return round(value)
    assert step is not None
    return round(round(value / step) * step, 6)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
