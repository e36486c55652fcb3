"""Alert latency: from the first changed frame of a labelled scene to the alert on the bus.

    .venv/bin/python bench/eyes_latency.py [--seeds 2] [--size 640x360]

The daemon (Daemon + Eyes, nothing else) watches a video file camera that plays each labelled event scene once
at 5 fps in real time; the file goes through the same reader thread and FFmpeg decode as a network stream
(network excluded). The vision model is the scripted fake, answering at once through the real client.
- eyes_alert_latency_pipeline_ms: from the capture of the frame that confirmed the event (the detector's
  persistence window and [alerts] min_motion_frames are over) to the alert on the bus: snapshot and strip
  JPEGs, the store, the vision call, the decision, the bus. This is the part the goal of 300 ms is about.
- eyes_alert_latency_window_ms: from the first labelled frame (the object is there and moving) to that
  confirming frame: the persistence window plus whatever the object needs to grow big enough to count.
- eyes_alert_latency_total_ms: the sum, first changed frame to alert, with [alerts] settle_seconds = 0.
- eyes_alert_latency_total_default_ms: the same with the default settle_seconds (1.5 s): an object coming
  in at the frame's edge (a car from the street) is described once it is whole in view, or after 1.5 s.
Prints one JSON object per figure. The real vision model's warm latency is not measured here (no GPU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _figures import figure, median, pct

from claw.core.backoff import Backoff
from claw.core.bus import Outbound
from claw.core.config import AlertsConfig, parse
from claw.daemon import Tuning, build
from claw.eyes.detector_settings import DetectorSettings
from claw.eyes.events import Event
from claw.eyes.reader import Frame
from claw_sim.scenes import read_labels, write_video
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama

SCENES = ("car_arrives", "person_walks_up", "truck_arrives", "package_left")
SEEN = {"title": "Car pulled into the driveway", "sentence": "A car parked.", "alert": True, "what": "vehicle"}
FPS = 5.0
LEAD_IN = 4.0  # seconds of empty driveway first, so the detector has learned the scene


async def one(video: Path, first: int, ollama: ScriptedOllama, state: Path, settle: float) -> dict[str, float] | None:
    """Play one scene; the capture times of the first changed and confirming frames, and the alert time."""
    data: dict[str, Any] = {
        "state_dir": str(state),
        "llm": {"host": ollama.url},
        "private": {"port": free_port()},
        "public": {"port": free_port()},
        "cameras": [{"name": "driveway", "url": str(video), "fps": FPS}],
        "alerts": {"settle_seconds": settle},
    }
    config = parse(data, "(bench)")
    app = build(config, parts={"eyes"}, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))
    eyes = app.eyes
    times: list[float] = []
    marks: dict[str, float] = {}
    alerted = asyncio.Event()

    async def heard(message: Outbound) -> None:
        if message.kind == "alert" and "alert" not in marks:
            marks["alert"] = time.time()
            alerted.set()

    app.bus.listen(heard)
    await app.start()
    camera = eyes.cameras["driveway"]
    inner = camera.detect.on_frame
    assert inner is not None

    def on_frame(ts: float, frame: Frame) -> None:
        times.append(ts)  # the reader plays the file from its first frame, in order: index = frame number
        inner(ts, frame)

    camera.detect.on_frame = on_frame
    follow = eyes.recorder.follow

    def confirmed(cam: Any, event: Event) -> None:
        latest = camera.latest
        marks.setdefault("confirm", latest.ts if latest else time.time())
        follow(cam, event)

    eyes.recorder.follow = confirmed  # type: ignore[method-assign]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(alerted.wait(), 40)
    finally:
        await app.stop()
    if "alert" not in marks or len(times) <= first:
        return None
    return {"first": times[first], "confirm": marks["confirm"], "alert": marks["alert"]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="renderings of each scene")
    parser.add_argument("--size", default="640x360", help="frame size WxH (the detect substream)")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    settle_default = AlertsConfig().settle_seconds
    runs: dict[float, dict[str, list[float]]] = {}
    async with ScriptedOllama() as ollama:
        ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(SEEN)))
        with tempfile.TemporaryDirectory(prefix="claw-eyes-latency-") as tmp:
            for settle in (0.0, settle_default):
                got_all = runs.setdefault(settle, {"pipeline": [], "window": [], "total": []})
                for seed in range(100, 100 + args.seeds):
                    for name in SCENES:
                        video = Path(tmp) / f"{name}-{seed}.avi"
                        if not video.exists():
                            write_video(name, video, size=(w, h), fps=FPS, seed=seed, lead_in=LEAD_IN)
                        first = read_labels(video).event_frames[0][0]
                        got = await one(video, first, ollama, Path(tmp) / f"state-{name}-{seed}-{settle}", settle)
                        if got is None:
                            print(json.dumps({"scene": name, "seed": seed, "note": "no alert"}), flush=True)
                            continue
                        got_all["pipeline"].append((got["alert"] - got["confirm"]) * 1000)
                        got_all["window"].append((got["confirm"] - got["first"]) * 1000)
                        got_all["total"].append((got["alert"] - got["first"]) * 1000)
    common = {
        "fps": FPS,
        "size": f"{w}x{h}",
        "persistence_frames": DetectorSettings().persistence_frames,
        "min_motion_frames": AlertsConfig().min_motion_frames,
        "vision_model": "scripted, instant",
        "scenes": ",".join(SCENES),
    }
    zero, default = runs[0.0], runs[settle_default]
    pipeline = zero["pipeline"] + default["pipeline"]
    figure("eyes_alert_latency_pipeline_ms", median(pipeline), "ms", p90=round(pct(pipeline, 90), 1),
           max=round(max(pipeline), 1), events=len(pipeline), note="confirming frame captured -> alert on the bus",
           **common)  # fmt: skip
    for suffix, got_all, settle in (("", zero, 0.0), ("_default", default, settle_default)):
        window, total = got_all["window"], got_all["total"]
        extra = {**common, "settle_seconds": settle, "events": len(total)}
        figure(f"eyes_alert_latency_window{suffix}_ms", median(window), "ms", max=round(max(window), 1),
               note="first labelled frame -> confirming frame", **extra)  # fmt: skip
        figure(f"eyes_alert_latency_total{suffix}_ms", median(total), "ms", p90=round(pct(total, 90), 1),
               max=round(max(total), 1), note="first changed frame -> alert on the bus", **extra)  # fmt: skip
    print(json.dumps({"figure": "eyes_vision_warm_latency_ms", "value": None, "unit": "ms",
                      "note": "not measured: no GPU or vision model here"}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
