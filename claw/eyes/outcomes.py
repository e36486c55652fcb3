"""What the owner's camera commands did, as data; the assistant's speech says it in the message's language."""

from __future__ import annotations

from dataclasses import dataclass

from claw.eyes.alerts import Mode


@dataclass(frozen=True, slots=True)
class Muted:
    """A camera's alerts are held until `until` (its events are still kept)."""

    camera: str
    until: float  # epoch seconds
    clock: str  # `until` on the house's clock ("14:05"): speech has no time zone


@dataclass(frozen=True, slots=True)
class Unmuted:
    """A camera's alerts are on again."""

    camera: str


@dataclass(frozen=True, slots=True)
class ModeSet:
    """The alert mode now, and the cameras armed in it; `already` when nothing changed."""

    mode: Mode
    watching: tuple[str, ...] = ()
    already: bool = False


@dataclass(frozen=True, slots=True)
class Watching:
    """A watch started: the camera tells the owner when `condition` holds, for `minutes` at most."""

    camera: str
    condition: str
    minutes: float


CameraOutcome = Muted | Unmuted | ModeSet | Watching
