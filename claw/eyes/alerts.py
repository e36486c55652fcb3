"""Whether a described camera event goes out as an alert: kill switch, arming, snooze, quiet hours, cooldowns."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo

from claw.core.config import AlertsConfig, CameraConfig
from claw.core.findings import in_window, quiet_window
from claw.eyes.description import Description

log = logging.getLogger(__name__)

Mode = Literal["home", "away", "night"]
MODES: tuple[Mode, ...] = ("home", "away", "night")
MODE_KEY = "eyes.mode"
MUTED_KEY = "eyes.muted"
AWAY_KEY = "eyes.away"
URGENT_KINDS = ("person",)  # what still goes out in quiet hours: someone at the house at night
OUT_DEFAULT = 12 * 3600.0  # "what happened while I was out" without an away period to go by
AWAY_AT_LEAST = 300.0  # seconds away for an outing: "away" then "home" within minutes was no time out


@dataclass(frozen=True, slots=True)
class Verdict:
    """Send or not, and why not (for the log, the event list and the tests)."""

    send: bool
    reason: str


def clock(ts: float, tz: ZoneInfo) -> str:
    """A time of day like 14:05, in the home's time zone."""
    return datetime.fromtimestamp(ts, tz).strftime("%H:%M")


def moment(ts: float, tz: ZoneInfo, now: float) -> str:
    """ "14:05" today, "yesterday 20:45", else "Fri 20 Nov 20:45"."""
    when, today = datetime.fromtimestamp(ts, tz), datetime.fromtimestamp(now, tz).date()
    days = (today - when.date()).days
    if days == 0:
        return when.strftime("%H:%M")
    return when.strftime("yesterday %H:%M" if days == 1 else "%a %d %b %H:%M")


class Rules:
    """The alert policy and its state; `decide` then `sent` with no await between (cooldowns are shared)."""

    def __init__(self, config: AlertsConfig, tz: ZoneInfo) -> None:
        self.config, self.tz = config, tz
        self.quiet = quiet_window(config.quiet_hours)
        self.mode: Mode = config.mode
        self.muted: dict[str, float] = {}  # camera -> until (epoch seconds)
        self.away_since: float | None = None
        self.away_until: float | None = None
        self._last: dict[str, float] = {}  # camera -> last alert sent
        self._last_any = -math.inf

    # --- the decision ----------------------------------------------------------------------------

    def armed(self, camera: CameraConfig) -> bool:
        return self.mode in camera.armed_modes

    def muted_until(self, camera: str, now: float) -> float | None:
        until = self.muted.get(camera)
        return until if until is not None and until > now else None

    def decide(self, camera: CameraConfig, description: Description, now: float, *, paused: bool) -> Verdict:
        """Whether this event's alert goes out now; the first reason that holds it back wins."""
        if paused:
            return Verdict(False, "automations and alerts are paused (kill switch)")
        if not description.notable:
            return Verdict(False, "nothing notable")
        if not self.armed(camera):
            return Verdict(False, f"not armed in {self.mode} mode")
        if (until := self.muted_until(camera.name, now)) is not None:
            return Verdict(False, f"muted until {clock(until, self.tz)}")
        local = datetime.fromtimestamp(now, self.tz).time()
        if in_window(self.quiet, local) and description.what not in URGENT_KINDS:
            return Verdict(False, "quiet hours")
        if now - self._last.get(camera.name, -math.inf) < camera.cooldown:
            return Verdict(False, f"cooldown ({camera.cooldown:.0f} s after its last alert)")
        if now - self._last_any < self.config.global_cooldown:
            return Verdict(False, f"cooldown ({self.config.global_cooldown:.0f} s after any camera's alert)")
        return Verdict(True, "sent")

    def sent(self, camera: str, now: float) -> None:
        """Start the cooldowns."""
        self._last[camera] = now
        self._last_any = now

    # --- what the owner changes ------------------------------------------------------------------

    def mute(self, camera: str, until: float | None) -> None:
        """Hold a camera's alerts until `until`; None lifts the snooze."""
        if until is None:
            self.muted.pop(camera, None)
        else:
            self.muted[camera] = until

    def set_mode(self, mode: Mode, now: float) -> None:
        if mode == self.mode:
            return
        if mode == "away":
            self.away_since, self.away_until = now, None
        elif self.mode == "away":
            self.away_until = now
        self.mode = mode

    def out_window(self, now: float) -> tuple[float, float | None] | None:
        """The time "while I was out" means: the current or last away period (within a day); None when there is
        none to go by (never away, long ago, or a mode switched back within minutes: no outing)."""
        if self.mode == "away" and self.away_since is not None:
            return self.away_since, None
        since, until = self.away_since, self.away_until
        if since is not None and until is not None and now - until < 24 * 3600 and until - since >= AWAY_AT_LEAST:
            return since, until
        return None

    # --- persistence in the settings table -------------------------------------------------------

    def state(self) -> dict[str, str]:
        """The owner-set state as settings rows (key -> value)."""
        return {
            MODE_KEY: self.mode,
            MUTED_KEY: json.dumps(self.muted, sort_keys=True),
            AWAY_KEY: json.dumps({"since": self.away_since, "until": self.away_until}),
        }

    def restore(self, values: dict[str, str], now: float) -> None:
        """Take back what `state` saved; anything unreadable is logged and left at its default."""
        if values.get(MODE_KEY) in MODES:
            self.mode = cast(Mode, values[MODE_KEY])
        try:
            muted = json.loads(values.get(MUTED_KEY) or "{}")
            self.muted = {str(k): float(v) for k, v in muted.items() if float(v) > now}
            away = json.loads(values.get(AWAY_KEY) or "{}")
            self.away_since = None if away.get("since") is None else float(away["since"])
            self.away_until = None if away.get("until") is None else float(away["until"])
        except (ValueError, TypeError, AttributeError):
            log.warning("camera alert settings were unreadable; starting from the config's")
