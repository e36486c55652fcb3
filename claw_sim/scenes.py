"""Seeded synthetic driveway scenes with ground-truth labels, and video files made from them."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from claw_sim import scene_art as art
from claw_sim.scene_art import Frame
from claw_sim.scene_scripts import DISTRACTOR_SCENES, EVENT_SCENES, SCENES, Ctx, Plan, SceneSpec

MAIN_STREAM = (1280, 720)
SUBSTREAM = (640, 360)


@dataclass(frozen=True, slots=True)
class Scene:
    """Labels of one rendered scene: which inclusive frame ranges hold a real event."""

    name: str
    kind: Literal["event", "distractor"]
    fps: float
    size: tuple[int, int]
    frame_count: int
    event_frames: tuple[tuple[int, int], ...]
    label: str
    seed: int = 0
    lead_in_frames: int = 0  # frames of the scene's opening conditions before its own first frame

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able form (the `.json` file written beside a video)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "fps": self.fps,
            "size": list(self.size),
            "frame_count": self.frame_count,
            "event_frames": [list(r) for r in self.event_frames],
            "label": self.label,
            "seed": self.seed,
            "lead_in_frames": self.lead_in_frames,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scene:
        """Inverse of `to_json`."""
        kind: Literal["event", "distractor"] = "event" if data["kind"] == "event" else "distractor"
        return cls(
            name=str(data["name"]),
            kind=kind,
            fps=float(data["fps"]),
            size=(int(data["size"][0]), int(data["size"][1])),
            frame_count=int(data["frame_count"]),
            event_frames=tuple((int(a), int(b)) for a, b in data["event_frames"]),
            label=str(data["label"]),
            seed=int(data.get("seed", 0)),
            lead_in_frames=int(data.get("lead_in_frames", 0)),
        )


class _Noise:
    """Sensor noise: one random tile per scene, a different window of it for every frame."""

    def __init__(self, rng: np.random.Generator, size: tuple[int, int], sigma: float) -> None:
        w, h = size
        self._pad = 48
        tile = rng.normal(0.0, sigma, (h + self._pad, w + self._pad, 3))
        # Split into positive and negative parts so two saturating uint8 operations apply it.
        self._up = np.clip(tile, 0, 255).astype(np.uint8)
        self._down = np.clip(-tile, 0, 255).astype(np.uint8)
        self._size = size
        self._rng = rng

    def apply(self, frame: Frame) -> Frame:
        w, h = self._size
        oy, ox = (int(v) for v in self._rng.integers(0, self._pad, 2))
        up = cv2.add(frame, self._up[oy : oy + h, ox : ox + w])
        return np.asarray(cv2.subtract(up, self._down[oy : oy + h, ox : ox + w]), dtype=np.uint8)


def _plan(
    name: str, size: tuple[int, int], fps: float, seed: int, bg: Frame | None = None
) -> tuple[Scene, Plan, _Noise]:
    spec = SCENES.get(name)
    if spec is None:
        raise ValueError(f"unknown scene {name!r}; known: {', '.join(SCENES)}")
    if fps <= 0 or size[0] < 64 or size[1] < 36:
        raise ValueError(f"scene {name!r}: need fps > 0 and a size of at least 64x36, got {fps} and {size}")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    ctx = Ctx(size, fps, round(spec.seconds * fps), rng, art.background(size) if bg is None else bg)
    plan = spec.build(ctx)
    scene = Scene(name, spec.kind, fps, size, ctx.frames, plan.event_frames, spec.label, seed)
    return scene, plan, _Noise(rng, size, plan.noise)


def render(
    name: str,
    *,
    size: tuple[int, int] = MAIN_STREAM,
    fps: float = 5.0,
    seed: int = 0,
    lead_in: float = 0.0,
) -> tuple[Scene, Iterator[Frame]]:
    """Labels of scene `name` and a lazy iterator of its BGR frames (deterministic per seed).

    `lead_in` seconds of the scene's opening conditions (rain already falling, branch already
    swaying, nothing arrived yet) come first, as a camera that has been running a while would see.
    """
    scene, plan, noise = _plan(name, size, fps, seed)
    lead = round(lead_in * fps)
    if lead:
        shifted = tuple((a + lead, b + lead) for a, b in scene.event_frames)
        scene = replace(scene, frame_count=scene.frame_count + lead, event_frames=shifted, lead_in_frames=lead)
    # Every recipe draws sensible frames for negative indices: the time before the scene began.
    return scene, (noise.apply(plan.draw(i)) for i in range(-lead, scene.frame_count - lead))


def _labels_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    # This OpenCV build has no H.264 encoder; MPEG-4 part 2 (.mp4) and MJPEG (.avi) write and read back.
    codecs = {".mp4": "mp4v", ".avi": "MJPG"}
    fourcc = codecs.get(path.suffix.lower())
    if fourcc is None:
        raise ValueError(f"{path}: video files must end in .mp4 (mp4v) or .avi (MJPG)")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write {fourcc} video here")
    if fourcc == "MJPG":
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 80)  # the default 95 makes noisy frames 3x bigger
    return writer


def _write_frames(path: Path, fps: float, size: tuple[int, int], frames: Iterator[Frame]) -> int:
    writer = _writer(path, fps, size)
    count = 0
    try:
        for frame in frames:
            writer.write(frame)
            count += 1
    finally:
        writer.release()
    return count


def write_video(
    name: str,
    path: Path,
    *,
    size: tuple[int, int] = MAIN_STREAM,
    fps: float = 5.0,
    seed: int = 0,
    lead_in: float = 0.0,
) -> Scene:
    """Write scene `name` to a video file (.mp4 = mp4v, .avi = MJPG) and its labels to `<path>.json`."""
    scene, frames = render(name, size=size, fps=fps, seed=seed, lead_in=lead_in)
    _write_frames(path, fps, size, frames)
    _labels_path(path).write_text(json.dumps(scene.to_json(), indent=1))
    return scene


def read_labels(path: Path) -> Scene:
    """The labels `write_video` wrote beside the video at `path`."""
    return Scene.from_json(json.loads(_labels_path(path).read_text()))


@dataclass(frozen=True, slots=True)
class PlaylistItem:
    """One scene of a playlist; its `event_frames` are relative to `start`."""

    scene: Scene
    start: int


@dataclass(frozen=True, slots=True)
class Playlist:
    """Labels of a long simulated day: scenes joined by quiet gaps."""

    fps: float
    size: tuple[int, int]
    frame_count: int
    items: tuple[PlaylistItem, ...]

    def events(self) -> tuple[tuple[int, int, str], ...]:
        """Absolute inclusive frame ranges of the real events, with their labels."""
        return tuple(
            (it.start + a, it.start + b, it.scene.label) for it in self.items for a, b in it.scene.event_frames
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able form (the `.json` file written beside a playlist video)."""
        items = [{"start": it.start, "scene": it.scene.to_json()} for it in self.items]
        return {"fps": self.fps, "size": list(self.size), "frame_count": self.frame_count, "items": items}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Playlist:
        """Inverse of `to_json`."""
        items = tuple(PlaylistItem(Scene.from_json(it["scene"]), int(it["start"])) for it in data["items"])
        size = (int(data["size"][0]), int(data["size"][1]))
        return cls(float(data["fps"]), size, int(data["frame_count"]), items)


