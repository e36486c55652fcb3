"""The config is strict (no internal or unknown keys, no open dashboard) and config.example.toml shows every key."""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import pytest

from claw.core.config import Config, parse
from claw.core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
HEADER = re.compile(r"^\[{1,2}([a-z_.]+)\]{1,2}(\s|$)")
KEY = re.compile(r"^([a-z_]+)\s*=")


def _table(tp: Any) -> type[Any] | None:
    """The dataclass a field holds: itself, or the element of a list of tables ([[owners]])."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        tp = options[0] if len(options) == 1 else None
    if get_origin(tp) is tuple and get_args(tp) and dataclasses.is_dataclass(get_args(tp)[0]):
        tp = get_args(tp)[0]
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def model_keys(cls: type[Any] = Config, section: str = "") -> Iterator[tuple[str, str]]:
    """(section, key) for every key a config file may set, from the dataclasses themselves."""
    hints = get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        if not f.init or f.metadata.get("internal"):
            continue
        table = _table(hints[f.name])
        if table is not None and not issubclass(table, Mapping):
            yield from model_keys(table, f"{section}.{f.name}" if section else f.name)
        else:
            yield section, f.name


def example_keys(text: str) -> set[tuple[str, str]]:
    """(section, key) for every key the example shows, set or commented out."""
    found: set[tuple[str, str]] = set()
    section = ""
    for raw in text.splitlines():
        line = raw.strip().lstrip("#").strip()
        if header := HEADER.match(line):
            section = header.group(1)
        elif key := KEY.match(line):
            found.add((section, key.group(1)))
    return found


def test_config_example_shows_every_key_of_the_config_model() -> None:
    shown = example_keys((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    missing = [f"[{s}] {k}" if s else k for s, k in model_keys() if (s, k) not in shown]
    assert not missing, f"config.example.toml lacks: {', '.join(missing)}"


def test_the_check_itself_finds_keys_the_issue_named() -> None:
    keys = set(model_keys())
    assert {("assistant", "languages"), ("mqtt", "keepalive"), ("frigate", "timeout"), ("owners", "name")} <= keys
    assert ("backup", "keep") in keys and ("", "source") not in keys
    assert ("mqtt", "keepalive") not in example_keys("[mqtt]\nhost = 'x'\n[frigate]\nkeepalive = 1\n")


def test_the_internal_source_is_refused_and_not_offered_as_a_known_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"source": "x"}, "claw.toml")
    assert "claw.toml: source unknown key" in str(caught.value)
    with pytest.raises(ConfigError) as unknown:
        parse({"zzzz": 1}, "claw.toml")
    assert "known keys" in str(unknown.value) and "source" not in str(unknown.value).split("known keys")[1]
    assert parse({}, "claw.toml").source == "claw.toml"  # still recorded, by the code


@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])
def test_a_wildcard_dashboard_bind_is_refused_without_the_token(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"private": {"host": host}}, "claw.toml")
    message = str(caught.value)
    assert message.startswith("claw.toml: private.host") and "every network" in message and "token_required" in message
    assert parse({"private": {"host": host, "token_required": True}}).private.host == host  # meant, and guarded


def test_backup_time_must_be_a_time_of_day() -> None:
    with pytest.raises(ConfigError, match=r"backup\.at .*25:61"):
        parse({"backup": {"at": "25:61"}}, "claw.toml")
    assert parse({"backup": {"at": "04:05", "keep": 3}}).backup.keep == 3
