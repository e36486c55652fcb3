"""The small error hierarchy: each error says what the caller (and the owner) should do next."""

from __future__ import annotations


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


class DeviceError(ClawError):
    """A device did not do what was asked: it may be off, unplugged or slow; try again or check it."""

    def __init__(self, device: str, problem: str, *, unreachable: bool = False) -> None:
        self.device, self.problem, self.unreachable = device, problem, unreachable
        super().__init__(f"the {device} {problem}" if not device.lower().startswith("the ") else f"{device} {problem}")


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
