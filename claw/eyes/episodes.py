"""Group per-frame detector results into motion episodes (what becomes one camera event)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class _Reported(Protocol):
    @property
    def calibrating(self) -> bool: ...


def episodes(motions: Iterable[_Reported | None], quiet_frames: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) frame indices of runs of motion, split by more than `quiet_frames` quiet ones.

    A frame counts as motion when the detector returned a `Motion` that is not a re-calibration notice.
    """
    if quiet_frames < 0:
        raise ValueError(f"quiet_frames must be >= 0, got {quiet_frames}")
    found: list[tuple[int, int]] = []
    for i, motion in enumerate(motions):
        if motion is None or motion.calibrating:
            continue
        if found and i - found[-1][1] - 1 <= quiet_frames:
            found[-1] = (found[-1][0], i)
        else:
            found.append((i, i))
    return found


def overlaps(episode: tuple[int, int], ranges: Iterable[tuple[int, int]]) -> bool:
    """True when the inclusive `episode` shares a frame with any inclusive range."""
    return any(episode[0] <= b and a <= episode[1] for a, b in ranges)
