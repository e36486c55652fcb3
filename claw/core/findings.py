"""What checks find for the heartbeat, and the daily time windows (quiet hours, night) they are judged by."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time
from typing import Literal

Severity = Literal["notice", "urgent"]


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the owner may need to hear. `key` names it across beats ("garage:open"); urgent ignores quiet hours."""

    severity: Severity
    key: str
    text: str


Check = Callable[[], Awaitable[list[Finding]]]


def quiet_window(text: str) -> tuple[time, time] | None:
    """ "22:30-07:00" -> (22:30, 07:00); "" -> None; ValueError when it does not look like that."""
    if not text.strip():
        return None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if match is None:
        raise ValueError(f"'{text}' is not a time window like 22:30-07:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"'{text}' holds a time that does not exist")
    return time(h1, m1), time(h2, m2)


def in_window(window: tuple[time, time] | None, moment: time) -> bool:
    if window is None:
        return False
    start, end = window
    return start <= moment < end if start <= end else moment >= start or moment < end
