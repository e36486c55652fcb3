"""Build frozen dataclasses from untyped TOML/YAML data, naming the exact key on any mistake."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Bounds:
    """Limits on a number, attached as `Annotated[float, Bounds(above=0)]` and checked by `build`."""

    low: float | None = None  # inclusive
    high: float | None = None  # inclusive
    above: float | None = None  # exclusive

    def problem(self, value: float) -> str:
        """Empty when `value` is within the limits, else what it must be."""
        if self.above is not None and not value > self.above:
            return f"must be more than {self.above:g}, got {value!r}"
        if self.low is not None and value < self.low:
            if self.high is not None:
                return f"must be between {self.low:g} and {self.high:g}, got {value!r}"
            return f"must be at least {self.low:g}, got {value!r}"
        if self.high is not None and value > self.high:
            if self.low is not None:
                return f"must be between {self.low:g} and {self.high:g}, got {value!r}"
            return f"must be at most {self.high:g}, got {value!r}"
        return ""


class ShapeError(ValueError):
    """Data does not fit the expected shape; `key` is the dotted path, `fix` says what would."""

    def __init__(self, key: str, problem: str, fix: str = "") -> None:
        self.key, self.problem, self.fix = key, problem, fix
        super().__init__(f"{key}: {problem}" + (f" ({fix})" if fix else ""))


def build(cls: type[T], data: Any, key: str = "") -> T:
    """Return `cls(**data)` after checking every key and type; unknown keys are errors."""
    return typing.cast(T, _convert(cls, data, key))


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        return _type_name(get_args(tp)[0])
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin in (dict, Mapping):
        return f"a table of {_type_name(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Annotated:
        inner, *extras = get_args(tp)
        converted = _convert(inner, value, key)
        for bounds in extras:
            if isinstance(bounds, Bounds) and (problem := bounds.problem(value)):
                raise ShapeError(key, problem)
        return converted
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            with contextlib.suppress(ShapeError):
                return _convert(option, value, key)
        raise ShapeError(key, f"expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in get_args(tp):
            raise ShapeError(key, f"must be {_type_name(tp)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _build_dataclass(tp, value, key)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ShapeError(key, f"expected {_type_name(tp)}, got {value!r}")
        inner = get_args(tp)[0]
        return tuple(_convert(inner, item, f"{key}[{i}]") for i, item in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ShapeError(key, f"expected {_type_name(tp)}, got {value!r}")
        _, inner = get_args(tp)
        return types.MappingProxyType(
            {str(k): _convert(inner, v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        )
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ShapeError(key, f"expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(key, f"expected a whole number, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ShapeError(key, f"expected {_type_name(tp)}, got {value!r}")
        return value
    raise ShapeError(key, f"cannot read a {tp!r}")  # a programming error in the schema


def _build_dataclass(cls: type[Any], value: Any, key: str) -> Any:
    if not isinstance(value, Mapping):
        raise ShapeError(key or "(top)", f"expected a table, got {value!r}")
    # a field marked {"internal": True} is set by the code (where a config came from), never by the file
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}
    hints = get_type_hints(cls, include_extras=True)
    for name in value:
        if name not in fields:
            close = difflib.get_close_matches(str(name), list(fields), n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(fields))}"
            raise ShapeError(_join(key, str(name)), "unknown key", fix)
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        sub = _join(key, name)
        if name in value:
            kwargs[name] = _convert(hints[name], value[name], sub)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ShapeError(sub, "is required", f"set it to {_type_name(hints[name])}")
    try:
        return cls(**kwargs)
    except ValueError as exc:  # __post_init__ range checks raise ValueError("field: problem")
        field_name, _, problem = str(exc).partition(": ")
        raise ShapeError(_join(key, field_name), problem or str(exc)) from None


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name
