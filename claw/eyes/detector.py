"""Cheap change detection on a small grey frame: the published algorithm plus fixes for its weak spots.

Published (Frigate's improved motion detector): luma, resize to ~100 rows, 4th/96th percentile contrast
stretch averaged over 50 frames, 3x3 blur, absdiff against a float running-average background,
threshold, one 3x3 dilation, blobs over a minimum area, re-calibration on global changes, a lasting
change blended into the background. Extensions, each switchable in `DetectorSettings`:
- persistence: a change must overlap itself (within `persistence_reach` px) for `persistence_frames`
  consecutive frames, which drops rain and snow (small, scattered, short-lived);
- brightness normalisation: the background is scaled by the frame/background median ratio before
  comparing, so dusk fades and auto-exposure steps are not changes;
- selective update: only unchanged pixels learn, and a change that stands still for
  `blend_after_frames` frames is copied in at once (parked car), so nothing half-learns an object;
- flicker suppression: cells whose frame-to-frame activity rate stays high (swaying branches) are
  ignored until they calm down;
- illumination check: a blob whose fine detail still correlates with the background's is a change of
  light (headlights, cloud shadows), not a new object.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from claw.eyes.detector_settings import DetectorSettings, Point, Polygon
from claw.eyes.episodes import episodes

__all__ = ["Box", "ChangeDetector", "DetectorSettings", "Motion", "Point", "Polygon", "episodes"]

Box = tuple[int, int, int, int]  # x, y, w, h in source-frame pixels
U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
_INTERPOLATION = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}
_KERNEL3 = np.ones((3, 3), np.uint8)


@dataclass(frozen=True, slots=True)
class Motion:
    """A reported change; `calibrating` marks the one notice that a global change began re-calibration."""

    boxes: tuple[Box, ...]
    area_fraction: float
    zones: frozenset[str]
    score: float  # size * sharpness * centrality in [0, 1]: pick the frame with the highest as the snapshot
    calibrating: bool = False


def _u8(a: object) -> U8:
    return np.asarray(a, dtype=np.uint8)


def _raster(polygons: tuple[Polygon, ...], w: int, h: int) -> U8:
    out = np.zeros((h, w), np.uint8)
    pts = [np.array([(round(x * (w - 1)), round(y * (h - 1))) for x, y in p], np.int32) for p in polygons]
    if pts:
        cv2.fillPoly(out, pts, 255)
    return out


class ChangeDetector:
    """Feed frames in order; `detect` says what changed in each (None = nothing, or re-calibrating)."""

    def __init__(self, settings: DetectorSettings, frame_size: tuple[int, int]) -> None:
        self._profiles = settings
        self._night = False
        self._s = settings
        self._configure(frame_size)

    @property
    def settings(self) -> DetectorSettings:
        """The profile in use now."""
        return self._s

    @property
    def calibrating(self) -> bool:
        """True while the detector re-learns the scene after a global change (nothing is reported)."""
        return self._calibrating

    def set_night(self, night: bool) -> None:
        """Switch to the night (or day) profile; the scene is re-learned quickly after the switch."""
        if night == self._night:
            return
        self._night = night
        new = self._profiles.for_night(night)
        if new is self._s:
            return
        keep = new.same_geometry(self._s)
        self._s = new
        if keep:
            self._build_rasters()
            self._start_calibrating()
        else:
            self._configure(self._src)

    def _configure(self, frame_size: tuple[int, int]) -> None:
        w, h = frame_size
        if w < 8 or h < 8:
            raise ValueError(f"frame size must be at least 8x8, got {frame_size}")
        self._src = (w, h)
        sh = min(self._s.height, h)
        self._small = (max(8, round(w * sh / h)), sh)
        self._bg: F32 | None = None
        self._prev: U8 | None = None
        self._frames = 0
        self._motion_frames = 0
        self._contrast = np.tile(np.array([[0.0, 255.0]], np.float32), (self._s.contrast_frames, 1))
        self._contrast_i = 0
        sw, sh = self._small
        self._depth = np.zeros((sh, sw), np.uint8)
        self._still = np.zeros((sh, sw), np.uint8)
        self._cells = (max(1, round(sw / self._s.flicker_cell)), max(1, round(sh / self._s.flicker_cell)))
        self._activity = np.zeros((self._cells[1], self._cells[0]), np.float32)
        self._build_rasters()
        self._calibrating = True

    def _build_rasters(self) -> None:
        sw, sh = self._small
        self._keep: U8 | None = _u8(cv2.bitwise_not(_raster(self._s.mask, sw, sh))) if self._s.mask else None
        self._zones = [(n, np.flatnonzero(_raster((p,), sw, sh))) for n, p in self._s.zones.items()]
        reach = 2 * self._s.persistence_reach + 1
        self._reach = np.ones((reach, reach), np.uint8)

    def _start_calibrating(self) -> None:
        self._calibrating = True
        self._depth[:] = 0
        self._still[:] = 0
        self._motion_frames = 0

    def _shrink(self, frame: U8) -> U8:
        if frame.ndim not in (2, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected a uint8 BGR or grey frame, got {frame.dtype} {frame.shape}")
        if (frame.shape[1], frame.shape[0]) != self._src:
            self._configure((frame.shape[1], frame.shape[0]))
        # Resizing the colour frame first then converting the 100-row result is ~5x cheaper than
        # converting the full frame to grey first.
        small = cv2.resize(frame, self._small, interpolation=_INTERPOLATION[self._s.interpolation])
        return _u8(small if frame.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))

    def _stretch(self, hist: F32) -> U8:
        """Look-up table mapping the averaged 4th..96th percentile range onto 0..255."""
        cdf = np.cumsum(hist)
        n = cdf[-1]
        lo, hi = np.searchsorted(cdf, 0.04 * n), np.searchsorted(cdf, 0.96 * n)
        if lo < hi:  # a single-colour frame says nothing about contrast
            self._contrast[self._contrast_i] = (lo, hi)
            self._contrast_i = (self._contrast_i + 1) % len(self._contrast)
        avg_lo, avg_hi = self._contrast.mean(axis=0)
        span = max(1.0, float(avg_hi - avg_lo))
        return _u8(np.clip((np.arange(256, dtype=np.float32) - avg_lo) * (255.0 / span), 0, 255))

    def detect(self, frame: U8) -> Motion | None:
        """Process the next frame (BGR or grey, any size); the change found in it, if any."""
        s = self._s
        small = self._shrink(frame)
        self._frames += 1
        hist = np.asarray(cv2.calcHist([small], [0], None, [256], [0, 256]), np.float32).ravel()
        lut = self._stretch(hist)
        if s.normalise_brightness:
            blurred = _u8(cv2.GaussianBlur(small, (3, 3), 0))
            learn, cur = blurred, _u8(cv2.LUT(blurred, lut))
        else:
            cur = _u8(cv2.GaussianBlur(_u8(cv2.LUT(small, lut)), (3, 3), 0))
            learn = blurred = cur
        if self._bg is None or self._prev is None:
            self._bg, self._prev = learn.astype(np.float32), cur
            return None
        ref_raw = _u8(cv2.convertScaleAbs(self._bg, alpha=self._gain(hist) if s.normalise_brightness else 1.0))
        ref = _u8(cv2.LUT(ref_raw, lut)) if s.normalise_brightness else ref_raw
        _, changed_px = cv2.threshold(cv2.absdiff(cur, ref), s.threshold, 255, cv2.THRESH_BINARY)
        changed_px = _u8(changed_px if self._keep is None else cv2.bitwise_and(changed_px, self._keep))
        changed = _u8(cv2.dilate(changed_px, _KERNEL3, iterations=1))
        _, labels_m, stats_m, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        labels, stats = np.asarray(labels_m, np.int32), np.asarray(stats_m, np.int32)
        # cv2.contourArea of a blob's outline is about its pixel count less half its perimeter.
        areas = np.maximum(0, stats[1:, cv2.CC_STAT_AREA] - stats[1:, 2] - stats[1:, 3] + 1)
        pct = float(areas.sum()) / changed.size
        big = np.flatnonzero(areas > s.contour_area) + 1
        moving = _u8(cv2.threshold(cv2.absdiff(cur, self._prev), s.threshold, 255, cv2.THRESH_BINARY)[1])
        self._prev = cur

        notice = None
        if pct < s.calibrated_fraction and len(big) <= s.calibrated_max_boxes:
            self._calibrating = False
        if not self._calibrating and max(pct, self._raw_change(cur, lut)) > s.lightning_threshold:
            self._start_calibrating()
            notice = Motion((), pct, frozenset(), 0.0, calibrating=True)
        restless = self._learn_activity(moving) if s.flicker_suppression else None
        self._update_background(learn, changed, moving, has_motion=len(big) > 0)
        if self._calibrating:
            return notice if self._frames > s.warmup_frames else None
        if s.persistence_frames > 1:
            self._persist(big, labels, changed_px)
        if len(big) == 0 or self._frames <= s.warmup_frames:
            return None
        accepted = self._accept(big, labels, changed_px, restless, cur=blurred, ref=ref_raw)
        if not accepted:
            return None
        return self._report(accepted, stats, labels, small)

    def _persist(self, big: npt.NDArray[np.intp], labels: npt.NDArray[np.int32], changed_px: U8) -> None:
        """Depth = consecutive frames a sizeable blob covered this pixel, or one within reach of it."""
        if len(big) == 0:
            self._depth[:] = 0
            return
        # Only blobs over the minimum area carry depth on, so scattered flakes cannot chain up.
        keep = np.zeros(int(labels.max()) + 1, np.uint8)
        keep[big] = 255
        core = _u8(cv2.bitwise_and(keep[labels], changed_px))
        grown = np.minimum(_u8(cv2.dilate(self._depth, self._reach)), self._s.persistence_frames - 1) + 1
        self._depth = _u8(cv2.bitwise_and(_u8(grown), core))

    def _raw_change(self, cur: U8, lut: U8) -> float:
        """Changed fraction against the background before brightness normalisation (IR switch, exposure)."""
        if not self._s.normalise_brightness:
            return 0.0
        assert self._bg is not None
        ref = _u8(cv2.LUT(_u8(cv2.convertScaleAbs(self._bg)), lut))
        _, changed = cv2.threshold(cv2.absdiff(cur, ref), self._s.threshold, 255, cv2.THRESH_BINARY)
        return cv2.countNonZero(changed) / cur.size

    def _gain(self, hist: F32) -> float:
        """Median brightness of the frame over that of the background (clamped)."""
        assert self._bg is not None
        bg_hist = np.asarray(cv2.calcHist([_u8(cv2.convertScaleAbs(self._bg))], [0], None, [256], [0, 256]))
        med_cur = float(np.searchsorted(np.cumsum(hist), hist.sum() / 2))
        med_bg = float(np.searchsorted(np.cumsum(bg_hist.ravel()), bg_hist.sum() / 2))
        return min(4.0, max(0.25, (med_cur + 1.0) / (med_bg + 1.0)))

    def _learn_activity(self, moving: U8) -> U8:
        """Update each cell's rate of frame-to-frame change; the small-image mask of flickering cells."""
        s = self._s
        frac = np.asarray(cv2.resize(moving, self._cells, interpolation=cv2.INTER_AREA), np.float32) / 255.0
        # Bias-corrected at start-up: the first frames average evenly instead of rising from zero.
        alpha = max(s.flicker_alpha, 1.0 / self._frames)
        self._activity *= 1.0 - alpha
        self._activity += alpha * (frac > 0.05)
        hot = _u8((self._activity > s.flicker_rate) * np.uint8(255))
        hot = _u8(cv2.dilate(hot, _KERNEL3))  # a branch's tips reach into the neighbouring cells
        return _u8(cv2.resize(hot, self._small, interpolation=cv2.INTER_NEAREST))

    def _update_background(self, learn: U8, changed: U8, moving: U8, *, has_motion: bool) -> None:
        assert self._bg is not None
        s = self._s
        alpha = s.calibrating_alpha if self._calibrating else s.frame_alpha
        if not s.selective_update:
            # Published rule: learn the whole frame, unless motion is present and younger than
            # blend_after_frames frames.
            self._motion_frames = self._motion_frames + 1 if has_motion else 0
            if not has_motion or self._motion_frames >= s.blend_after_frames:
                cv2.accumulateWeighted(learn, self._bg, alpha)
            return
        if self._calibrating:
            cv2.accumulateWeighted(learn, self._bg, alpha)
            return
        cv2.accumulateWeighted(learn, self._bg, alpha, mask=cv2.bitwise_not(changed))
        standing = _u8(cv2.bitwise_and(changed, cv2.bitwise_not(moving)))
        self._still = _u8(cv2.bitwise_and(_u8(np.minimum(self._still, 254) + 1), standing))
        settled = _u8(cv2.threshold(self._still, s.blend_after_frames - 1, 255, cv2.THRESH_BINARY)[1])
        cv2.accumulateWeighted(learn, self._bg, 1.0, mask=settled)

    def _accept(
        self,
        big: npt.NDArray[np.intp],
        labels: npt.NDArray[np.int32],
        changed_px: U8,
        restless: U8 | None,
        *,
        cur: U8,
        ref: U8,
    ) -> list[int]:
        """The blobs that are lasting, steady, structural changes."""
        s = self._s
        if s.persistence_frames <= 1 and restless is None:
            keep = [int(i) for i in big]
        else:
            keep = self._lasting(big, labels, changed_px, restless)
        if s.illumination_check:
            keep = [i for i in keep if not self._relit(labels, i, changed_px, cur, ref)]
        return keep

    def _lasting(
        self, big: npt.NDArray[np.intp], labels: npt.NDArray[np.int32], changed_px: U8, restless: U8 | None
    ) -> list[int]:
        """The blobs holding enough pixels that changed for persistence_frames frames, outside flicker."""
        s = self._s
        if s.persistence_frames <= 1:
            lasting = changed_px
        else:
            lasting = _u8(cv2.threshold(self._depth, s.persistence_frames - 1, 255, cv2.THRESH_BINARY)[1])
        if restless is not None:
            lasting = _u8(cv2.bitwise_and(lasting, cv2.bitwise_not(restless)))
        support = np.bincount(labels[lasting > 0], minlength=int(labels.max()) + 1)
        need = max(1, s.contour_area)
        return [int(i) for i in big if support[i] >= need]

    def _relit(self, labels: npt.NDArray[np.int32], i: int, changed_px: U8, cur: U8, ref: U8) -> bool:
        """True when blob i keeps the background's fine detail, so only the light on it changed."""
        ys, xs = np.nonzero((labels == i) & (changed_px > 0))
        if len(ys) < 8:
            return False
        y0, y1, x0, x1 = max(0, ys.min() - 3), ys.max() + 4, max(0, xs.min() - 3), xs.max() + 4
        a, b = cur[y0:y1, x0:x1].astype(np.float32), ref[y0:y1, x0:x1].astype(np.float32)
        da = (a - cv2.blur(a, (5, 5)))[ys - y0, xs - x0]
        db = (b - cv2.blur(b, (5, 5)))[ys - y0, xs - x0]
        da, db = da - da.mean(), db - db.mean()
        denom = float(np.sqrt((da * da).sum() * (db * db).sum()))
        return denom > 0 and float((da * db).sum()) / denom >= self._s.structure_correlation

    def _report(
        self, accepted: list[int], stats: npt.NDArray[np.int32], labels: npt.NDArray[np.int32], small: U8
    ) -> Motion:
        sw, sh = self._small
        fx, fy = self._src[0] / sw, self._src[1] / sh
        boxes = tuple(
            (int(x * fx), int(y * fy), max(1, round(w * fx)), max(1, round(h * fy)))
            for x, y, w, h in (stats[i, :4] for i in accepted)
        )
        area = float(stats[accepted, cv2.CC_STAT_AREA].sum()) / (sw * sh)
        zones: frozenset[str] = frozenset()
        if self._zones:
            hit = np.zeros(int(labels.max()) + 1, bool)
            hit[accepted] = True
            flat = labels.ravel()
            zones = frozenset(name for name, idx in self._zones if hit[flat[idx]].any())
        return Motion(boxes, area, zones, self._score(accepted, stats, small, area))

    def _score(self, accepted: list[int], stats: npt.NDArray[np.int32], small: U8, area: float) -> float:
        sw, sh = self._small
        x0, y0 = stats[accepted, 0].min(), stats[accepted, 1].min()
        x1 = (stats[accepted, 0] + stats[accepted, 2]).max()
        y1 = (stats[accepted, 1] + stats[accepted, 3]).max()
        crop = small[y0:y1, x0:x1]
        lap = float(cv2.Laplacian(crop, cv2.CV_32F).var()) if min(crop.shape) >= 3 else 0.0
        sharpness = lap / (lap + 50.0)
        dx, dy = ((x0 + x1) / 2 - sw / 2) / (sw / 2), ((y0 + y1) / 2 - sh / 2) / (sh / 2)
        centrality = max(0.0, 1.0 - float(np.hypot(dx, dy)) / np.sqrt(2))
        return float(min(1.0, np.sqrt(area)) * sharpness * centrality)
