"""Connected changed regions of the detector's small image, and the per-region tests on them."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
I32 = npt.NDArray[np.int32]
Labels = npt.NDArray[np.uint16]
Polygon = tuple[tuple[float, float], ...]

_FLAT = 1.5  # rms grey levels of fine detail below which a blurred small-image patch is plain


def u8(a: object) -> U8:
    """View an OpenCV result as a uint8 array (for the type checker; no copy)."""
    return np.asarray(a, dtype=np.uint8)


def raster(polygons: tuple[Polygon, ...], w: int, h: int) -> U8:
    """Normalised polygons filled with 255 on a w x h mask."""
    out = np.zeros((h, w), np.uint8)
    pts = [np.array([(round(x * (w - 1)), round(y * (h - 1))) for x, y in p], np.int32) for p in polygons]
    if pts:
        cv2.fillPoly(out, pts, 255)
    return out


@dataclass(frozen=True, slots=True)
class Blobs:
    """The 8-connected regions of one frame's (dilated) change mask; region i has label i >= 1."""

    labels: Labels
    stats: I32  # cv2 rows (x, y, w, h, pixels); row 0 is the unchanged background
    areas: I32  # outline area of region i at index i - 1, as cv2.contourArea would give
    big: npt.NDArray[np.intp]  # labels of the regions over the minimum area
    _relit: dict[int, bool] = field(default_factory=dict)  # per-frame memo of relit()

    @classmethod
    def find(cls, changed: U8, min_area: int, empty: Labels) -> Blobs:
        """Regions of `changed`; `empty` is a zero label image reused for the usual quiet frame."""
        if cv2.countNonZero(changed):
            # 16-bit labels are ~3x faster here than the default 32-bit ones (another algorithm runs).
            _, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8, ltype=cv2.CV_16U)
            lab, st = np.asarray(labels, np.uint16), np.asarray(stats, np.int32)
        else:
            lab, st = empty, np.zeros((1, 5), np.int32)
        # The outline of a filled region encloses about its pixel count less half its perimeter.
        areas = np.maximum(0, st[1:, cv2.CC_STAT_AREA] - st[1:, 2] - st[1:, 3] + 1).astype(np.int32)
        return cls(lab, st, areas, np.flatnonzero(areas > min_area) + 1)

    @property
    def count(self) -> int:
        """Number of regions, small ones included."""
        return len(self.areas)

    @property
    def changed_fraction(self) -> float:
        """Summed outline areas over the image area (the published 'percent motion')."""
        return float(self.areas.sum()) / self.labels.size

    @property
    def big_fraction(self) -> float:
        """Summed outline areas of the big regions over the image area."""
        return float(self.areas[self.big - 1].sum()) / self.labels.size

    def mask(self, changed: U8) -> U8 | None:
        """The pixels of the big regions (None when there are none); `changed` is the mask they came from."""
        if len(self.big) == 0:
            return None
        if len(self.big) == self.count:
            return changed  # every region is big: the common case, no relabelling needed
        keep = np.zeros(self.count + 1, np.uint8)
        keep[self.big] = 255
        return u8(keep[self.labels])

    def support(self, mask: U8) -> npt.NDArray[np.intp]:
        """Per label, how many of its pixels are set in `mask`."""
        return np.bincount(self.labels[mask > 0], minlength=self.count + 1)

    def relit(self, i: int, changed_px: U8, cur: U8, ref: U8, correlation: float) -> bool:
        """True when region i keeps the background's fine detail, so only the light on it changed.

        Fine detail is each image less its 5x5 mean; under a smooth change of light (headlights,
        cloud shadow) the frame's detail is the background's scaled, so the two correlate; a new
        object brings its own edges and hides the background's.
        """
        if i not in self._relit:
            self._relit[i] = self._relit_now(i, changed_px, cur, ref, correlation)
        return self._relit[i]

    def _relit_now(self, i: int, changed_px: U8, cur: U8, ref: U8, correlation: float) -> bool:
        x, y, w, h = (int(v) for v in self.stats[i, :4])
        y0, y1, x0, x1 = max(0, y - 3), y + h + 3, max(0, x - 3), x + w + 3  # margin for the 5x5 mean
        inside = (self.labels[y0:y1, x0:x1] == i) & (changed_px[y0:y1, x0:x1] > 0)
        n = int(np.count_nonzero(inside))
        if n < 8:
            return False
        a, b = cur[y0:y1, x0:x1].astype(np.float32), ref[y0:y1, x0:x1].astype(np.float32)
        da, db = (a - cv2.blur(a, (5, 5)))[inside], (b - cv2.blur(b, (5, 5)))[inside]
        da -= float(da.sum()) / n
        db -= float(db.sum()) / n
        energy_a, energy_b = float(np.dot(da, da)), float(np.dot(db, db))
        if energy_a < _FLAT * _FLAT * n:
            return True  # no new edges or texture appeared: a plain surface got brighter or darker
        denom = (energy_a * energy_b) ** 0.5
        return bool(denom > 0 and float(np.dot(da, db)) / denom >= correlation)

    def zones_touched(self, accepted: list[int], zones: list[tuple[str, npt.NDArray[np.intp]]]) -> frozenset[str]:
        """Names of the zones (flat pixel indices) that any accepted region covers."""
        if not zones:
            return frozenset()
        hit = np.zeros(self.count + 1, bool)
        hit[accepted] = True
        flat = self.labels.ravel()
        return frozenset(name for name, idx in zones if hit[flat[idx]].any())

    def score(self, accepted: list[int], small: U8, area: float) -> float:
        """size * sharpness * centrality in [0, 1] of the accepted regions: rank frames for the snapshot."""
        sh, sw = small.shape
        st = self.stats[accepted]
        x0, y0 = int(st[:, 0].min()), int(st[:, 1].min())
        x1, y1 = int((st[:, 0] + st[:, 2]).max()), int((st[:, 1] + st[:, 3]).max())
        crop = small[y0:y1, x0:x1]
        lap = float(cv2.Laplacian(crop, cv2.CV_32F).var()) if min(crop.shape) >= 3 else 0.0
        sharpness = lap / (lap + 50.0)  # motion blur and defocus lower the Laplacian's variance
        dx, dy = ((x0 + x1) / 2 - sw / 2) / (sw / 2), ((y0 + y1) / 2 - sh / 2) / (sh / 2)
        centrality = max(0.0, 1.0 - float(np.hypot(dx, dy)) / float(np.sqrt(2)))
        return float(min(1.0, np.sqrt(area)) * sharpness * centrality)
