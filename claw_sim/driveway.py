"""The demo's driveway camera: a rendered day of labelled scenes (events and distractors) served as MJPEG."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claw_sim import scene_art, scene_scripts, scenes
from claw_sim.camera import SimCamera
from claw_sim.scenes import Playlist, read_playlist, write_playlist

log = logging.getLogger(__name__)

# Real events and distractors, in an order where each scene begins as the last one left the driveway
# (the package stays until it is picked up). Arrivals are followed by their departures (playlist()).
DRIVEWAY: tuple[str, ...] = (
    "quiet", "car_arrives", "noise", "person_walks_up", "ir_switch", "package_left", "package_picked_up",
    "dusk_fade", "rain", "truck_arrives", "headlight_sweep", "snow", "lightning",
)  # fmt: skip
SIZE = (640, 360)  # the substream size: cheap to render, serve and decode
FPS = 5.0
GAP_SECONDS = 25.0  # quiet between scenes: longer than the default global alert cooldown (30 s) minus a scene
PORT = 8080
ZONES = {
    "street": ((0.0, scene_art.STREET_Y), (1.0, scene_art.STREET_Y), (1.0, 1.0), (0.0, 1.0)),
    "front_door": ((0.57, 0.2), (0.70, 0.2), (0.70, 0.56), (0.57, 0.56)),
}


def cache_key(names: Sequence[str], size: tuple[int, int], fps: float, gap: float, seed: int) -> str:
    """A hash of the scene list, the rendering settings and the scene code: a change re-renders."""
    digest = hashlib.sha256(json.dumps([list(names), list(size), fps, gap, seed]).encode())
    for module in (scenes, scene_art, scene_scripts):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def render_driveway(
    folder: Path,
    names: Sequence[str] = DRIVEWAY,
    *,
    size: tuple[int, int] = SIZE,
    fps: float = FPS,
    gap_seconds: float = GAP_SECONDS,
    seed: int = 0,
) -> tuple[Path, Playlist]:
    """The playlist video (MJPEG .avi) and its labels, rendered once per content hash (blocking)."""
    key = cache_key(names, size, fps, gap_seconds, seed)
    path = folder / f"driveway-{key}.avi"
    labels = path.with_name(path.name + ".json")
    if path.is_file() and labels.is_file():
        return path, read_playlist(path)
    folder.mkdir(parents=True, exist_ok=True)
    work = folder / f".rendering-{key}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    made = write_playlist(work / path.name, names, size=size, fps=fps, gap_seconds=gap_seconds, seed=seed)
    for old in folder.glob("driveway-*.avi*"):  # an older rendering of other scenes
        old.unlink()
    (work / labels.name).replace(labels)
    (work / path.name).replace(path)  # the video last: its presence means the pair is complete
    shutil.rmtree(work, ignore_errors=True)
    log.info("driveway camera: rendered %d frames (%d real events) to %s", made.frame_count, len(made.events()), path)
    return path, made


@dataclass(slots=True)
class DrivewayCamera:
    """The running simulated camera and what the daemon's config needs to watch it."""

    camera: SimCamera
    video: Path
    labels: Playlist

    def camera_config(self) -> dict[str, Any]:
        """A [[cameras]] entry: detection on the stream, pictures from the snapshot URL."""
        return {
            "name": "driveway",
            "url": self.camera.snapshot_url,
            "detect_url": self.camera.stream_url,
            "room": "Outside",
            "fps": FPS,
            "cooldown": 20.0,
            "zones": {name: [list(p) for p in polygon] for name, polygon in ZONES.items()},
        }

    async def stop(self) -> None:
        await self.camera.stop()


def is_rendered(folder: Path) -> bool:
    """Whether the driveway's day is already rendered in `folder` (then starting the camera takes no time)."""
    path = folder / f"driveway-{cache_key(DRIVEWAY, SIZE, FPS, GAP_SECONDS, 0)}.avi"
    return path.is_file() and path.with_name(path.name + ".json").is_file()


async def start_driveway_camera(state_dir: Path, *, ip: str, port: int = PORT) -> DrivewayCamera:
    """Render the driveway's day (first run only, ~10 s) and serve it on ip:port in a loop."""
    video, labels = await _render_apart(state_dir)
    camera = SimCamera("driveway", ip, port, video, fps=labels.fps)
    await camera.start()
    return DrivewayCamera(camera, video, labels)


async def _render_apart(folder: Path) -> tuple[Path, Playlist]:
    """Render in a child process: Ctrl-C mid-render kills it at once (a thread would have to finish first);
    the half-done work folder is redone next time. Once rendered, reading the cache is quick."""
    if not is_rendered(folder):
        code = "import sys, pathlib, claw_sim.driveway as d; d.render_driveway(pathlib.Path(sys.argv[1]))"
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, str(folder), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            _, errors = await child.communicate()
        except BaseException:  # cancelled: the render goes with it
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
            raise
        if child.returncode:
            raise OSError(f"rendering the driveway failed: {errors.decode(errors='replace')[-300:]}")
    return render_driveway(folder)