DAY = (
    "quiet", "person_walks_up", "car_arrives", "rain", "package_left", "package_picked_up", "truck_arrives",
    "auto_exposure", "snow", "dusk_fade", "ir_switch", "headlight_sweep", "lightning",
)  # fmt: skip


def playlist(
    names: Sequence[str] = DAY,
    *,
    size: tuple[int, int] = MAIN_STREAM,
    fps: float = 5.0,
    seed: int = 0,
    gap_seconds: float = 8.0,
) -> tuple[Playlist, Iterator[Frame]]:
    """A simulated day: each scene, then a quiet gap holding its last view; arrivals later leave again."""
    bg = art.background(size)
    gap = round(gap_seconds * fps)
    parts: list[tuple[Scene, Plan, _Noise, bool]] = []
    for k, name in enumerate(names):
        scene, plan, noise = _plan(name, size, fps, seed + k, bg)
        parts.append((scene, plan, noise, False))
        reverse = SCENES[name].reverse_name
        if reverse is not None:
            n = scene.frame_count
            mirrored = tuple(sorted((n - 1 - b, n - 1 - a) for a, b in scene.event_frames))
            parts.append((replace(scene, name=reverse, event_frames=mirrored), plan, noise, True))
    items, start = [], 0
    for scene, _, _, _ in parts:
        items.append(PlaylistItem(scene, start))
        start += scene.frame_count + gap
    labels = Playlist(fps, size, start, tuple(items))

    def frames() -> Iterator[Frame]:
        for scene, plan, noise, backwards in parts:
            n = scene.frame_count
            for i in range(n):
                yield noise.apply(plan.draw(n - 1 - i if backwards else i))
            held = plan.draw(0 if backwards else n - 1) if plan.rest is None else plan.rest
            for _ in range(gap):
                yield noise.apply(held.copy())

    return labels, frames()


def write_playlist(path: Path, names: Sequence[str] = DAY, **kw: Any) -> Playlist:
    """Write `playlist(names, **kw)` as one video file and its labels to `<path>.json`."""
    labels, frames = playlist(names, **kw)
    _write_frames(path, labels.fps, labels.size, frames)
    _labels_path(path).write_text(json.dumps(labels.to_json(), indent=1))
    return labels


def read_playlist(path: Path) -> Playlist:
    """The labels `write_playlist` wrote beside the video at `path`."""
    return Playlist.from_json(json.loads(_labels_path(path).read_text()))


__all__ = [
    "DAY",
    "DISTRACTOR_SCENES",
    "EVENT_SCENES",
    "MAIN_STREAM",
    "SCENES",
    "SUBSTREAM",
    "Playlist",
    "PlaylistItem",
    "Scene",
    "SceneSpec",
    "playlist",
    "read_labels",
    "read_playlist",
    "render",
    "write_playlist",
    "write_video",
]
