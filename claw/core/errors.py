"""The small error hierarchy: each error says what the caller (and the owner) should do next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal


class ClawError(Exception):
    """Base of every error Claw raises on purpose; `str()` is fit to show the owner."""


class ConfigError(ClawError):
    """The configuration is unusable: fix the named key in the named file, then start again."""

    exit_code = 78  # EX_CONFIG: systemd stops restarting a unit that exits with it

    def __init__(self, path: str, key: str, problem: str, fix: str = "") -> None:
        self.path, self.key, self.problem, self.fix = path, key, problem, fix
        text = f"{path}: {key} {problem}" if key else f"{path}: {problem}"
        super().__init__(f"{text} — {fix}" if fix else text)


class StateError(ClawError):
    """The state directory or its database cannot be used: the message names the file and the fix; exit 78."""

    exit_code = 78  # like a bad config: restarting will not help until the owner acts


class DiskFull(ClawError):
    """The disk holding the database is full: nothing new is taken until space is freed; nothing taken is lost."""


class ModelUnavailable(ClawError):
    """The model server cannot answer now: use the fast path, retry later."""


class ModelOffline(ModelUnavailable):
    """Nothing answers at the model server's address: start Ollama or fix `[llm] host`."""


class ModelMissing(ModelUnavailable):
    """The server runs but lacks the model: `ollama pull` it or change `[llm] model`."""


class ModelError(ModelUnavailable):
    """The server answered with an error or garbage: retry, then check its logs."""


class ToolError(ClawError):
    """A tool could not do what was asked; the message goes back to the model as data."""


Problem = Literal["read_only", "on_off", "number", "range", "choice"]


class InvalidValue(ToolError):
    """A value a setting cannot take, typed so replies can say it in any language; str() is the model's English.

    `name` is the setting as a person calls it ("Target temperature"), `key` its field ("target_temp").
    """

    def __init__(
        self,
        name: str,
        key: str,
        problem: Problem,
        value: Any = None,
        *,
        low: float | None = None,
        high: float | None = None,
        unit: str = "",
        options: tuple[str, ...] = (),
    ) -> None:
        self.name, self.key, self.problem, self.value = name, key, problem, value
        self.low, self.high, self.unit, self.options = low, high, unit, options
        super().__init__(self._english())

    def _english(self) -> str:
        if self.problem == "read_only":
            return f"{self.name} can only be read, not set"
        if self.problem == "on_off":
            return f"{self.name} must be on or off, not {self.value!r}"
        if self.problem == "number":
            return f"{self.name} must be a number, not {self.value!r}"
        if self.problem == "range":
            span = f"{_n(self.low)} and {_n(self.high)}{self.unit}"
            return f"{self.name} must be between {span}, not {_n(self.value)}"
        return f"{self.name} must be one of {', '.join(self.options)}, not {self.value!r}"


def _n(value: float | None) -> str:
    return "?" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


class DeviceError(ClawError):
    """A device did not do what was asked: it may be off, unplugged or slow; try again or check it."""

    def __init__(self, device: str, problem: str, *, unreachable: bool = False) -> None:
        self.device, self.problem, self.unreachable = device, problem, unreachable
        super().__init__(f"the {device} {problem}" if not device.lower().startswith("the ") else f"{device} {problem}")


class NothingSaved(DeviceError):
    """A speaker has nothing saved like what was asked for; `saved` is what it has (a reply can offer them)."""

    def __init__(self, device: str, query: str, saved: Sequence[str]) -> None:
        self.query, self.saved = query, tuple(saved)
        choices = ", ".join(self.saved[:6]) if self.saved else "nothing saved yet"
        super().__init__(device, f"has nothing saved like '{query}' (it has: {choices})")


class TargetNotFound(ToolError):
    """Nothing matched the name, room or kind: pick one of the suggestions, never broaden."""

    def __init__(self, what: str, suggestions: list[str]) -> None:
        self.what, self.suggestions = what, suggestions
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"I don't know {what}.{hint}")


class NeedsConfirmation(ClawError):
    """A sensitive action is held until an owner echoes the one-time code."""

    def __init__(self, prompt: str, code: str) -> None:
        self.prompt, self.code = prompt, code
        super().__init__(prompt)


class ChannelError(ClawError):
    """A message could not be delivered through a channel; it stays in the outbox."""
