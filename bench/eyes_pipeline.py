"""Whole camera pipeline CPU per camera at 5 fps, as the daemon runs it, and how many cameras one core sustains.

    .venv/bin/python bench/eyes_pipeline.py [--seconds 20] [--cameras 1,4]

bench/eyes_detector.py already measures decode + detect alone on one thread (`pipeline_cpu_percent_*`).
This one runs the daemon itself (Daemon + Eyes, no other part) with N cameras, each a 720p video file played
at 5 fps in real time: reader threads (FFmpeg decode, pacing), the detector, thumbnails, the hand-off into
the event loop, event grouping, and for every event the snapshot and strip JPEGs, the store and a call to
the (scripted, instant) vision model. Process CPU time (all threads) over the run, less an idle daemon's
over the same time, per camera, as a percentage of one core; cameras_per_core = 100 / that.
The file holds a busy day (an event every ~10 s), so event handling is counted too. A real camera streams
15-30 fps and every frame of an inter-frame codec must be decoded even when only 5 are analysed, so the
H.264 day is also written at 25 fps (sampled at 5): that is the figure to plan with.

H.264: this OpenCV build cannot encode it. When PyAV (`pip install av`, not a Claw dependency) is
importable, the 720p H.264 file is made with its libx264 and decoded by OpenCV as a camera's stream
would be; otherwise MPEG-4 part 2 (mp4v) is used and named in the figure. MJPEG is measured as well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _figures import figure

from claw.core.backoff import Backoff
from claw.core.config import parse
from claw.daemon import Tuning, build
from claw_sim.scenes import MAIN_STREAM, playlist, write_playlist
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama

DAY = ("quiet", "car_arrives", "person_walks_up", "rain")
FPS = 5.0
SEEN = {"title": "Car pulled into the driveway", "sentence": "A car parked.", "alert": True, "what": "vehicle"}


def write_h264(path: Path, fps: float) -> bool:
    """The day as 720p H.264 through PyAV's libx264; False when PyAV is not there."""
    try:
        import av
    except ImportError:
        return False
    _, frames = playlist(DAY, size=MAIN_STREAM, fps=fps, gap_seconds=2.0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=int(fps))
        stream.width, stream.height = MAIN_STREAM
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "g": str(int(fps * 2))}  # a key frame every 2 s, like cameras
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return True


async def run(videos: list[Path], seconds: float, ollama: ScriptedOllama, state: Path) -> tuple[float, int, int]:
    """CPU seconds the daemon used over `seconds` of wall time with one camera per video; frames, events."""
    data: dict[str, Any] = {
        "state_dir": str(state),
        "llm": {"host": ollama.url},
        "private": {"port": free_port()},
        "public": {"port": free_port()},
        "cameras": [{"name": f"cam{i}", "url": str(v), "fps": FPS, "cooldown": 0.0} for i, v in enumerate(videos)],
        "alerts": {"global_cooldown": 0.0},
    }
    config = parse(data, "(bench)")
    app = build(config, parts={"eyes"}, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))
    eyes = app.eyes
    await app.start()
    await asyncio.sleep(2.0)  # warm-up: opening the files, the first detector frames
    cpu0, frames0 = time.process_time(), sum(c.detect.frames for c in eyes.cameras.values())
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu0
    frames = sum(c.detect.frames for c in eyes.cameras.values()) - frames0
    await eyes.recorder.settle()
    events = len(await app.snapshot("events"))
    await app.stop()
    return cpu, frames, events


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="wall time measured per run")
    parser.add_argument("--cameras", default="1,4", help="camera counts to run")
    args = parser.parse_args()
    counts = [int(n) for n in args.cameras.split(",")]
    async with ScriptedOllama() as ollama:
        ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(SEEN)))
        with tempfile.TemporaryDirectory(prefix="claw-eyes-pipeline-") as tmp:
            root = Path(tmp)
            files: list[tuple[Path, str, float]] = []  # video, codec, its frames per second
            for stream_fps in (FPS, 25.0):
                h264 = root / f"day-720p-{stream_fps:.0f}fps.mp4"
                if write_h264(h264, stream_fps):
                    files.append((h264, "H.264 (libx264 via PyAV), key frame every 2 s", stream_fps))
                else:
                    write_playlist(h264, DAY, size=MAIN_STREAM, fps=stream_fps, gap_seconds=2.0)
                    files.append((h264, "mp4v (MPEG-4 part 2): no H.264 encoder here (pip install av)", stream_fps))
            mjpeg = root / "day-720p.avi"
            write_playlist(mjpeg, DAY, size=MAIN_STREAM, fps=FPS, gap_seconds=2.0)
            files.append((mjpeg, "MJPEG", FPS))
            idle, _, _ = await run([], args.seconds, ollama, root / "idle")
            figure("eyes_daemon_idle_cpu_percent", 100 * idle / args.seconds, "% of one core", seconds=args.seconds)
            for video, codec, stream_fps in files:
                for n in counts:
                    cpu, frames, events = await run([video] * n, args.seconds, ollama, root / f"{video.stem}-{n}")
                    percent = 100 * (cpu - idle) / args.seconds / n
                    extra = {"codec": codec, "stream_fps": stream_fps, "cameras": n, "fps": FPS, "size": "1280x720",
                             "frames": frames, "events": events, "seconds": args.seconds,
                             "load_avg_1m": os.getloadavg()[0]}  # fmt: skip
                    label = ("h264" if "H.264" in codec else video.suffix[1:]) + f"_{stream_fps:.0f}fps_stream"
                    figure(f"eyes_pipeline_cpu_percent_per_camera_720p_{label}", percent, "% of one core", **extra)
                    figure(f"eyes_cameras_per_core_720p_{label}", 100 / percent, "cameras", **extra)


if __name__ == "__main__":
    asyncio.run(main())
