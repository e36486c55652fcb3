"""Cheap change detection on a small grey frame: the published algorithm plus fixes for its weak spots.

Published (Frigate's improved motion detector): luma, resize to ~100 rows, 4th/96th percentile contrast
stretch averaged over 50 frames, 3x3 blur, absdiff against a float running-average background,
threshold, one 3x3 dilation, blobs over a minimum area, re-calibration when most of the frame changes,
a lasting change blended into the background. Extensions, each switchable in `DetectorSettings`
(`DetectorSettings.published()` switches them all off):
- persistence: a blob must overlap itself (within `persistence_reach` px) for `persistence_frames`
  consecutive frames, which drops rain (streaks somewhere new every frame);
- clutter scaling: while many blobs are in view (snow), a blob must be bigger to count;
- brightness normalisation: the background is scaled by the median frame/background pixel ratio
  before comparing, so dusk fades are not changes; a sudden frame-to-frame change over most of the
  frame (IR switch, lightning, exposure step) still re-calibrates;
- selective update: only unchanged pixels learn, and a change that stands still for
  `blend_after_frames` frames is copied in at once (parked car), so nothing half-learns an object;
- flicker suppression: cells where big blobs keep changing from frame to frame (swaying branches)
  are ignored while that lasts;
- illumination check: a blob whose fine detail still correlates with the background's is a change of
  light (headlights, cloud shadows), not a new object.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from claw.eyes.blobs import Blobs, raster, u8
from claw.eyes.detector_settings import DetectorSettings, Point, Polygon
from claw.eyes.episodes import episodes

__all__ = ["Box", "ChangeDetector", "DetectorSettings", "Motion", "Point", "Polygon", "episodes"]

Box = tuple[int, int, int, int]  # x, y, w, h in source-frame pixels
U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
_INTERPOLATION = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}
_KERNEL3 = np.ones((3, 3), np.uint8)
_LEVELS = np.arange(256, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Motion:
    """A reported change; `calibrating` marks the one notice that a global change began re-calibration."""

    boxes: tuple[Box, ...]
    area_fraction: float
    zones: frozenset[str]
    score: float  # size * sharpness * centrality in [0, 1]: pick the frame with the highest as the snapshot
    calibrating: bool = False


class ChangeDetector:
    """Feed one camera's frames in order; `detect` says what changed (None = nothing, or re-calibrating).

    Not thread-safe: one detector per camera, called from one thread at a time.
    """

    def __init__(self, settings: DetectorSettings, frame_size: tuple[int, int]) -> None:
        """`frame_size` is the source (width, height); frames of another size start it afresh."""
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
        self._clutter = 0.0  # smoothed number of changed blobs per frame
        self._contrast = [(0, 255)] * self._s.contrast_frames
        self._contrast_i = 0
        self._lut_key = (-1, -1)
        self._last_gain = 1.0
        self._lut = u8(_LEVELS)
        sw, sh = self._small
        self._depth = np.zeros((sh, sw), np.uint8)
        self._no_labels = np.zeros((sh, sw), np.uint16)
        self._still = np.zeros((sh, sw), np.uint8)
        self._one = np.ones((sh, sw), np.uint8)
        cell = self._s.flicker_cell
        self._cells = (-(-sw // cell), -(-sh // cell))  # whole cells covering the image, edges padded
        self._activity = np.zeros((self._cells[1], self._cells[0]), np.float32)
        self._build_rasters()
        self._calibrating = True
        self._calibrated_for = 0

    def _build_rasters(self) -> None:
        sw, sh = self._small
        self._keep: U8 | None = u8(cv2.bitwise_not(raster(self._s.mask, sw, sh))) if self._s.mask else None
        self._zones = [(n, np.flatnonzero(raster((p,), sw, sh))) for n, p in self._s.zones.items()]
        reach = 2 * self._s.persistence_reach + 1
        self._reach = np.ones((reach, reach), np.uint8)

    def _start_calibrating(self) -> None:
        self._calibrating = True
        self._calibrated_for = 0
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
        return u8(small if frame.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))

    def _stretch(self, cdf: F32) -> U8:
        """Look-up table mapping the averaged 4th..96th percentile range onto 0..255."""
        n = float(cdf[-1])
        lo, hi = int(np.searchsorted(cdf, 0.04 * n)), int(np.searchsorted(cdf, 0.96 * n))
        history = self._contrast
        if lo < hi and self._bg is None:
            # Seed the whole history from the first frame (the published code starts from 0..255, so
            # its stretch, and with it every pixel, drifts for the first contrast_frames frames).
            history[:] = [(lo, hi)] * len(history)
        elif lo < hi:  # a single-colour frame says nothing about contrast
            history[self._contrast_i] = (lo, hi)
            self._contrast_i = (self._contrast_i + 1) % len(history)
        # Plain Python sums: for 50 pairs they beat numpy's per-call overhead several times over.
        key = (sum(p[0] for p in history), sum(p[1] for p in history))
        if key != self._lut_key:
            avg_lo, avg_hi = key[0] / len(history), key[1] / len(history)
            self._lut = u8(np.clip((_LEVELS - avg_lo) * (255.0 / max(1.0, avg_hi - avg_lo)), 0, 255))
            self._lut_key = key
        return self._lut

    def detect(self, frame: U8) -> Motion | None:
        """Process the next frame (BGR or grey, any size); the change found in it, if any."""
        s = self._s
        small = self._shrink(frame)
        self._frames += 1
        cdf = np.cumsum(np.asarray(cv2.calcHist([small], [0], None, [256], [0, 256]), np.float32).ravel())
        lut = self._stretch(cdf)
        if s.normalise_brightness:  # the background lives in raw grey levels; both sides get stretched
            learn = u8(cv2.GaussianBlur(small, (3, 3), 0))
            cur = u8(cv2.LUT(learn, lut))
        else:  # published: the background is learned from stretched frames
            learn = cur = u8(cv2.GaussianBlur(u8(cv2.LUT(small, lut)), (3, 3), 0))
        if self._bg is None or self._prev is None:
            self._bg, self._prev = learn.astype(np.float32), cur
            return None
        gain = self._gain(learn) if s.normalise_brightness else 1.0
        ref_raw = u8(cv2.convertScaleAbs(self._bg, alpha=gain))
        ref = u8(cv2.LUT(ref_raw, lut)) if s.normalise_brightness else ref_raw
        changed_px = u8(cv2.threshold(cv2.absdiff(cur, ref), s.threshold, 255, cv2.THRESH_BINARY)[1])
        if self._keep is not None:
            changed_px = u8(cv2.bitwise_and(changed_px, self._keep))
        changed = u8(cv2.dilate(changed_px, _KERNEL3, iterations=1))
        # Blobs count from contour_area up, or from more while many are in view (snow): flake-sized
        # blobs then neither chain up, nor make cells "restless", nor keep calibration going.
        blobs = Blobs.find(changed, self._need(), self._no_labels)
        self._clutter += 0.2 * (blobs.count - self._clutter)
        step = u8(cv2.absdiff(cur, self._prev))
        moving = u8(cv2.threshold(step, s.threshold, 255, cv2.THRESH_BINARY)[1])
        self._prev = cur

        notice = self._check_global(blobs, moving)
        sizeable = blobs.mask(changed)
        restless = self._learn_activity(step, sizeable) if s.flicker_suppression else None
        self._update_background(learn, blobs, changed, changed_px, moving, ref_raw)
        if self._calibrating:
            return notice if self._frames > s.warmup_frames else None
        if s.persistence_frames > 1:
            self._persist(None if sizeable is None else u8(cv2.bitwise_and(sizeable, changed_px)))
        if len(blobs.big) == 0 or self._frames <= s.warmup_frames:
            return None
        accepted = self._accept(blobs, changed_px, restless, cur=learn, ref=ref_raw)
        if not accepted:
            return None
        sw, sh = self._small
        fx, fy = self._src[0] / sw, self._src[1] / sh
        boxes = tuple(
            (int(x * fx), int(y * fy), max(1, round(w * fx)), max(1, round(h * fy)))
            for x, y, w, h in (blobs.stats[i, :4] for i in accepted)
        )
        area = float(blobs.stats[accepted, cv2.CC_STAT_AREA].sum()) / (sw * sh)
        return Motion(boxes, area, blobs.zones_touched(accepted, self._zones), blobs.score(accepted, small, area))

    def _check_global(self, blobs: Blobs, moving: U8) -> Motion | None:
        """Enter or leave re-calibration; the notice Motion when a global change starts one."""
        s = self._s
        level = blobs.changed_fraction
        if s.normalise_brightness:
            # Brightness normalisation hides how much changed at an IR switch or lightning: a sudden
            # frame-to-frame change over most of the frame also counts. Slow drift (dusk) never does.
            level = max(level, cv2.countNonZero(moving) / moving.size)
        # Published rule: calibrated once under calibrated_fraction changed in at most
        # calibrated_max_boxes blobs (flake-sized blobs in snow do not count: see _need). The scene
        # is also re-learned for at least blend_after_frames frames, so that the background has caught
        # up in shape, not just in overall brightness.
        settled = blobs.big_fraction if s.clutter_blobs else blobs.changed_fraction
        learned = not s.normalise_brightness or self._calibrated_for >= s.blend_after_frames
        if self._calibrating and learned and settled < s.calibrated_fraction:
            self._calibrating = len(blobs.big) > s.calibrated_max_boxes
        self._calibrated_for += 1
        if self._calibrating or level <= s.lightning_threshold:
            return None
        self._start_calibrating()
        return Motion((), level, frozenset(), 0.0, calibrating=True)

    def _persist(self, core: U8 | None) -> None:
        """Depth = consecutive frames a sizeable blob covered this pixel, or one within reach of it."""
        if core is None:
            self._depth[:] = 0
            return
        grown = np.minimum(u8(cv2.dilate(self._depth, self._reach)), self._s.persistence_frames - 1) + 1
        self._depth = u8(cv2.bitwise_and(u8(grown), core))

    def _need(self) -> int:
        """Minimum blob size: contour_area, raised while many blobs are in view (snow, rain)."""
        s = self._s
        need = max(1, s.contour_area)
        if s.clutter_blobs:
            # In snow or rain flakes chain up by chance, the more the denser they fall.
            need = round(need * (1.0 + (self._clutter / s.clutter_blobs) ** 0.5))
        return need

    def _gain(self, learn: U8) -> float:
        """How much brighter the whole scene is than the background: the median per-pixel ratio.

        A median of ratios, not a ratio of medians: a beam lighting a third of the frame shifts the
        frame's median but not the typical pixel's ratio, so it stays a local change.
        """
        assert self._bg is not None
        if self._calibrating or self._frames % 3 == 0:  # light drifts slowly; sudden steps re-calibrate
            # Every 16th pixel is plenty for a median, and costs a fifth of every 4th.
            ratio = ((learn[::4, ::4].astype(np.float32) + 1.0) / (self._bg[::4, ::4] + 1.0)).ravel()
            median = float(np.partition(ratio, len(ratio) // 2)[len(ratio) // 2])
            self._last_gain = min(4.0, max(0.25, median))
        return self._last_gain

    def _learn_activity(self, step: U8, sizeable: U8 | None) -> U8 | None:
        """Update each cell's rate of frame-to-frame change in big blobs; the mask of flickering cells."""
        s = self._s
        cell, (cw, ch), (sw, sh) = s.flicker_cell, self._cells, self._small
        # Bias-corrected at start-up: the first frames average evenly instead of rising from zero.
        alpha = max(s.flicker_alpha, 1.0 / self._frames)
        self._activity *= 1.0 - alpha
        if sizeable is not None:
            # Half the threshold: near its hinge a branch moves little from one frame to the next.
            stirring = u8(cv2.threshold(step, s.threshold // 2, 255, cv2.THRESH_BINARY)[1])
            stirring = u8(cv2.bitwise_and(stirring, sizeable))
            # Pad to whole cells so the area resize takes OpenCV's fast integer-factor path.
            padded = cv2.copyMakeBorder(stirring, 0, ch * cell - sh, 0, cw * cell - sw, cv2.BORDER_CONSTANT, value=0)
            frac = np.asarray(cv2.resize(padded, self._cells, interpolation=cv2.INTER_AREA), np.float32) / 255.0
            self._activity += alpha * (frac > 0.05)
        elif self._activity.max() <= s.flicker_rate:
            return None  # nothing flickers and nothing new is stirring: the common quiet frame
        hot = u8((self._activity > s.flicker_rate) * np.uint8(255))
        if not hot.any():
            return None
        hot = u8(cv2.dilate(hot, _KERNEL3))  # a branch's tips reach into the neighbouring cells
        up = cv2.resize(hot, (cw * cell, ch * cell), interpolation=cv2.INTER_NEAREST)
        return u8(up[:sh, :sw])

    def _update_background(self, learn: U8, blobs: Blobs, changed: U8, changed_px: U8, moving: U8, ref: U8) -> None:
        """Learn the frame into the background (`ref` is the background the frame was compared with)."""
        assert self._bg is not None
        s = self._s
        alpha = s.calibrating_alpha if self._calibrating else s.frame_alpha
        if not s.selective_update:
            # Published rule: learn the whole frame, unless motion is present and younger than
            # blend_after_frames frames.
            has_motion = len(blobs.big) > 0
            self._motion_frames = self._motion_frames + 1 if has_motion else 0
            if not has_motion or self._motion_frames >= s.blend_after_frames:
                cv2.accumulateWeighted(learn, self._bg, alpha)
            return
        if self._calibrating or blobs.count == 0:
            cv2.accumulateWeighted(learn, self._bg, alpha)
            self._still[:] = 0
            return
        cv2.accumulateWeighted(learn, self._bg, alpha, mask=cv2.bitwise_not(changed))
        standing = u8(cv2.bitwise_and(changed, cv2.bitwise_not(moving)))
        self._still = u8(cv2.bitwise_and(u8(cv2.add(self._still, self._one)), standing))  # saturates at 255
        settled = u8(cv2.threshold(self._still, s.blend_after_frames - 1, 255, cv2.THRESH_BINARY)[1])
        if s.illumination_check and cv2.countNonZero(settled):
            # A standing change of light (a beam resting on the lawn for a second) is not copied in
            # like a parked car, or it would leave a dark ghost when it moves on: it learns slowly.
            for i in np.intersect1d(blobs.labels[settled > 0], blobs.big):  # small ghosts do no harm
                if blobs.relit(int(i), changed_px, learn, ref, s.structure_correlation):
                    region = u8((blobs.labels == i) * np.uint8(255))
                    settled = u8(cv2.bitwise_and(settled, cv2.bitwise_not(region)))
                    cv2.accumulateWeighted(learn, self._bg, s.frame_alpha, mask=region)
        cv2.accumulateWeighted(learn, self._bg, 1.0, mask=settled)

    def _accept(self, blobs: Blobs, changed_px: U8, restless: U8 | None, *, cur: U8, ref: U8) -> list[int]:
        """The big blobs that are lasting, steady, structural changes."""
        s = self._s
        keep = [int(i) for i in blobs.big]
        if s.persistence_frames > 1 or restless is not None:
            if s.persistence_frames > 1:
                lasting = u8(cv2.threshold(self._depth, s.persistence_frames - 1, 255, cv2.THRESH_BINARY)[1])
            else:
                lasting = changed_px
            if restless is not None:
                lasting = u8(cv2.bitwise_and(lasting, cv2.bitwise_not(restless)))
            support, need = blobs.support(lasting), self._need()
            keep = [i for i in keep if support[i] >= need]  # enough of the blob has lasted
        if s.illumination_check:
            keep = [i for i in keep if not blobs.relit(i, changed_px, cur, ref, s.structure_correlation)]
        return keep
