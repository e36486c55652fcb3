"""Tuning of the camera change detector: one profile per camera, with an optional night variant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Point = tuple[float, float]
Polygon = tuple[Point, ...]  # normalised (x, y) in [0, 1], x to the right, y down


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Change-detection tuning for one camera; `published()` gives the plain published detector."""

    # The published detector's parameters (Frigate's "improved" motion detector defaults).
    height: int = 100  # rows of the small grey image the work happens on
    threshold: int = 30  # per-pixel change (0-255, after contrast stretch) that counts
    contour_area: int = 10  # changed blobs smaller than this (small-image px) are ignored
    lightning_threshold: float = 0.8  # more of the frame changed than this => re-calibrate
    frame_alpha: float = 0.01  # background learning rate
    calibrating_alpha: float = 0.2  # background learning rate while re-calibrating
    blend_after_frames: int = 10  # a change that stays this long becomes background (parked car)
    calibrated_fraction: float = 0.05  # re-calibration ends under this changed fraction ...
    calibrated_max_boxes: int = 4  # ... with at most this many boxes
    contrast_frames: int = 50  # frames the 4th/96th percentile contrast stretch is averaged over
    interpolation: Literal["nearest", "linear", "area"] = "linear"  # area costs 3-6 ms a frame at 720p+
    # Extensions that fix the published detector's known weak spots (see claw/eyes/detector.py).
    persistence_frames: int = 3  # a blob must overlap itself this many consecutive frames (rain)
    persistence_reach: int = 3  # small-image px a blob may move per frame and still overlap itself (5 fps)
    clutter_blobs: int = 10  # size needed = contour_area * (1 + sqrt(blobs in view / this)) (snow); 0 = off
    normalise_brightness: bool = True  # compare against the background scaled to today's brightness (dusk)
    selective_update: bool = True  # learn the background per pixel, only where nothing changed
    flicker_suppression: bool = True  # ignore cells that keep changing back and forth (branches)
    flicker_cell: int = 10  # cell size (small-image px) for flicker statistics
    flicker_alpha: float = 0.02  # per-frame learning rate of each cell's activity (0.02: ~10 s at 5 fps)
    flicker_rate: float = 0.3  # cells active more often than this are flickering
    illumination_check: bool = True  # drop changes that only re-light the scene (headlights, shadows)
    structure_correlation: float = 0.7  # detail correlation with the background above which it is light
    warmup_frames: int = 10  # frames learned at start-up before anything is reported
    mask: tuple[Polygon, ...] = ()  # areas to ignore
    zones: Mapping[str, Polygon] = field(default_factory=dict)  # named areas reported when touched
    night: DetectorSettings | None = None  # profile used after set_night(True); None = this one

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (16 <= self.height <= 1080, "height must be 16..1080"),
            (1 <= self.threshold <= 254, "threshold must be 1..254"),
            (self.contour_area >= 0, "contour_area must be >= 0"),
            (0.0 < self.lightning_threshold <= 1.0, "lightning_threshold must be in (0, 1]"),
            (0.0 < self.frame_alpha <= 1.0, "frame_alpha must be in (0, 1]"),
            (0.0 < self.calibrating_alpha <= 1.0, "calibrating_alpha must be in (0, 1]"),
            (1 <= self.blend_after_frames <= 250, "blend_after_frames must be 1..250"),
            (self.contrast_frames >= 1, "contrast_frames must be >= 1"),
            (1 <= self.persistence_frames <= 250, "persistence_frames must be 1..250"),
            (0 <= self.persistence_reach <= 10, "persistence_reach must be 0..10"),
            (self.clutter_blobs >= 0, "clutter_blobs must be >= 0"),
            (2 <= self.flicker_cell <= 50, "flicker_cell must be 2..50"),
            (0.0 < self.flicker_alpha <= 1.0, "flicker_alpha must be in (0, 1]"),
            (0.0 < self.flicker_rate <= 1.0, "flicker_rate must be in (0, 1]"),
            (-1.0 <= self.structure_correlation <= 1.0, "structure_correlation must be in [-1, 1]"),
            (self.warmup_frames >= 0, "warmup_frames must be >= 0"),
            (self.interpolation in ("nearest", "linear", "area"), "interpolation must be nearest, linear or area"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"detector settings: {message}")
        for polygon in (*self.mask, *self.zones.values()):
            if len(polygon) < 3 or not all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for x, y in polygon):
                raise ValueError(f"detector settings: polygons need >= 3 points in [0, 1], got {polygon}")
        if self.night is not None and self.night.night is not None:
            raise ValueError("detector settings: a night profile cannot have its own night profile")

    @classmethod
    def published(cls, **overrides: Any) -> DetectorSettings:
        """The plain published detector (Frigate's improved motion detector): every extension off."""
        plain: dict[str, Any] = {
            "interpolation": "nearest",
            "persistence_frames": 1,
            "clutter_blobs": 0,
            "normalise_brightness": False,
            "selective_update": False,
            "flicker_suppression": False,
            "illumination_check": False,
            "warmup_frames": 0,
        }
        return cls(**(plain | overrides))

    def for_night(self, night: bool) -> DetectorSettings:
        """The profile to use by day or at night."""
        return self.night if night and self.night is not None else self

    def same_geometry(self, other: DetectorSettings) -> bool:
        """True when switching to `other` can keep the learned state (same small image, cells, history)."""
        keys = ("height", "interpolation", "contrast_frames", "flicker_cell")
        return all(getattr(self, k) == getattr(other, k) for k in keys)
