"""Pictures made from camera frames: JPEG snapshots, thumbnails and the frame strip (a contact sheet)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]

THUMB_WIDTH = 320
MODEL_WIDTH = 1024  # the vision model gains little from more pixels, and pays for each one


def thumbnail(frame: Frame, width: int = THUMB_WIDTH) -> Frame:
    """A small copy, `width` wide (never enlarged)."""
    h, w = frame.shape[:2]
    if w <= width:
        return frame.copy()
    size = (width, max(1, round(h * width / w)))
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)


def jpeg(frame: Frame, *, quality: int = 85, max_width: int = 0) -> bytes:
    """The frame as JPEG bytes, shrunk to `max_width` first when given."""
    if max_width and frame.shape[1] > max_width:
        frame = thumbnail(frame, max_width)
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a {frame.shape} frame as JPEG")
    return bytes(data)


def pick(count: int, want: int) -> list[int]:
    """`want` indices spread evenly over range(count), first and last included (one: the middle)."""
    if count <= want:
        return list(range(count))
    if want <= 1:
        return [count // 2] if want == 1 else []
    return sorted({round(i * (count - 1) / (want - 1)) for i in range(want)})


def contact_sheet(frames: Sequence[tuple[float, Frame]], start: float, columns: int = 2) -> Frame:
    """Thumbnails in time order, left to right then down, each stamped with its offset from `start`."""
    if not frames:
        raise ValueError("a contact sheet needs at least one frame")
    h, w = frames[0][1].shape[:2]
    rows = -(-len(frames) // columns)
    gap = 4
    sheet = np.full((rows * h + (rows - 1) * gap, columns * w + (columns - 1) * gap, 3), 32, np.uint8)
    for i, (ts, given) in enumerate(frames):
        image = given
        if image.shape[:2] != (h, w):
            image = np.asarray(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA), np.uint8)
        if image.ndim == 2:
            image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
        r, c = divmod(i, columns)
        y, x = r * (h + gap), c * (w + gap)
        sheet[y : y + h, x : x + w] = image
        label = f"{ts - start:+.1f}s"
        cv2.putText(sheet, label, (x + 6, y + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(sheet, label, (x + 6, y + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return sheet
